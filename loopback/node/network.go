package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/controlplane"
)

// ClusterCIDR is every real node's pod range together (PodCIDR of each).
const ClusterCIDR = "10.88.0.0/16"

// agents is the multi-call binary of a real node's host agents
// (loopback/cluster/nodeagents): kubelet, kube-proxy, network-policies.
const agents = "nodeagents"

// proxyDir is where the host's kube-proxy keeps its identity.
func proxyDir(clusterDir string) string { return filepath.Join(clusterDir, "kube-proxy") }

// StartProxy runs kube-proxy (k8s.io/kubernetes/cmd/kube-proxy, iptables
// mode) for the real nodes, once per host: they share this host's network
// namespace, so one kube-proxy's rules serve every node's pods, as each
// GKE node's own kube-proxy serves its own. It runs as system:kube-proxy,
// which Kubernetes' bootstrap RBAC binds to system:node-proxier, names
// node (an existing real node) as its own, and masquerades traffic to
// Services from outside ClusterCIDR. It leaves the host's conntrack
// sysctls alone (--conntrack-max-per-core 0): a container cannot set them.
// Stop (cp's) ends it; Cleanup removes its rules.
func StartProxy(ctx context.Context, cp *controlplane.ControlPlane, binDir, node string) error {
	dir := proxyDir(cp.Dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	kubeconfig, err := cp.ClientKubeconfig("system:kube-proxy", nil, filepath.Join(dir, "kubeconfig"))
	if err != nil {
		return err
	}
	ports, err := controlplane.FreePorts(2)
	if err != nil {
		return err
	}
	healthz := "127.0.0.1:" + strconv.Itoa(ports[0])
	if err := cp.StartProcess("kube-proxy", filepath.Join(binDir, agents), nil, "kube-proxy",
		"--kubeconfig", kubeconfig, "--hostname-override", node, "--proxy-mode", "iptables",
		"--cluster-cidr", ClusterCIDR, "--conntrack-max-per-core", "0",
		"--conntrack-tcp-timeout-established", "0", "--conntrack-tcp-timeout-close-wait", "0",
		"--healthz-bind-address", healthz, "--metrics-bind-address", "127.0.0.1:"+strconv.Itoa(ports[1]),
		"-v", "1"); err != nil {
		return err
	}
	// /healthz answers 200 once the first sync of Services wrote the rules.
	return wait(ctx, 60*time.Second, "kube-proxy healthy", func() error {
		resp, err := http.Get("http://" + healthz + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return nil
	})
}

// enforcerRBAC lets the enforcers read what decides a packet, as
// kube-network-policies' own install manifest grants its DaemonSet.
const enforcerRBAC = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kube-network-policies}
rules:
- apiGroups: [""]
  resources: [pods, namespaces, nodes]
  verbs: [list, watch]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kube-network-policies}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kube-network-policies}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: kube-network-policies}
