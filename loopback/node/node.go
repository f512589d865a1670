// Package node runs real Kubernetes nodes beside the loopback control plane:
// a kubelet built from the control plane's own Kubernetes source
// (loopback/cluster/nodeagents, same go.mod) over its own containerd, runc and
// the CNI bridge plugin from the OS packages, with kube-proxy for Services
// and kube-network-policies enforcing NetworkPolicies. Pods on these nodes
// run for real: the apps' own images (package images) in
// containers, with the restricted security context, probes and limits the
// kubelet enforces.
//
// Several nodes share one host, so each has its own containerd (root,
// state, socket), its own bridge and pod CIDR, and its own kubelet ports
// and root directory. There is no GPU on these machines: a GPU node carries
// GKE's GPU label and nvidia.com/gpu=present:NoSchedule taint, and its
// nvidia.com/gpu capacity is advertised on the Node's status, the way
// Kubernetes documents for extended resources. (A device plugin cannot be
// used: the kubelet's device manager listens on the fixed path
// /var/lib/kubelet/device-plugins/kubelet.sock whatever its --root-dir,
// k8s.io/kubelet's pluginapi.KubeletSocket, so two kubelets on one host
// would take each other's socket.)
package node

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/controlplane"
)

// cniBinDir is where Debian's containernetworking-plugins puts the plugins.
const cniBinDir = "/usr/lib/cni"

// Options describe one real node.
type Options struct {
	// Name of the Node object and of its directory.
	Name string
	// Index makes the node's bridge, pod CIDR (10.88.<Index>.0/24) and
	// ports distinct from the other nodes'; 0-based.
	Index int
	// Labels on the node, beside the kubelet's own.
	Labels map[string]string
	// Taints as the kubelet's --register-with-taints reads them: key=value:Effect.
	Taints []string
	// GPUs is the nvidia.com/gpu capacity to advertise; 0 for a CPU node.
	GPUs int
	// Images are OCI archives (package images) imported into the node's
	// containerd before its kubelet starts: the sandbox image and the apps.
	Images []string
	// SandboxImage is the pause image's reference (one of Images).
	SandboxImage string
}

// Requirements are the executables a real node needs, each with where it
// comes from; Missing names those not found.
var Requirements = map[string]string{
	"containerd":                           "Debian package containerd",
	"ctr":                                  "Debian package containerd",
	"runc":                                 "Debian package runc",
	"iptables":                             "Debian package iptables",
	filepath.Join(cniBinDir, "bridge"):     "Debian package containernetworking-plugins",
	filepath.Join(cniBinDir, "host-local"): "Debian package containernetworking-plugins",
	filepath.Join(cniBinDir, "loopback"):   "Debian package containernetworking-plugins",
}

// Missing lists the requirements not on this machine, as "name (source)".
func Missing() []string {
	var missing []string
	for exe, src := range Requirements {
		if _, err := exec.LookPath(exe); err != nil {
			missing = append(missing, exe+" ("+src+")")
		}
	}
	return missing
}

// dirs is where one node keeps its state, under <cluster>/nodes/<name>.
type dirs struct {
	home, containerdRoot, containerdState, socket, cniConf, ipam, kubelet, podLogs, resolvConf string
}

func dirsOf(clusterDir, name string) dirs {
	h := filepath.Join(clusterDir, "nodes", name)
	return dirs{
		home: h, containerdRoot: filepath.Join(h, "containerd"), containerdState: filepath.Join(h, "containerd-state"),
		socket: filepath.Join(h, "containerd.sock"), cniConf: filepath.Join(h, "cni"), ipam: filepath.Join(h, "ipam"),
		kubelet: filepath.Join(h, "kubelet"), podLogs: filepath.Join(h, "pod-logs"), resolvConf: filepath.Join(h, "resolv.conf"),
	}
}

// Bridge is the node's Linux bridge: ggp<Index>.
func Bridge(index int) string { return "ggp" + strconv.Itoa(index) }

// PodCIDR is the node's pod range.
func PodCIDR(index int) string { return fmt.Sprintf("10.88.%d.0/24", index) }

// Gateway is the node's bridge address, which its pods reach the host by.
func Gateway(index int) string { return fmt.Sprintf("10.88.%d.1", index) }

// network is the CNI network's name; its iptables rules carry it.
func network(name string) string { return "ggp-" + name }

