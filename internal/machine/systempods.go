package machine

// SystemPod is one pod GKE (or the platform) runs on every node of a pool,
// with the requests it was seen with.
type SystemPod struct {
	// Name is the DaemonSet (or static pod) name.
	Name string
	// Requests are its CPU and memory requests.
	Requests Resources
	// Source is where the figure comes from.
	Source string
}

// Per-node pods of a GKE Standard node as this platform's cluster has them
// (Dataplane V2, Workload Identity, the Persistent Disk CSI driver). GKE
// publishes no table of these and the figures move between GKE versions,
// so they are an estimate, stated here with the public outputs they come
// from; Allocatable's figures are Google's own.
var (
	cpuNodePods = []SystemPod{
		{"fluentbit-gke", Resources{105, 230}, "kubectl describe node on GKE 1.29, cryptnono/cryptnono#34"},
		{"gke-metadata-server", Resources{100, 100}, "Workload Identity's metadata server; cryptnono/cryptnono#34"},
		{"gke-metrics-agent", Resources{21, 145}, "public kubectl describe node outputs, GKE 1.27-1.36 (8-21m, 100-145Mi: the larger)"},
		{"anetd", Resources{100, 0}, "Dataplane V2's agent, in place of kube-proxy; no public figure, kube-proxy's 100m assumed (2i2c-org/infrastructure#4072)"},
		{"netd", Resources{8, 65}, "public kubectl describe node outputs (7-8m, 60-65Mi)"},
		{"ip-masq-agent", Resources{10, 16}, "cryptnono/cryptnono#34"},
		{"pdcsi-node", Resources{10, 20}, "public kubectl describe node outputs"},
	}
	// GPU nodes add the NVIDIA driver installer (its init containers each
	// request 150m, so the pod counts 150m) and the device plugin.
	gpuNodePods = []SystemPod{
		{"nvidia-driver-installer", Resources{150, 0}, "GoogleCloudPlatform/container-engine-accelerators nvidia-driver-installer/cos/daemonset-preloaded.yaml"},
		{"nvidia-gpu-device-plugin", Resources{50, 20}, "GoogleCloudPlatform/container-engine-accelerators cmd/nvidia_gpu/device-plugin.yaml"},
	}
)

// SystemPods lists what runs on every node of a pool besides the apps.
func SystemPods(gpu bool) []SystemPod {
	pods := append([]SystemPod(nil), cpuNodePods...)
	if gpu {
		pods = append(pods, gpuNodePods...)
	}
	return pods
}

// PerNode sums the requests of SystemPods.
func PerNode(gpu bool) Resources {
	var sum Resources
	for _, p := range SystemPods(gpu) {
		sum.MilliCPU += p.Requests.MilliCPU
		sum.MemoryMiB += p.Requests.MemoryMiB
	}
	return sum
}

// ForPods is what one node of this shape leaves for the platform's pods:
// Allocatable less the per-node system pods. A pod requesting more never
// gets a node, however far the pool may scale.
func (s Shape) ForPods(gpu bool) Resources {
	return s.Allocatable().Sub(PerNode(gpu))
}