`

// enforcerTable is the enforcer's nftables table (upstream's, which these
// kernels refuse; see StartNetworkPolicies), and enforcerQueue its NFQUEUE.
const (
	enforcerTable = "ggp-netpol"
	enforcerQueue = 100
)

// StartNetworkPolicies runs kube-network-policies (sigs.k8s.io/kube-network-
// policies' controller, as nodeagents network-policies), once per host like
// kube-proxy: every new connection from or to a real node's pod is queued
// to it, and it accepts or drops each by the NetworkPolicies that select the
// pods at either end, as GKE's Dataplane V2 enforces them. Packets reach
// its queue by an iptables NFQUEUE rule rather than upstream's nftables
// queue expression: these machines' kernel is built without
// CONFIG_NFT_QUEUE (/proc/config.gz), and upstream's rule fails there with
// "netlink receive: no such file or directory". Root's own connections on
// the host (the kubelet's probes, the harness) are exempt, as upstream
// exempts them. Without the enforcer running, pods' new connections are
// dropped: fail closed, upstream's default. Stop (cp's) ends it, and it
// removes its rule; Cleanup removes a killed one's.
func StartNetworkPolicies(ctx context.Context, cp *controlplane.ControlPlane, binDir string) error {
	if _, err := cp.KubectlStdin(ctx, enforcerRBAC, "apply", "-f", "-"); err != nil {
		return err
	}
	dir := filepath.Join(cp.Dir, "network-policies")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	kubeconfig, err := cp.ClientKubeconfig("kube-network-policies", nil, filepath.Join(dir, "kubeconfig"))
	if err != nil {
		return err
	}
	// The node name only scopes upstream's own nftables rules, which are
	// not used: a name no pod is bound to keeps its resyncs quiet.
	if err := cp.StartProcess("network-policies", filepath.Join(binDir, agents), nil, "network-policies",
		"--kubeconfig", kubeconfig, "--hostname-override", "loopback-host", "--steer-cidr", ClusterCIDR,
		"--nfqueue-id", strconv.Itoa(enforcerQueue), "--nftables-table", enforcerTable, "-v", "2"); err != nil {
		return err
	}
	// Listening once the kernel lists a portid for the queue.
	return wait(ctx, 60*time.Second, "kube-network-policies listening on NFQUEUE "+strconv.Itoa(enforcerQueue), func() error {
		raw, err := os.ReadFile("/proc/net/netfilter/nfnetlink_queue")
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(raw), "\n") {
			if f := strings.Fields(line); len(f) > 0 && f[0] == strconv.Itoa(enforcerQueue) {
				return nil
			}
		}
		return errors.New("no listener yet")
	})
}

// cleanupNetwork removes what kube-proxy and the enforcers leave in the
// host's netfilter when they were killed before they could: kube-proxy's
// own --cleanup mode, and the enforcer's (its iptables chain, and
// upstream's nftables table where a kernel took it).
func cleanupNetwork(clusterDir, binDir string) error {
	bin := filepath.Join(binDir, agents)
	if _, err := os.Stat(bin); err != nil {
		return nil
	}
	var errs []error
	if _, err := os.Stat(proxyDir(clusterDir)); err == nil {
		if out, err := exec.Command(bin, "kube-proxy", "--cleanup", "--proxy-mode", "iptables").CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("kube-proxy --cleanup: %w: %s", err, out))
		}
	}
	if len(Names(clusterDir)) > 0 {
		if err := removeKubeletChains(); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := os.Stat(filepath.Join(clusterDir, "network-policies")); err == nil {
		if out, err := exec.Command(bin, "network-policies", "--cleanup", "--nftables-table", enforcerTable).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("network-policies --cleanup: %w: %s", err, out))
		}
	}
	return errors.Join(errs...)
}

// kubeletChains are the chains every kubelet adds to the host's iptables
// (IPv4 and IPv6) and leaves there when it stops: its canaries, the hint
// kube-proxy reads to pick a backend, and KUBE-FIREWALL, which INPUT and
// OUTPUT jump to. They are removed only when no other kubelet runs here.
var kubeletChains = map[string][]string{
	"filter": {"KUBE-FIREWALL", "KUBE-KUBELET-CANARY"},
	"mangle": {"KUBE-IPTABLES-HINT", "KUBE-KUBELET-CANARY"},
	"nat":    {"KUBE-KUBELET-CANARY"},
}

func removeKubeletChains() error {
	if exec.Command("pgrep", "-x", "kubelet").Run() == nil {
		return nil // a kubelet of this host's own: its chains are its
	}
	var errs []error
	for _, ipt := range []string{"iptables", "ip6tables"} {
		if _, err := exec.LookPath(ipt); err != nil {
			continue
		}
		for table, chains := range kubeletChains {
			for _, c := range chains {
				if exec.Command(ipt, "-w", "-t", table, "-S", c).Run() != nil {
					continue
				}
				for _, from := range []string{"INPUT", "OUTPUT"} {
					for exec.Command(ipt, "-w", "-t", table, "-D", from, "-j", c).Run() == nil {
					}
				}
				for _, op := range []string{"-F", "-X"} {
					if out, err := exec.Command(ipt, "-w", "-t", table, op, c).CombinedOutput(); err != nil {
						errs = append(errs, fmt.Errorf("%s -t %s %s %s: %w: %s", ipt, table, op, c, err, out))
					}
				}
			}
		}
	}
	return errors.Join(errs...)
}
