package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Two stacks of one project may not both put a Cloud NAT on one subnetwork
// of one network and region; any difference among those keys is enough.
func TestTwoStacksCannotNATOneSubnetwork(t *testing.T) {
	const mine = "config:\n  gcp:project: acme-one\n  gcp:zone: us-central1-a\n  gke-gpu-platform:cluster:\n    privateNodes: true\n"
	tests := []struct {
		name, other string
		conflict    bool
	}{
		{"same subnetwork", mine, true},
		{"the network's default subnet, named", mine + "    subnetwork: default\n", true},
		{"another subnetwork", mine + "    subnetwork: review\n", false},
		{"another network", mine + "    network: other\n", false},
		{"another region", "config:\n  gcp:project: acme-one\n  gcp:zone: europe-west4-a\n  gke-gpu-platform:cluster:\n    privateNodes: true\n", false},
		{"another project", "config:\n  gcp:project: acme-two\n  gcp:zone: us-central1-a\n  gke-gpu-platform:cluster:\n    privateNodes: true\n", false},
		{"public nodes", "config:\n  gcp:project: acme-one\n  gcp:zone: us-central1-a\n", false},
		{"a file that does not load is its own stack's problem", mine + "    releaseChannel: NIGHTLY\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi.a.yaml"), []byte(mine), 0o600))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi.b.yaml"), []byte(tt.other), 0o600))
			_, err := LoadStackFile(dir, "a")
			if !tt.conflict {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), `cluster.subnetwork: "default" (network "default", us-central1, project "acme-one") already gets a Cloud NAT from stack "b" (Pulumi.b.yaml, cluster.privateNodes true)`)
			assert.Contains(t, err.Error(), "https://cloud.google.com/compute/docs/reference/rest/v1/routers")
		})
	}
}
