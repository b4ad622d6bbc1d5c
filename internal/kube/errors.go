package kube

import (
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Explain makes an API error say what the user can do about it. A 403 is
// never "does not exist": it says that the provider's identity lacks a
// permission, and the API server's own message, which it keeps, names the
// verb and the resource. Other errors are returned as they are.
func Explain(err error) error {
	if err == nil || !apierrors.IsForbidden(err) || errors.Is(err, errExplained) {
		return err
	}
	return fmt.Errorf("%w: the provider's Kubernetes identity lacks a permission (%w). Grant it the verb on the resource "+
		"named here (gpuplane's permissions page lists every rule it needs), or configure the provider with an identity that has it",
		errExplained, err)
}

// errExplained marks an error Explain has already worded.
var errExplained = errors.New("forbidden")
