//go:build tools

// Package kueue pins the Kueue controller manager that the Kueue acceptance tests start
// next to the local control plane. It is a module of its own because Kueue builds against
// other Kubernetes library versions than the provider and the control plane.
package kueue

import (
	_ "sigs.k8s.io/kueue/cmd/kueue"
)
