//go:build tools

// Package tools pins GoReleaser, which `make release-check` runs on
// .goreleaser.yml.
package tools

import _ "github.com/goreleaser/goreleaser/v2"
