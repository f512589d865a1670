// Command kubelet is the real nodes' kubelet, built from the same
// k8s.io/kubernetes as the loopback control plane (tools/cluster's
// go.mod), so node and control plane are one version by construction. It
// is its own binary, not a name of the control plane's: only the runs with
// real nodes (the e2e) build it.
package main

import (
	"context"
	"os"

	"k8s.io/component-base/cli"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

func main() {
	os.Exit(cli.Run(kubelet.NewKubeletCommand(context.Background())))
}
