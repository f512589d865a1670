package loopback

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/gpuclass"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/controlplane"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/dns"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/images"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/node"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/queue"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/storage"
)

// RealNodes are the real nodes the loopback platform starts: one CPU node
// and one GPU node carrying the labels and the taints (nvidia.com/gpu=present
// and the GPU ComputeClass's, both NoSchedule) a node of GKE's first GPU
// pool has, with one nvidia.com/gpu advertised (there is no GPU on these
// machines). GKE's fallback from one option to the next is its autoscaler's
// and is not reproduced here.
func RealNodes() []node.Options {
	with := func(labels map[string]string) map[string]string {
		maps.Copy(labels, controlplane.Zone)
		return labels
	}
	return []node.Options{
		{Name: "cpu-0", Index: 0, Labels: with(map[string]string{"gke-gpu-platform/pool": "cpu"})},
		// As GKE makes a node of the GPU ComputeClass's first pool.
		{Name: "gpu-0", Index: 1, GPUs: 1, Taints: []string{"nvidia.com/gpu=present:NoSchedule", gpuclass.Taint()}, Labels: with(map[string]string{
			"gke-gpu-platform/pool": "gpu", "gke-gpu-platform/accelerator": "nvidia-tesla-t4",
			"cloud.google.com/gke-accelerator": "nvidia-tesla-t4", gpuclass.Label: gpuclass.Name,
		})},
	}
}

// RealOptions configure StartReal.
type RealOptions struct {
	// BinDir holds the control plane, nodeagents and KEDA (tools/build.sh).
	BinDir string
	// Dir is the cluster's directory (wiped).
	Dir string
	// Project is the repository root: the images build from its apps.
	Project string
	// Extra images to import into the nodes beside the platform's (the
	// e2e's probe).
	Extra []images.Spec
	// WithKEDA starts KEDA's operator and adapter; otherwise only its CRDs
	// (JoinKEDA starts them later).
	WithKEDA bool
	// Progress, if set, is told each step as it completes.
	Progress func(string)
}

// StartReal starts the loopback platform on real nodes: the images of the
// platform and its apps (package images), the control plane advertising
// this host's address to pods, the real nodes (RealNodes) with the images
// imported, kube-proxy, the NetworkPolicy enforcer, cluster DNS, the queue
// in its own network namespace, and KEDA. Cluster.Images are the apps'
// digest references, for the stack's local.images. It needs root, and
// node.Missing() empty. On failure, whatever started is stopped and
// cleaned up.
func StartReal(ctx context.Context, o RealOptions) (_ *Cluster, err error) {
	step := func(what string, start time.Time) {
		if o.Progress != nil {
			o.Progress(fmt.Sprintf("%s ready in %.1f s", what, time.Since(start).Seconds()))
		}
	}
	if os.Getuid() != 0 {
		return nil, errors.New("real nodes need root: containerd, network namespaces, bridges and iptables (run as root, or use the simulated nodes)")
	}
	if missing := node.Missing(); len(missing) > 0 {
		return nil, fmt.Errorf("real nodes need %v: tools/build.sh node installs them on Debian as root", missing)
	}
	if busy := hostInUse(); busy != "" {
		return nil, fmt.Errorf("real nodes: %s: another real-node platform runs on this host (one per host: the nodes' bridges, the queue's namespace and the netfilter chains are the host's); stop it first (make local-down, for make local's)", busy)
	}
	start := time.Now()
	built, err := images.BuildApps(ctx, o.Project, imagesDir(o.Dir))
	if err != nil {
		return nil, err
	}
	for _, s := range o.Extra {
		if built[s.Name], err = images.Build(ctx, s, imagesDir(o.Dir)); err != nil {
			return nil, err
		}
	}
	refs, appRefs, archives := split(built)
	step(fmt.Sprintf("images (%s; no Docker)", strings.Join(slices.Sorted(maps.Keys(built)), ", ")), start)

	start = time.Now()
	hostIP, err := controlplane.HostIP()
	if err != nil {
		return nil, err
	}
	cp, err := controlplane.Start(ctx, controlplane.Options{BinDir: o.BinDir, Dir: o.Dir, NoSimulatedNodes: true, AdvertiseAddress: hostIP})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = StopReal(context.Background(), cp, o.BinDir)
		}
	}()
	for _, n := range RealNodes() {
		n.Images, n.SandboxImage = archives, refs["pause"]
		if err := node.Start(ctx, cp, o.BinDir, n); err != nil {
			return nil, err
		}
	}
	step("control plane and real nodes cpu-0, gpu-0 (kubelets over containerd; gpu-0 has no GPU: nvidia.com/gpu is advertised)", start)

	start = time.Now()
	if err := node.StartProxy(ctx, cp, o.BinDir, "cpu-0"); err != nil {
		return nil, err
	}
	if err := node.StartNetworkPolicies(ctx, cp, o.BinDir); err != nil {
		return nil, err
	}
	if err := dns.Start(ctx, cp, refs["coredns"]); err != nil {
		return nil, err
	}
	step("kube-proxy, NetworkPolicy enforcement (kube-network-policies) and cluster DNS (CoreDNS)", start)

	start = time.Now()
	addr, err := queue.StartIsolated(ctx, cp)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(addr)
	objects, err := storage.StartIsolated(ctx, cp, o.BinDir, queue.Netns, host)
	if err != nil {
		return nil, err
	}
	step("queue (redis-server on "+addr+") and job records (fake-gcs-server on "+objects+"), in their own network namespace", start)

	if err := startKEDA(ctx, cp, o.BinDir, o.WithKEDA, step); err != nil {
		return nil, err
	}
	return &Cluster{ControlPlane: cp, RedisAddress: addr, StorageAddress: objects, Images: refs, AppImages: appRefs}, nil
}

