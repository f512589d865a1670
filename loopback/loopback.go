// Package local is the loopback platform that `make local` and the e2e run
// the local stack on: a real Kubernetes control plane with simulated nodes
// (controlplane), a real Redis as the queue (queue) and the real KEDA
// (keda), each a host process on 127.0.0.1, started together and stopped by
// PID (StartCluster); or, as root, the same on real nodes that run the apps'
// own images, with kube-proxy, cluster DNS and NetworkPolicy enforcement
// (StartReal; packages node, dns, images). engine drives the Pulumi engine
// against it; display shows its steps.
package loopback

import (
	"context"
	"fmt"
	"time"

	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/controlplane"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/keda"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/queue"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/storage"
)

// Cluster is everything the local stack runs on: the loopback control plane
// with its simulated nodes, the queue, and KEDA. Every process is recorded
// in the control plane's directory and stopped by PID with it.
type Cluster struct {
	// ControlPlane is the loopback Kubernetes.
	ControlPlane *controlplane.ControlPlane
	// RedisAddress is the queue's host:port.
	RedisAddress string
	// StorageAddress is the job records' server's host:port (package storage).
	StorageAddress string
	// Images are every image imported into the real nodes, by name (digest
	// references): the apps', the platform's own and any extra; nil on
	// simulated nodes.
	Images map[string]string
	// AppImages are the apps' own, for the stack's local.images.
	AppImages map[string]string
}

// StartCluster starts the control plane, then Redis beside it, then KEDA:
// its CRDs always; its operator and adapter only when withKEDA (they are
// built; otherwise JoinKEDA starts them later, from this or another
// process). On failure, whatever started is stopped.
func StartCluster(ctx context.Context, binDir, dir string, withKEDA bool, progress func(string)) (_ *Cluster, err error) {
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
	addr, err := queue.Start(ctx, cp)
	if err != nil {
		return nil, err
	}
	objects, err := storage.Start(ctx, cp, binDir)
	if err != nil {
		return nil, err
	}
	step("queue (redis-server on "+addr+") and job records (fake-gcs-server on "+objects+")", start)

	if err := startKEDA(ctx, cp, binDir, withKEDA, step); err != nil {
		return nil, err
	}
	return &Cluster{ControlPlane: cp, RedisAddress: addr, StorageAddress: objects}, nil
}

// startKEDA starts KEDA's operator and adapter when withKEDA (they are
// built), or only applies its CRDs (JoinKEDA starts them later).
func startKEDA(ctx context.Context, cp *controlplane.ControlPlane, binDir string, withKEDA bool, step func(string, time.Time)) error {
	start := time.Now()
	if !withKEDA {
		if err := keda.InstallCRDs(ctx, cp, binDir); err != nil {
			return err
		}
		step("KEDA's CRDs (its operator and metrics adapter join when built)", start)
		return nil
	}
	if err := keda.Start(ctx, cp, binDir); err != nil {
		return err
	}
	step("KEDA (operator and metrics adapter)", start)
	return nil
}

// JoinKEDA starts KEDA's operator and adapter beside the cluster that
// StartCluster (in any process) left in dir, and waits until its metrics
// API is Available. Their PIDs join the cluster's, so `down` stops them.
func JoinKEDA(ctx context.Context, binDir, dir string) error {
	cp, err := controlplane.Open(dir, binDir)
	if err != nil {
		return err
	}
	if !controlplane.Running(ctx, binDir, dir) {
		return fmt.Errorf("keda: the loopback cluster in %s is not running", dir)
	}
	return keda.Start(ctx, cp, binDir)
}
