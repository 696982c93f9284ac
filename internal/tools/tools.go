//go:build tools

// Package tools pins the OpenTofu CLI that the acceptance tests drive.
// Build it with `make tools`; the binary lands in bin/ at the repository root.
package tools

import _ "github.com/opentofu/opentofu/cmd/tofu"
