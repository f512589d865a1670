package node

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/controlplane"
)

// containerdConfig is containerd's config (version 2, as Debian's 1.6
// reads it) for one node: its own root, state and socket, the CRI plugin
// with runc on cgroupfs, the node's CNI directory, and a local sandbox image.
//
// restrict_oom_score_adj is required on these machines: lowering a
// process's oom_score_adj is refused here, and CRI asks runc for -998 on
// every sandbox ("runc create failed: ... can't get final child's PID from
// pipe: EOF" otherwise; shared/toolchain.md, "A real node").
func containerdConfig(d dirs, sandboxImage string) string {
	return fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
[grpc]
  address = %[3]q
[ttrpc]
  address = %[4]q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[5]q
  restrict_oom_score_adj = true
  disable_apparmor = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_unprivileged_ports = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %[6]q
    conf_dir = %[7]q
`, d.containerdRoot, d.containerdState, d.socket, d.socket+".ttrpc", sandboxImage, cniBinDir, d.cniConf)
}

// cniConfig is the node's pod network: a Linux bridge with the node's pod
// CIDR, the bridge as the pods' gateway, masquerade for traffic leaving the
// pod range, host-local addresses kept in the node's directory.
func cniConfig(network, bridge, podCIDR, ipamDir string) string {
	return fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": %[1]q,
  "plugins": [
    {
      "type": "bridge",
      "bridge": %[2]q,
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {"type": "host-local", "ranges": [[{"subnet": %[3]q}]], "routes": [{"dst": "0.0.0.0/0"}], "dataDir": %[4]q}
    },
    {"type": "loopback"}
  ]
}
`, network, bridge, podCIDR, ipamDir)
}

// kubeletConfig is the KubeletConfiguration of one node. The settings past
// the ports are what a kubelet needs inside these machines (a privileged
// container on a VM, cgroup v1): cgroupfs, no per-QoS cgroups, no
// node-allocatable enforcement, swap tolerated (shared/toolchain.md).
// Pods resolve names with cluster DNS (package dns) on the kube-dns
// Service's ClusterIP, in the cluster.local domain, as on GKE.
// Each kubelet keeps its pods' logs in its own directory: a kubelet
// removes the log directories of pods it does not run, so two sharing
// /var/log/pods delete each other's.
// Image garbage collection is off: nothing can be pulled back here. Only
// clients with a certificate of the cluster's CA are served (the API server
// presents one for logs and exec).
func kubeletConfig(d dirs, address string, port, healthzPort int, clientCA string) string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: %[6]s
port: %[1]d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %[2]d
containerRuntimeEndpoint: unix://%[3]s
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: %[4]q}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
failCgroupV1: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {"memory.available": "100Mi", "nodefs.available": "1%%", "imagefs.available": "1%%"}
serializeImagePulls: false
resolvConf: %[5]q
podLogsDir: %[8]q
clusterDNS: [%[7]s]
clusterDomain: cluster.local
staticPodPath: ""
`, port, healthzPort, d.socket, clientCA, d.resolvConf, address, controlplane.ClusterDNSIP, d.podLogs)
}

// labelsFlag renders --node-labels: key=value,... sorted.
func labelsFlag(labels map[string]string) string {
	var kv []string
	for k, v := range labels {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}
