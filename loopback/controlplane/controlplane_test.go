package controlplane

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// The full control plane runs in test/e2e; these check its pieces.

func TestNodesYAMLTaintsOnlyGPUNodes(t *testing.T) {
	type node struct {
		Metadata struct {
			Name   string            `yaml:"name"`
			Labels map[string]string `yaml:"labels"`
		} `yaml:"metadata"`
		Spec struct {
			Taints []map[string]string `yaml:"taints"`
		} `yaml:"spec"`
		Status struct {
			Capacity map[string]string `yaml:"capacity"`
		} `yaml:"status"`
	}
	dec := yaml.NewDecoder(strings.NewReader(nodesYAML(DefaultNodes())))
	var nodes []node
	for {
		var n node
		if err := dec.Decode(&n); err != nil {
			break
		}
		nodes = append(nodes, n)
	}
	require.Len(t, nodes, 3)
	for _, n := range nodes {
		gpu := n.Metadata.Labels["gke-gpu-platform/pool"] == "gpu"
		if gpu {
			assert.Equal(t, []map[string]string{
				{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"},
				{"key": "cloud.google.com/compute-class", "value": "gpu", "effect": "NoSchedule"},
			}, n.Spec.Taints, "GKE's GPU taint and the GPU ComputeClass's")
			assert.Equal(t, "1", n.Status.Capacity["nvidia.com/gpu"])
		} else {
			assert.Empty(t, n.Spec.Taints, n.Metadata.Name)
			assert.NotContains(t, n.Status.Capacity, "nvidia.com/gpu")
		}
		assert.Equal(t, n.Metadata.Name, n.Metadata.Labels["kubernetes.io/hostname"])
		// As a kubelet reports its boot disk: pods that request ephemeral-storage fit.
		assert.NotEmpty(t, n.Status.Capacity["ephemeral-storage"], n.Metadata.Name)
	}
}

func TestPKI(t *testing.T) {
	dir := t.TempDir()
	p, err := writePKI(dir)
	require.NoError(t, err)
	load := func(path string) *x509.Certificate {
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		block, _ := pem.Decode(raw)
		require.NotNil(t, block, path)
		cert, err := x509.ParseCertificate(block.Bytes)
		require.NoError(t, err)
		return cert
	}
	roots := x509.NewCertPool()
	roots.AddCert(load(p.caCert))

	server := load(p.serverCert)
	_, err = server.Verify(x509.VerifyOptions{Roots: roots, DNSName: "127.0.0.1"})
	require.NoError(t, err, "the API server's certificate must be valid for 127.0.0.1")
	assert.True(t, server.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")))

	admin := load(p.adminCert)
	_, err = admin.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	require.NoError(t, err)
	assert.Equal(t, []string{"system:masters"}, admin.Subject.Organization)

	for _, key := range []string{p.caKey, p.serverKey, p.adminKey, p.saKey} {
		info, err := os.Stat(key)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "%s must be private", key)
	}
}

func TestFreePortsAreDistinctAndBelowTheEphemeralRange(t *testing.T) {
	ports, err := FreePorts(6)
	require.NoError(t, err)
	seen := map[int]bool{}
	for _, p := range ports {
		assert.False(t, seen[p], "port %d twice", p)
		seen[p] = true
		assert.Less(t, p, 32768)
	}
}

func TestStartFailsClearlyWithoutTools(t *testing.T) {
	_, err := Start(t.Context(), Options{BinDir: t.TempDir(), Dir: t.TempDir()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "run tools/build.sh first")
}

func TestStopDirWithoutAControlPlaneIsANoOp(t *testing.T) {
	require.NoError(t, StopDir(t.TempDir()))
}

// fakeStarted lays out dir as Start does before its first process: logs/,
// an empty PIDs file, a CA and a kubeconfig. No binaries run.
func fakeStarted(t *testing.T) *ControlPlane {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "cluster")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "logs"), 0o700))
	require.NoError(t, writePIDs(filepath.Join(dir, "pids"), nil))
	certs, err := writePKI(dir)
	require.NoError(t, err)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfig, []byte(adminKubeconfig("https://127.0.0.1:6443", certs)), 0o600))
	return &ControlPlane{Dir: dir, Kubeconfig: kubeconfig, pki: certs}
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// A second process (here, a second handle from Open) adds its processes to
// the PIDs file; Stop from the first handle stops them all, process groups
// included, and a process started after the stop is stopped at once.
func TestProcessesFromTwoHandlesStopTogether(t *testing.T) {
	first := fakeStarted(t)
	a, err := first.StartProcessPID("a", "/bin/sleep", nil, "300")
	require.NoError(t, err)

	second, err := Open(first.Dir, "")
	require.NoError(t, err)
	assert.Equal(t, "https://127.0.0.1:6443", second.Server)
	// A lane's child (a compiler under a build script) is in its group.
	b, err := second.StartProcessPID("b", "/bin/sh", nil, "-c", "sleep 300 & echo $! > child; wait")
	require.NoError(t, err)
	var child int
	require.Eventually(t, func() bool {
		raw, err := os.ReadFile(filepath.Join(first.Dir, "child"))
		child, _ = strconv.Atoi(strings.TrimSpace(string(raw)))
		return err == nil && child > 0
	}, 5*time.Second, 20*time.Millisecond)
	// And it can issue certificates from the first one's CA.
	require.NoError(t, second.IssueCertificate(filepath.Join(first.Dir, "x.crt"), filepath.Join(first.Dir, "x.key"), "x", []string{"localhost"}))

	pids, err := readPIDs(first.pidFile())
	require.NoError(t, err)
	assert.Equal(t, []int{a, b}, pids)

	require.NoError(t, first.Stop())
	for _, pid := range []int{a, b, child} {
		assert.Eventually(t, func() bool { return !alive(pid) }, 5*time.Second, 20*time.Millisecond, "pid %d", pid)
	}
	_, err = Open(first.Dir, "")
	assert.ErrorIs(t, err, errStopped, "a stopped control plane cannot be opened")

	_, err = second.StartProcessPID("late", "/bin/sleep", nil, "300")
	require.ErrorIs(t, err, errStopped, "a process that would join a stopped cluster is refused")
	for _, pid := range second.pids {
		assert.Eventually(t, func() bool { return !alive(pid) }, 15*time.Second, 20*time.Millisecond, "late pid %d stopped again", pid)
	}
}

func TestForgetDropsOnlyThatPID(t *testing.T) {
	cp := fakeStarted(t)
	require.NoError(t, writePIDs(cp.pidFile(), []int{11, 22, 33}))
	require.NoError(t, cp.Forget(22))
	pids, err := readPIDs(cp.pidFile())
	require.NoError(t, err)
	assert.Equal(t, []int{11, 33}, pids)
}

// Without an advertised address the API server stays on loopback, with no
// `kubernetes` endpoint (a loopback one is refused); with one, pods reach it
// there through the `kubernetes` Service, and its certificate names it.
func TestAPIServerAddress(t *testing.T) {
	assert.Equal(t, []string{"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--endpoint-reconciler-type", "none"},
		apiServerAddressFlags(""))
	assert.Equal(t, []string{"--bind-address", "0.0.0.0", "--advertise-address", "192.0.2.7"}, apiServerAddressFlags("192.0.2.7"))
	var ips []string
	for _, ip := range serverIPs([]string{"192.0.2.7"}) {
		ips = append(ips, ip.String())
	}
	assert.Equal(t, []string{"127.0.0.1", serviceIP, "192.0.2.7"}, ips)
}
