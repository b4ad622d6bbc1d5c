//go:build tools

// Package tools pins OpenTofu, the second CLI the acceptance tests run
// (`make tofu` builds it into bin/tofu).
package tools

import _ "github.com/opentofu/opentofu/cmd/tofu"
