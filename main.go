// Command gke-gpu-platform is the Pulumi program: the whole platform graph
// lives in package stacks.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/gke-gpu-platform/gke-gpu-platform/stacks"
)

func main() {
	pulumi.Run(stacks.Program)
}
