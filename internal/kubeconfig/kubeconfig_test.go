package kubeconfig

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func TestGKE(t *testing.T) {
	got := GKE("gke_p_us-central1-a_platform", "34.1.2.3", "Q0E=")
	assert.NotContains(t, got, "token:", "no static credential may be written")

	var kc struct {
		Clusters []struct {
			Name    string `yaml:"name"`
			Cluster struct {
				Server string `yaml:"server"`
				CA     string `yaml:"certificate-authority-data"`
			} `yaml:"cluster"`
		} `yaml:"clusters"`
		CurrentContext string `yaml:"current-context"`
		Users          []struct {
			Name string `yaml:"name"`
			User struct {
				Exec struct {
					APIVersion         string   `yaml:"apiVersion"`
					Command            string   `yaml:"command"`
					Args               []string `yaml:"args"`
					ProvideClusterInfo bool     `yaml:"provideClusterInfo"`
				} `yaml:"exec"`
			} `yaml:"user"`
		} `yaml:"users"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(got), &kc), got)
	require.Len(t, kc.Clusters, 1)
	assert.Equal(t, "https://34.1.2.3", kc.Clusters[0].Cluster.Server)
	assert.Equal(t, "Q0E=", kc.Clusters[0].Cluster.CA)
	assert.Equal(t, "gke_p_us-central1-a_platform", kc.CurrentContext)
	require.Len(t, kc.Users, 1)
	exec := kc.Users[0].User.Exec
	assert.Equal(t, "client.authentication.k8s.io/v1beta1", exec.APIVersion)
	assert.Equal(t, "gke-gcloud-auth-plugin", exec.Command)
	// One identity for GCP and Kubernetes: the plugin reads application
	// default credentials (laptop ADC, Workload Identity Federation, OIDC).
	assert.Equal(t, []string{"--use_application_default_credentials"}, exec.Args)
	assert.True(t, exec.ProvideClusterInfo)
}
