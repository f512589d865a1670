package dns

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/controlplane"
)

// The manifests are what GKE's kube-dns is to its pods: kube-dns on the
// ClusterIP the kubelets hand out, pods labelled k8s-app=kube-dns in
// kube-system (what the platform's allow-dns policy lets every pod reach),
// the Corefile serving the cluster domain, under a restricted security
// context.
func TestManifests(t *testing.T) {
	const image = "gke-gpu-platform.local/coredns@sha256:ab"
	docs := map[string]map[string]any{}
	for _, doc := range strings.Split(Manifests(image), "\n---\n") {
		var obj map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(doc), &obj), doc)
		meta := obj["metadata"].(map[string]any)
		docs[obj["kind"].(string)+"/"+meta["name"].(string)] = obj
	}
	require.Len(t, docs, 6)

	svc := docs["Service/kube-dns"]
	assert.Equal(t, "kube-system", svc["metadata"].(map[string]any)["namespace"])
	spec := svc["spec"].(map[string]any)
	assert.Equal(t, controlplane.ClusterDNSIP, spec["clusterIP"])
	assert.Equal(t, map[string]any{"k8s-app": "kube-dns"}, spec["selector"])

	corefile := docs["ConfigMap/coredns"]["data"].(map[string]any)["Corefile"].(string)
	assert.Contains(t, corefile, "kubernetes "+Domain+" in-addr.arpa ip6.arpa {")
	assert.Contains(t, corefile, "ready :8181")

	pod := docs["Deployment/coredns"]["spec"].(map[string]any)["template"].(map[string]any)
	assert.Equal(t, map[string]any{"k8s-app": "kube-dns"}, pod["metadata"].(map[string]any)["labels"])
	podSpec := pod["spec"].(map[string]any)
	assert.Equal(t, "Default", podSpec["dnsPolicy"], "CoreDNS must not ask itself")
	assert.Equal(t, true, podSpec["securityContext"].(map[string]any)["runAsNonRoot"])
	c := podSpec["containers"].([]any)[0].(map[string]any)
	assert.Equal(t, image, c["image"])
	sc := c["securityContext"].(map[string]any)
	assert.Equal(t, true, sc["readOnlyRootFilesystem"])
	assert.Equal(t, false, sc["allowPrivilegeEscalation"])
	assert.Equal(t, []any{"ALL"}, sc["capabilities"].(map[string]any)["drop"])

	rules := docs["ClusterRole/system:coredns"]["rules"].([]any)
	assert.Len(t, rules, 2, "read-only: services, endpoints, pods, namespaces, endpointslices")
	for _, r := range rules {
		assert.Equal(t, []any{"list", "watch"}, r.(map[string]any)["verbs"])
	}
}
