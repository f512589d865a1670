// Command local runs the platform's apps on a loopback Kubernetes control
// plane through the real Pulumi engine, with no Google account and no Docker:
//
//	go run ./internal/cmd/local up     # start the control plane (if needed) and `pulumi up` the local stack
//	go run ./internal/cmd/local down   # destroy the stack and stop the control plane
//
// `make local` and `make local-down` call it after tools/build.sh. State
// lives in .local/ (gitignored): the control plane, its kubeconfig, and the
// file backend of the stack.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/controlplane"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/localstack"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: local up|down|status")
	}
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

type paths struct {
	project, bin, cluster, state, work string
}

func locate() (paths, error) {
	wd, err := os.Getwd()
	if err != nil {
		return paths{}, err
	}
	project, err := localstack.FindProjectDir(wd)
	if err != nil {
		return paths{}, err
	}
	bin := os.Getenv("TOOLS_BIN")
	if bin == "" {
		bin = filepath.Join(project, ".tools", "bin")
	}
	return paths{
		project: project,
		bin:     bin,
		cluster: filepath.Join(project, ".local", "cluster"),
		state:   filepath.Join(project, ".local", "state"),
		work:    filepath.Join(project, ".local", "project"),
	}, nil
}

func run(ctx context.Context, verb string) error {
	p, err := locate()
	if err != nil {
		return err
	}
	// The engine runs in a copy of the project files, refreshed from the
	// repo's Pulumi.yaml and Pulumi.local.yaml on every run.
	if err := localstack.CopyProject(p.project, p.work, "local"); err != nil {
		return err
	}
	opts := localstack.Options{
		Stack: "local", WorkDir: p.work, StateDir: p.state, ToolsBin: p.bin,
		Kubeconfig: filepath.Join(p.cluster, "kubeconfig"),
	}
	switch verb {
	case "up":
		if !controlplane.Running(ctx, p.bin, p.cluster) {
			start := time.Now()
			fmt.Println("starting the loopback control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok)...")
			if _, err := controlplane.Start(ctx, controlplane.Options{BinDir: p.bin, Dir: p.cluster}); err != nil {
				return err
			}
			fmt.Printf("control plane ready in %.1f s: 2 CPU nodes, 1 GPU node (nvidia.com/gpu=present:NoSchedule)\n", time.Since(start).Seconds())
		}
		stack, err := localstack.Open(ctx, opts)
		if err != nil {
			return err
		}
		start := time.Now()
		res, err := stack.Up(ctx, optup.ProgressStreams(os.Stdout))
		if err != nil {
			return err
		}
		fmt.Printf("\npulumi up: %s in %.1f s\n", localstack.Summary(*res.Summary.ResourceChanges), time.Since(start).Seconds())
		fmt.Printf("\nLook around:\n  export KUBECONFIG=%s\n  %s/kubectl get pods -n platform -o wide\n  %s/kubectl get nodes --show-labels\n", opts.Kubeconfig, p.bin, p.bin)
		fmt.Printf("Stop it all: make local-down\n")
		return nil
	case "down":
		if controlplane.Running(ctx, p.bin, p.cluster) {
			stack, err := localstack.Open(ctx, opts)
			if err != nil {
				return err
			}
			if _, err := stack.Destroy(ctx, optdestroy.ProgressStreams(os.Stdout)); err != nil {
				return err
			}
			if err := stack.Workspace().RemoveStack(ctx, "local"); err != nil {
				return err
			}
		}
		if err := controlplane.StopDir(p.cluster); err != nil {
			return err
		}
		fmt.Println("control plane stopped")
		return nil
	case "status":
		if controlplane.Running(ctx, p.bin, p.cluster) {
			fmt.Printf("running; KUBECONFIG=%s\n", opts.Kubeconfig)
		} else {
			fmt.Println("not running")
		}
		return nil
	default:
		flag.Usage()
		return fmt.Errorf("unknown command %q", verb)
	}
}
