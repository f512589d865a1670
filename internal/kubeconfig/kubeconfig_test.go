package kubeconfig

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestGKE(t *testing.T) {
	got := GKE("gke_p_us-central1-a_platform", "34.1.2.3", "Q0E=")
	assert.Contains(t, got, "server: https://34.1.2.3\n")
	assert.Contains(t, got, "certificate-authority-data: Q0E=\n")
	assert.Contains(t, got, "command: gke-gcloud-auth-plugin\n")
	assert.Contains(t, got, "current-context: gke_p_us-central1-a_platform\n")
	assert.NotContains(t, got, "token:", "no static credential may be written")
}
