package controlplane

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"strings"
	"testing"

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
			assert.Equal(t, []map[string]string{{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}}, n.Spec.Taints)
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
