package localstack

import (
	"context"
	"fmt"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/controlplane"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/localkeda"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/localqueue"
)

// Cluster is everything the local stack runs on: the loopback control plane
// with its simulated nodes, the queue, and KEDA. Every process is recorded
// in the control plane's directory and stopped by PID with it.
type Cluster struct {
	// ControlPlane is the loopback Kubernetes.
	ControlPlane *controlplane.ControlPlane
	// RedisAddress is the queue's host:port.
	RedisAddress string
}

// StartCluster starts the control plane, then Redis and KEDA beside it. On
// failure, whatever started is stopped.
func StartCluster(ctx context.Context, binDir, dir string, progress func(string)) (_ *Cluster, err error) {
	step := func(what string, start time.Time) {
		if progress != nil {
			progress(fmt.Sprintf("%s ready in %.1f s", what, time.Since(start).Seconds()))
		}
	}
	start := time.Now()
	cp, err := controlplane.Start(ctx, controlplane.Options{BinDir: binDir, Dir: dir})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = cp.Stop()
		}
	}()
	step("control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok; 2 CPU nodes, 1 GPU node)", start)

	start = time.Now()
	addr, err := localqueue.Start(ctx, cp)
	if err != nil {
		return nil, err
	}
	step("queue (redis-server on "+addr+")", start)

	start = time.Now()
	if err := localkeda.Start(ctx, cp, binDir); err != nil {
		return nil, err
	}
	step("KEDA (operator and metrics adapter)", start)
	return &Cluster{ControlPlane: cp, RedisAddress: addr}, nil
}

// Configure points the stack at the running cluster: the two settings the
// harness owns (local.kubeconfig and local.redisAddress), written into the
// engine's copy of the stack file, never the repo's. An explicit kubeconfig
// also keeps the provider's inputs stable: left empty, the provider would
// take whatever $KUBECONFIG the caller's shell has, and show it as a diff.
func Configure(ctx context.Context, stack auto.Stack, kubeconfig, redisAddress string) error {
	for key, value := range map[string]string{"local.kubeconfig": kubeconfig, "local.redisAddress": redisAddress} {
		if err := stack.SetConfigWithOptions(ctx, "gke-gpu-platform:"+key,
			auto.ConfigValue{Value: value}, &auto.ConfigOptions{Path: true}); err != nil {
			return err
		}
	}
	return nil
}
