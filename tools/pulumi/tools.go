//go:build tools

// Package tools pins the Pulumi CLI that tests and `make` use. Built by
// tools/build.sh; its go.mod stays apart from the program's.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
