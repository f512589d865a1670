// Package controlplane runs a real Kubernetes control plane on loopback,
// with no containers: etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler, plus kwok, which makes Node objects behave like kubelets.
// The real scheduler places pods on simulated CPU and GPU nodes (with the
// GPU taint and nvidia.com/gpu capacity), so the platform's placement rules
// are checked by Kubernetes itself, not by a mock.
//
// Binaries come from tools/build.sh. Everything listens on 127.0.0.1 on
// free ports; Stop ends every process Start began, by PID.
package controlplane

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/gpuclass"
)

const (
	serviceCIDR = "10.0.0.0/24"
	serviceIP   = "10.0.0.1"
	// ClusterDNSIP is the kube-dns Service's ClusterIP, in the service
	// range, that real nodes' kubelets give pods as their nameserver.
	ClusterDNSIP = "10.0.0.10"
	// IngressAddress is what the simulated load balancer reports for every Ingress.
	IngressAddress = "127.0.0.1"
)

// Node is one simulated node.
type Node struct {
	// Name of the Node object.
	Name string
	// Labels on the node, beside the usual kubernetes.io/* ones.
	Labels map[string]string
	// GPUs is the nvidia.com/gpu capacity; > 0 also taints the node
	// nvidia.com/gpu=present:NoSchedule, as GKE's GPU pool does.
	GPUs int
	// CPU and Memory capacity, as quantities.
	CPU, Memory string
	// Disk is the ephemeral-storage capacity a kubelet reports from its
	// boot disk; pods that request ephemeral-storage need it.
	Disk string
}

// Zone labels every node (simulated or real) the way GKE labels its nodes: topology spread
// constraints ignore nodes that lack a constraint's key.
var Zone = map[string]string{"topology.kubernetes.io/zone": "local-a", "topology.kubernetes.io/region": "local"}

// DefaultNodes mirror the platform: two CPU nodes and one GPU node carrying
// the labels the GKE node pools get.
func DefaultNodes() []Node {
	withZone := func(labels map[string]string) map[string]string {
		maps.Copy(labels, Zone)
		return labels
	}
	return []Node{
		{Name: "cpu-0", Labels: withZone(map[string]string{"gke-gpu-platform/pool": "cpu"}), CPU: "4", Memory: "16Gi", Disk: "30Gi"},
		{Name: "cpu-1", Labels: withZone(map[string]string{"gke-gpu-platform/pool": "cpu"}), CPU: "4", Memory: "16Gi", Disk: "30Gi"},
		{Name: "gpu-0", Labels: withZone(map[string]string{
			"gke-gpu-platform/pool": "gpu", "gke-gpu-platform/accelerator": "nvidia-tesla-t4",
			"cloud.google.com/gke-accelerator": "nvidia-tesla-t4", gpuclass.Label: gpuclass.Name,
		}), GPUs: 1, CPU: "4", Memory: "15Gi", Disk: "50Gi"},
	}
}

// Options configure Start.
type Options struct {
	// BinDir holds etcd, kube-apiserver, kube-controller-manager,
	// kube-scheduler, kubectl and kwok.
	BinDir string
	// Dir is the control plane's home: certificates, etcd data, logs, PIDs
	// and the kubeconfig. Created if missing; reused state is wiped.
	Dir string
	// Nodes to simulate; DefaultNodes() if empty.
	Nodes []Node
	// NoSimulatedNodes starts no simulated node at all: the caller starts
	// real ones (package node). kwok still runs, for nodes added later.
	NoSimulatedNodes bool
	// AdvertiseAddress, when set, is an address of this host that pods
	// reach the API server on (HostIP()): the API server listens on every
	// address and advertises this one, so the `kubernetes` Service's
	// endpoint is real and in-cluster clients (cluster DNS) work through
	// kube-proxy. Empty: the API server listens on 127.0.0.1 only, for
	// simulated nodes.
	AdvertiseAddress string
	// Timeout bounds the start; 2 minutes if zero.
	Timeout time.Duration
}

