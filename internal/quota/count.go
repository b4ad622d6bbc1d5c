package quota

import (
	"fmt"
	"math/big"
)

// ParseCount reads one GPU count as a configuration writes it (Terraform
// numbers are arbitrary-precision): a whole number >= 0. When it is not, it
// returns what is wrong and the fix, written to follow `<attribute> = `.
// Every place that reads counts from a configuration uses it, so the
// resources and the effective_gpu_quota function accept and refuse alike.
func ParseCount(f *big.Float) (int64, error) {
	if f == nil {
		return 0, fmt.Errorf("null: give a whole number of GPUs, or remove the key")
	}
	n, acc := f.Int64()
	switch {
	case !f.IsInt() || acc != big.Exact:
		return 0, fmt.Errorf("%s: GPU counts are whole numbers >= 0 (whole GPUs, such as 1 or 8). For a slice of a GPU, "+
			"add a MIG profile (e.g. nvidia.com/mig-1g.10gb) as a family of the dataplane catalog", f.Text('g', -1))
	case n < 0:
		return 0, fmt.Errorf("%d: GPU counts are whole numbers >= 0 (0 forbids the family)", n)
	}
	return n, nil
}
