//go:build tools

// Blank imports keep every package of the coredns binary in go.mod/go.sum under `go mod tidy`:
// a main package cannot be imported, so the packages its coredns.go imports stand in for it.
package tools

import (
	_ "github.com/coredns/coredns/core/plugin"
	_ "github.com/coredns/coredns/coremain"
)