// ControlPlane is a running control plane.
type ControlPlane struct {
	// Kubeconfig is the path of an admin kubeconfig.
	Kubeconfig string
	// Server is the API server URL.
	Server string
	// Dir is the control plane's directory.
	Dir string

	binDir string
	pids   []int
	pki    *pki

	mu     sync.Mutex
	exited []string // components that exited while Start was waiting
}

// components in start order; Stop goes in reverse.
var components = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

// Start brings up the control plane and its nodes, waiting until every node
// is Ready. On failure, whatever it started is stopped before it returns.
func Start(ctx context.Context, opts Options) (_ *ControlPlane, err error) {
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Minute
	}
	if opts.NoSimulatedNodes {
		opts.Nodes = nil
	} else if len(opts.Nodes) == 0 {
		opts.Nodes = DefaultNodes()
	}
	for _, c := range append(components[:len(components):len(components)], "kubectl") {
		if _, err := os.Stat(filepath.Join(opts.BinDir, c)); err != nil {
			return nil, fmt.Errorf("controlplane: %s not found in %s: run tools/build.sh first", c, opts.BinDir)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	if err := os.RemoveAll(opts.Dir); err != nil {
		return nil, err
	}
	for _, d := range []string{"etcd", "logs"} {
		if err := os.MkdirAll(filepath.Join(opts.Dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	// An empty PIDs file marks the control plane as started; every process
	// that joins it (from this program or another) adds its PID there.
	if err := writePIDs(filepath.Join(opts.Dir, "pids"), nil); err != nil {
		return nil, err
	}
	var advertised []string
	if opts.AdvertiseAddress != "" {
		advertised = append(advertised, opts.AdvertiseAddress)
	}
	certs, err := writePKI(opts.Dir, advertised...)
	if err != nil {
		return nil, fmt.Errorf("controlplane: certificates: %w", err)
	}
	ports, err := FreePorts(6)
	if err != nil {
		return nil, err
	}
	etcdPort, peerPort, apiPort, cmPort, schedPort, kwokPort := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]

	cp := &ControlPlane{
		Dir:        opts.Dir,
		Kubeconfig: filepath.Join(opts.Dir, "kubeconfig"),
		Server:     fmt.Sprintf("https://127.0.0.1:%d", apiPort),
		binDir:     opts.BinDir,
		pki:        certs,
	}
	defer func() {
		if err != nil {
			_ = cp.Stop()
			err = fmt.Errorf("%w (logs in %s)", err, filepath.Join(opts.Dir, "logs"))
		}
	}()
	if err := os.WriteFile(cp.Kubeconfig, []byte(adminKubeconfig(cp.Server, certs)), 0o600); err != nil {
		return nil, err
	}
	stages, err := kwokStagesConfig(filepath.Join(opts.BinDir, "kwok-stages"))
	if err != nil {
		return nil, err
	}
	stagesFile := filepath.Join(opts.Dir, "kwok-stages.yaml")
	if err := os.WriteFile(stagesFile, []byte(stages), 0o600); err != nil {
		return nil, err
	}

	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	if err := cp.run("etcd",
		"--name", "local", "--data-dir", filepath.Join(opts.Dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "local="+peerURL, "--log-level", "warn",
		"--quota-backend-bytes", strconv.Itoa(256<<20)); err != nil {
		return nil, err
	}
	if err := cp.run("kube-apiserver", append(apiServerAddressFlags(opts.AdvertiseAddress),
		"--etcd-servers", etcdURL,
		"--secure-port", strconv.Itoa(apiPort),
		"--tls-cert-file", certs.serverCert, "--tls-private-key-file", certs.serverKey,
		"--client-ca-file", certs.caCert,
		"--service-account-key-file", certs.saPub,
		"--service-account-signing-key-file", certs.saKey,
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range", serviceCIDR,
		"--authorization-mode", "Node,RBAC",
		"--enable-priority-and-fairness=false",
		// The aggregation layer, so extension API servers (KEDA's metrics
		// adapter, serving external.metrics.k8s.io to the HPA controller)
		// can be reached through this API server.
		"--requestheader-client-ca-file", certs.caCert,
		"--requestheader-allowed-names", frontProxyName,
		"--requestheader-username-headers", "X-Remote-User",
		"--requestheader-group-headers", "X-Remote-Group",
		"--requestheader-extra-headers-prefix", "X-Remote-Extra-",
		"--proxy-client-cert-file", certs.proxyCert, "--proxy-client-key-file", certs.proxyKey,
		// Real nodes' kubelets serve logs and exec only to clients of the
		// cluster CA: the API server is one, as the admin.
		"--kubelet-client-certificate", certs.adminCert, "--kubelet-client-key", certs.adminKey,
		// By the node's IP: its name (cpu-0) resolves nowhere.
		"--kubelet-preferred-address-types", "InternalIP")...); err != nil {
		return nil, err
	}
	if err := cp.waitFor(ctx, "the API server", func() error {
		_, err := cp.Kubectl(ctx, "get", "--raw", "/readyz")
		return err
	}); err != nil {
		return nil, err
	}
	if err := cp.run("kube-controller-manager",
		"--kubeconfig", cp.Kubeconfig, "--leader-elect=false",
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(cmPort),
		"--service-account-private-key-file", certs.saKey, "--root-ca-file", certs.caCert,
		"--use-service-account-credentials=false",
		// Simulated nodes never die, but kwok's heartbeats lag on a loaded
		// machine; past the default 50 s grace the node lifecycle controller
		// marks every node NotReady and every pod Ready=False, and kwok never
		// sets them back. Seen with a cold build sharing the 2 cores.
		"--node-monitor-grace-period", "10m",
		"--controllers", "*,-nodeipam"); err != nil {
		return nil, err
	}
	if err := cp.run("kube-scheduler",
		"--kubeconfig", cp.Kubeconfig, "--leader-elect=false",
		"--authentication-kubeconfig", cp.Kubeconfig, "--authorization-kubeconfig", cp.Kubeconfig,
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(schedPort)); err != nil {
		return nil, err
	}
	if err := cp.run("kwok",
		"--kubeconfig", cp.Kubeconfig,
		// Only the simulated nodes: a real node's kubelet reports its pods
		// itself, and kwok would overwrite their status with fakes.
		"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector", "kwok.x-k8s.io/node=fake",
		"--server-address", fmt.Sprintf("127.0.0.1:%d", kwokPort),
		"--config", stagesFile); err != nil {
		return nil, err
	}

	if len(opts.Nodes) == 0 {
		return cp, cp.waitFor(ctx, "the default service account", func() error {
			_, err := cp.Kubectl(ctx, "get", "serviceaccount", "default", "-n", "default")
			return err
		})
	}
	if _, err := cp.KubectlStdin(ctx, nodesYAML(opts.Nodes), "apply", "-f", "-"); err != nil {
		return nil, fmt.Errorf("controlplane: create nodes: %w", err)
	}
	if err := cp.waitFor(ctx, "the nodes to be Ready", func() error {
		out, err := cp.Kubectl(ctx, "get", "nodes", "-o", `jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{" "}{end}`)
		if err != nil {
			return err
		}
		ready := strings.Count(out, "True")
		if ready < len(opts.Nodes) {
			return fmt.Errorf("%d of %d nodes Ready", ready, len(opts.Nodes))
		}
		return nil
	}); err != nil {
		return nil, err
	}
	// The default ServiceAccount comes from a controller; pods need it.
	if err := cp.waitFor(ctx, "the default service account", func() error {
		_, err := cp.Kubectl(ctx, "get", "serviceaccount", "default", "-n", "default")
		return err
	}); err != nil {
		return nil, err
	}
	return cp, nil
}

// Open is a control plane that another process started in dir (its PIDs,
// kubeconfig and certificate authority), so this one can add processes to
// it: bin/local's KEDA lane, which joins after its build.
func Open(dir, binDir string) (*ControlPlane, error) {
	if _, err := readPIDs(filepath.Join(dir, "pids")); err != nil {
		return nil, fmt.Errorf("controlplane: no control plane in %s: %w", dir, err)
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	raw, err := os.ReadFile(kubeconfig)
	if err != nil {
		return nil, err
	}
	var server string
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "server: "); ok {
			server = v
		}
	}
	certs, err := readPKI(dir)
	if err != nil {
		return nil, fmt.Errorf("controlplane: the certificate authority in %s: %w", dir, err)
	}
	return &ControlPlane{Dir: dir, Kubeconfig: kubeconfig, Server: server, binDir: binDir, pki: certs}, nil
}

// apiServerAddressFlags say where the API server listens and what it
// advertises as the `kubernetes` Service's endpoint.
func apiServerAddressFlags(advertise string) []string {
	if advertise == "" {
		// The endpoint would be in the loopback range, which the endpoint
		// reconciler refuses: no endpoint at all.
		return []string{"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--endpoint-reconciler-type", "none"}
	}
	return []string{"--bind-address", "0.0.0.0", "--advertise-address", advertise}
}

// HostIP is the host's first non-loopback IPv4 address, skipping the real
// nodes' bridges: the address real nodes report as their InternalIP and
// pods reach the host's API server on.
func HostIP() (string, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return "", err
	}
	for _, i := range ifaces {
		if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 || strings.HasPrefix(i.Name, "ggp") {
			continue
		}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
				return n.IP.String(), nil
			}
		}
	}
	return "", errors.New("controlplane: no non-loopback IPv4 address on this host")
}