// imagesDir is where the images of the cluster in dir are built: beside
// it, so a restart (which wipes dir) finds them.
func imagesDir(dir string) string { return filepath.Join(filepath.Dir(dir), "images") }

// split gives the built images' references by name, the apps' alone, and
// the archives to import.
func split(built map[string]images.Image) (refs, apps map[string]string, archives []string) {
	refs, apps = map[string]string{}, map[string]string{}
	for name, img := range built {
		refs[name] = img.Ref
		if img.App {
			apps[name] = img.Ref
		}
		archives = append(archives, img.Archive)
	}
	return refs, apps, archives
}

// StopReal stops a real-node platform and leaves nothing behind: the
// nodes' pods are deleted first (so CNI takes their networks down), then
// every process by PID, then what the nodes and the queue leave on the
// host (node.Cleanup, queue.CleanupIsolated).
func StopReal(ctx context.Context, cp *controlplane.ControlPlane, binDir string) error {
	var errs []error
	if len(node.Names(cp.Dir)) > 0 && controlplane.Running(ctx, binDir, cp.Dir) {
		errs = append(errs, node.Drain(ctx, cp.Kubectl, cp.Dir))
	}
	errs = append(errs, cp.Stop(), node.Cleanup(cp.Dir, binDir), queue.CleanupIsolated())
	return errors.Join(errs...)
}

// RefreshImages rebuilds the platform's and the apps' images (seconds when
// nothing changed: images are reproducible) and imports them into every
// real node of the running platform in dir, so that a changed app gets a
// new digest and the next `pulumi up` rolls it out. It returns the apps'
// images by name, for the stack's local.images.
func RefreshImages(ctx context.Context, project, dir string) (map[string]string, error) {
	built, err := images.BuildApps(ctx, project, imagesDir(dir))
	if err != nil {
		return nil, err
	}
	_, apps, archives := split(built)
	for _, n := range node.Names(dir) {
		if err := node.Import(ctx, dir, n, archives...); err != nil {
			return nil, err
		}
	}
	return apps, nil
}

// hostInUse names what a running real-node platform holds on this host,
// or "" when nothing is.
func hostInUse() string {
	for _, n := range RealNodes() {
		if _, err := os.Stat("/sys/class/net/" + node.Bridge(n.Index)); err == nil {
			return "bridge " + node.Bridge(n.Index) + " exists"
		}
	}
	if _, err := os.Stat("/run/netns/" + queue.Netns); err == nil {
		return "network namespace " + queue.Netns + " exists"
	}
	return ""
}
