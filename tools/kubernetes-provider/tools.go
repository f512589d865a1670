//go:build tools

// Package tools pins the Pulumi Kubernetes provider plugin
// (pulumi-resource-kubernetes). Its module zip lacks the generated
// schema-embed.json, so tools/build.sh copies the provider's main package
// into build/, generates the embeds, and builds it there.
package tools

import (
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
	_ "github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)
