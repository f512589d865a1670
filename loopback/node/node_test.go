package node

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// The real nodes run in e2e (TestRealNodes); these check what they are given.

func TestContainerdConfigHasWhatTheseMachinesNeed(t *testing.T) {
	d := dirsOf("/c", "gpu-0")
	cfg := containerdConfig(d, "gke-gpu-platform.local/pause@sha256:ab")
	for _, want := range []string{
		`restrict_oom_score_adj = true`, // lowering oom_score_adj is refused here
		`SystemdCgroup = false`,
		`sandbox_image = "gke-gpu-platform.local/pause@sha256:ab"`,
		`address = "/c/nodes/gpu-0/containerd.sock"`,
		`root = "/c/nodes/gpu-0/containerd"`,
		`conf_dir = "/c/nodes/gpu-0/cni"`,
		`bin_dir = "/usr/lib/cni"`,
	} {
		assert.Contains(t, cfg, want)
	}
}

func TestCNIConfigIsOneBridgePerNode(t *testing.T) {
	var conf struct {
		Name    string `json:"name"`
		Plugins []struct {
			Type      string `json:"type"`
			Bridge    string `json:"bridge"`
			IsGateway bool   `json:"isGateway"`
			IPAM      struct {
				Ranges  [][]struct{ Subnet string } `json:"ranges"`
				DataDir string                      `json:"dataDir"`
			} `json:"ipam"`
		} `json:"plugins"`
	}
	require.NoError(t, json.Unmarshal([]byte(cniConfig(network("gpu-0"), Bridge(1), PodCIDR(1), "/c/ipam")), &conf))
	assert.Equal(t, "ggp-gpu-0", conf.Name)
	require.Len(t, conf.Plugins, 2)
	assert.Equal(t, "bridge", conf.Plugins[0].Type)
	assert.Equal(t, "ggp1", conf.Plugins[0].Bridge)
	assert.True(t, conf.Plugins[0].IsGateway)
	assert.Equal(t, "10.88.1.0/24", conf.Plugins[0].IPAM.Ranges[0][0].Subnet)
	assert.Equal(t, "/c/ipam", conf.Plugins[0].IPAM.DataDir, "leases stay in the node's directory")
	assert.Equal(t, "10.88.1.1", Gateway(1))
}

func TestKubeletConfig(t *testing.T) {
	var cfg map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(kubeletConfig(dirsOf("/c", "cpu-0"), "192.0.2.7", 31000, 31001, "/c/ca.crt")), &cfg))
	assert.Equal(t, "KubeletConfiguration", cfg["kind"])
	assert.Equal(t, "192.0.2.7", cfg["address"])
	assert.Equal(t, 31000, cfg["port"])
	assert.Equal(t, 0, cfg["readOnlyPort"])
	assert.Equal(t, "cgroupfs", cfg["cgroupDriver"])
	assert.Equal(t, false, cfg["cgroupsPerQOS"])
	assert.Equal(t, false, cfg["failCgroupV1"])
	assert.Equal(t, 100, cfg["imageGCHighThresholdPercent"], "nothing can be pulled back: never collect images")
	assert.Equal(t, "unix:///c/nodes/cpu-0/containerd.sock", cfg["containerRuntimeEndpoint"])
	authn := cfg["authentication"].(map[string]any)
	assert.Equal(t, false, authn["anonymous"].(map[string]any)["enabled"], "only clients of the cluster CA")
}

func TestLabelsFlagIsSorted(t *testing.T) {
	assert.Equal(t, "a=1,b=2", labelsFlag(map[string]string{"b": "2", "a": "1"}))
}

// An iptables-save rule of the bridge plugin, split back into the
// arguments that delete it.
func TestShellWordsSplitsIptablesSaveRules(t *testing.T) {
	line := `POSTROUTING -s 10.88.1.5/32 -m comment --comment "name: \"ggp-gpu-0\" id: \"4f1c\"" -j CNI-8a2b`
	got := shellWords(line)
	assert.Equal(t, []string{"POSTROUTING", "-s", "10.88.1.5/32", "-m", "comment", "--comment",
		`name: "ggp-gpu-0" id: "4f1c"`, "-j", "CNI-8a2b"}, got)
	assert.True(t, strings.HasPrefix(got[len(got)-1], "CNI-"))
}