// Start runs one real node beside cp and waits until it is Ready. Its
// processes join cp's PIDs; Stop (then cp's Stop) ends them.
func Start(ctx context.Context, cp *controlplane.ControlPlane, binDir string, o Options) error {
	if missing := Missing(); len(missing) > 0 {
		return fmt.Errorf("node: missing %s: tools/build.sh node installs them on Debian as root", strings.Join(missing, ", "))
	}
	if _, err := os.Stat(filepath.Join(binDir, agents)); err != nil {
		return fmt.Errorf("node: %s not found in %s: run tools/build.sh %s", agents, binDir, agents)
	}
	d := dirsOf(cp.Dir, o.Name)
	for _, p := range []string{d.containerdRoot, d.containerdState, d.cniConf, d.ipam, d.kubelet, d.podLogs} {
		if err := os.MkdirAll(p, 0o700); err != nil {
			return err
		}
	}
	// Pods resolve names through the host's resolver until cluster DNS runs.
	if err := copyFile("/etc/resolv.conf", d.resolvConf); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(d.home, "containerd.toml"), []byte(containerdConfig(d, o.SandboxImage)), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(d.cniConf, "10-ggp.conflist"),
		[]byte(cniConfig(network(o.Name), Bridge(o.Index), PodCIDR(o.Index), d.ipam)), 0o600); err != nil {
		return err
	}
	// The bridge exists before any pod, with its gateway address, so the
	// host's services for pods (the queue) can listen on it from the start;
	// the CNI bridge plugin adopts it.
	if err := ensureBridge(Bridge(o.Index), Gateway(o.Index)+"/24"); err != nil {
		return fmt.Errorf("node %s: %w", o.Name, err)
	}
	containerd, _ := exec.LookPath("containerd")
	if err := cp.StartProcess("containerd-"+o.Name, containerd, nil, "--config", filepath.Join(d.home, "containerd.toml")); err != nil {
		return err
	}
	if err := wait(ctx, 30*time.Second, "containerd of "+o.Name, func() error {
		_, err := ctr(ctx, d, "version")
		return err
	}); err != nil {
		return err
	}
	if err := Import(ctx, cp.Dir, o.Name, o.Images...); err != nil {
		return err
	}

	// The node's own identity (system:node:<name>), so the Node authorizer
	// and NodeRestriction admission treat it as GKE's kubelets are treated.
	kubeconfig, err := cp.NodeKubeconfig(o.Name, filepath.Join(d.home, "kubeconfig"))
	if err != nil {
		return err
	}
	ports, err := controlplane.FreePorts(2)
	if err != nil {
		return err
	}
	ip, err := controlplane.HostIP()
	if err != nil {
		return err
	}
	cfg := filepath.Join(d.home, "kubelet.yaml")
	if err := os.WriteFile(cfg, []byte(kubeletConfig(d, ip, ports[0], ports[1], cp.CACert())), 0o600); err != nil {
		return err
	}
	args := []string{"kubelet", "--config", cfg, "--kubeconfig", kubeconfig, "--root-dir", d.kubelet,
		"--cert-dir", filepath.Join(d.home, "pki"), "--hostname-override", o.Name, "--node-ip", ip,
		"--node-labels", labelsFlag(o.Labels), "-v", "1"}
	if len(o.Taints) > 0 {
		args = append(args, "--register-with-taints", strings.Join(o.Taints, ","))
	}
	if err := cp.StartProcess("kubelet-"+o.Name, filepath.Join(binDir, agents), nil, args...); err != nil {
		return err
	}
	if err := waitReady(ctx, cp, o.Name); err != nil {
		return err
	}
	if o.GPUs > 0 {
		// No GPU here: the capacity is advertised on the Node's status, as
		// "Advertise Extended Resources for a Node" (kubernetes.io) does; the
		// kubelet keeps extended resources it does not manage itself.
		patch := fmt.Sprintf(`{"status":{"capacity":{"nvidia.com/gpu":"%d"}}}`, o.GPUs)
		if _, err := cp.Kubectl(ctx, "patch", "node", o.Name, "--subresource=status", "--type=merge", "-p", patch); err != nil {
			return fmt.Errorf("node %s: advertise nvidia.com/gpu: %w", o.Name, err)
		}
		// The kubelet derives allocatable from it on its next status update.
		if err := wait(ctx, 60*time.Second, "nvidia.com/gpu allocatable on "+o.Name, func() error {
			out, err := cp.Kubectl(ctx, "get", "node", o.Name, "-o", `jsonpath={.status.allocatable.nvidia\.com/gpu}`)
			if err != nil {
				return err
			}
			if out != strconv.Itoa(o.GPUs) {
				return fmt.Errorf("allocatable nvidia.com/gpu=%q", out)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// Import loads OCI image archives (package images) into a node's
// containerd, in the namespace its kubelet uses; an image already there is
// replaced by the same bytes.
func Import(ctx context.Context, clusterDir, name string, archives ...string) error {
	d := dirsOf(clusterDir, name)
	for _, archive := range archives {
		if out, err := ctr(ctx, d, "-n", "k8s.io", "images", "import", archive); err != nil {
			return fmt.Errorf("node %s: import %s: %w: %s", name, archive, err, out)
		}
	}
	return nil
}

func ctr(ctx context.Context, d dirs, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "ctr", append([]string{"--address", d.socket}, args...)...).CombinedOutput()
	return string(out), err
}

func wait(ctx context.Context, timeout time.Duration, what string, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node: timed out waiting for %s: %v", what, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// ensureBridge creates a Linux bridge with addr (CIDR form), up.
func ensureBridge(name, addr string) error {
	if _, err := os.Stat("/sys/class/net/" + name); err != nil {
		if out, err := exec.Command("ip", "link", "add", name, "type", "bridge").CombinedOutput(); err != nil {
			return fmt.Errorf("ip link add %s: %w: %s", name, err, out)
		}
	}
	if out, err := exec.Command("ip", "addr", "replace", addr, "dev", name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip addr replace %s dev %s: %w: %s", addr, name, err, out)
	}
	if out, err := exec.Command("ip", "link", "set", name, "up").CombinedOutput(); err != nil {
		return fmt.Errorf("ip link set %s up: %w: %s", name, err, out)
	}
	return nil
}

// waitReady waits up to 90 s for the node's Ready condition.
func waitReady(ctx context.Context, cp *controlplane.ControlPlane, name string) error {
	if err := wait(ctx, 90*time.Second, "node "+name+" Ready", func() error {
		out, err := cp.Kubectl(ctx, "get", "node", name, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err != nil {
			return err
		}
		if out != "True" {
			return fmt.Errorf("Ready=%q", out)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("%w (kubelet log: %s)", err, filepath.Join(cp.Dir, "logs", "kubelet-"+name+".log"))
	}
	return nil
}
