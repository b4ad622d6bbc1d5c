package quota

import (
	"math/big"
	"strings"
	"testing"
)

// TestParseCount: the one parser of GPU counts that the resources and the
// effective_gpu_quota function share.
func TestParseCount(t *testing.T) {
	for _, tc := range []struct {
		in   *big.Float
		want int64
		err  []string
	}{
		{big.NewFloat(0), 0, nil},
		{big.NewFloat(8), 8, nil},
		{new(big.Float).SetInt64(1 << 40), 1 << 40, nil},
		{big.NewFloat(0.5), 0, []string{"0.5: GPU counts are whole numbers >= 0", "whole GPUs", "MIG profile"}},
		{big.NewFloat(-1), 0, []string{"-1: GPU counts are whole numbers >= 0 (0 forbids the family)"}},
		{new(big.Float).SetFloat64(1e30), 0, []string{"GPU counts are whole numbers"}},
		{nil, 0, []string{"null: give a whole number of GPUs, or remove the key"}},
	} {
		got, err := ParseCount(tc.in)
		switch {
		case tc.err == nil && (err != nil || got != tc.want):
			t.Errorf("ParseCount(%v) = %d, %v; want %d", tc.in, got, err, tc.want)
		case tc.err != nil && err == nil:
			t.Errorf("ParseCount(%v) = %d; want an error", tc.in, got)
		case tc.err != nil:
			for _, frag := range tc.err {
				if !strings.Contains(err.Error(), frag) {
					t.Errorf("ParseCount(%v) error %q lacks %q", tc.in, err, frag)
				}
			}
		}
	}
}