// CACert is the path of the cluster CA's certificate.
func (cp *ControlPlane) CACert() string { return cp.pki.caCert }

// IssueCertificate signs a serving-and-client certificate for the given
// hosts (DNS names or IPs) with the cluster CA; for processes started
// beside the control plane. On a ControlPlane from Start or Open.
func (cp *ControlPlane) IssueCertificate(certPath, keyPath, commonName string, hosts []string) error {
	if cp.pki == nil {
		return errors.New("controlplane: no certificate authority loaded (use Start or Open)")
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return cp.pki.issue(certPath, keyPath, tmpl)
}

// NodeKubeconfig writes a kubeconfig for a kubelet named node, with the
// identity Kubernetes' Node authorizer expects (user system:node:<node> in
// group system:nodes), and returns its path.
func (cp *ControlPlane) NodeKubeconfig(node, path string) (string, error) {
	return cp.ClientKubeconfig("system:node:"+node, []string{"system:nodes"}, path)
}

// ClientKubeconfig writes a kubeconfig with a client certificate of the
// cluster CA for user in groups (system:kube-proxy, which Kubernetes'
// bootstrap RBAC binds to system:node-proxier, say), and returns its path.
func (cp *ControlPlane) ClientKubeconfig(user string, groups []string, path string) (string, error) {
	if cp.pki == nil {
		return "", errors.New("controlplane: no certificate authority loaded (use Start or Open)")
	}
	cert, key := strings.TrimSuffix(path, filepath.Ext(path))+".crt", strings.TrimSuffix(path, filepath.Ext(path))+".key"
	if err := cp.pki.issue(cert, key, &x509.Certificate{
		Subject:     pkix.Name{CommonName: user, Organization: groups},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return "", err
	}
	return path, os.WriteFile(path, []byte(kubeconfigFor(cp.Server, cp.pki.caCert, cert, key)), 0o600)
}

// Kubectl runs kubectl against the control plane and returns its stdout.
func (cp *ControlPlane) Kubectl(ctx context.Context, args ...string) (string, error) {
	return cp.KubectlStdin(ctx, "", args...)
}

// KubectlStdin runs kubectl with stdin.
func (cp *ControlPlane) KubectlStdin(ctx context.Context, stdin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(cp.binDir, "kubectl"), append([]string{"--kubeconfig", cp.Kubeconfig}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

func (cp *ControlPlane) waitFor(ctx context.Context, what string, ready func() error) error {
	var last error
	for {
		if last = ready(); last == nil {
			return nil
		}
		cp.mu.Lock()
		exited := strings.Join(cp.exited, "; ")
		cp.mu.Unlock()
		if exited != "" {
			return fmt.Errorf("controlplane: waiting for %s: %s", what, exited)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("controlplane: timed out waiting for %s: %v", what, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
