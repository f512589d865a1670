// Command nodeagents is a real node's host agents in one binary, each
// built from the same module as the loopback control plane (loopback/cluster's
// go.mod), so node and control plane are one Kubernetes version by
// construction, and the Kubernetes libraries they share link once:
//
//	nodeagents kubelet ...          the kubelet (k8s.io/kubernetes/cmd/kubelet)
//	nodeagents kube-proxy ...       kube-proxy (k8s.io/kubernetes/cmd/kube-proxy)
//	nodeagents network-policies ... kube-network-policies' enforcer
//
// It is its own binary, not a name of the control plane's: only the runs
// with real nodes build it.
package main

import (
	"context"
	"fmt"
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client metrics, as kube-proxy's main registers them
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: nodeagents kubelet|kube-proxy|network-policies [flags]")
		os.Exit(2)
	}
	agent, args := os.Args[1], os.Args[2:]
	switch agent {
	case "kubelet":
		cmd := kubelet.NewKubeletCommand(context.Background())
		cmd.SetArgs(args)
		os.Exit(cli.Run(cmd))
	case "kube-proxy":
		cmd := proxy.NewProxyCommand()
		cmd.SetArgs(args)
		os.Exit(cli.Run(cmd))
	case "network-policies":
		os.Exit(runNetworkPolicies(args))
	default:
		fmt.Fprintf(os.Stderr, "nodeagents: unknown agent %q (kubelet, kube-proxy or network-policies)\n", agent)
		os.Exit(2)
	}
}
