package stacks

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gke-gpu-platform/gke-gpu-platform/test/graphtest"
)

func TestStackScopedNames(t *testing.T) {
	tests := []struct {
		stack                      string
		cluster, registry, address string
		namespace                  string
	}{
		{stack: "dev", cluster: "platform-dev", registry: "apps-dev", address: "ingress-dev", namespace: "dev"},
		{stack: "pr-7", cluster: "platform-pr-7", registry: "apps-pr-7", address: "ingress-pr-7", namespace: "pr-7"},
		// Too long for a cluster name (24 with the node account's "-nodes"):
		// hashed there, spelled out where 63 characters allow it.
		{stack: "pr-pulumi-acme-gke-gpu-platform-42", cluster: "platform-" + hash8("pr-pulumi-acme-gke-gpu-platform-42"),
			registry: "apps-pr-pulumi-acme-gke-gpu-platform-42", address: "ingress-pr-pulumi-acme-gke-gpu-platform-42",
			namespace: "pr-pulumi-acme-gke-gpu-platform-42"},
		// Stack names may hold capitals, '.' and '_'; GCP names may not.
		{stack: "Review_Feature.x", cluster: "platform-" + hash8("Review_Feature.x"), registry: "apps-" + hash8("Review_Feature.x"),
			address: "ingress-" + hash8("Review_Feature.x"), namespace: "review-feature-x"},
	}
	for _, tt := range tests {
		t.Run(tt.stack, func(t *testing.T) {
			d := Defaults(tt.stack)
			assert.Equal(t, tt.cluster, d.Cluster.Name)
			assert.Equal(t, tt.registry, d.Registry.Name)
			assert.Equal(t, tt.address, d.Ingress.StaticIPName)
			assert.Equal(t, tt.namespace, d.Namespace)
			// Derived names always pass the validation a hand-written one must.
			assert.Regexp(t, clusterNamePattern, d.Cluster.Name)
			assert.Regexp(t, repoIDPattern, d.Registry.Name)
			assert.Regexp(t, repoIDPattern, d.Ingress.StaticIPName)
			assert.Regexp(t, namespacePattern, d.Namespace)
		})
	}
	// Two stacks whose slugs agree still get different names.
	assert.NotEqual(t, Defaults("Review.1").Cluster.Name, Defaults("review-1").Cluster.Name)
}

func hash8(s string) string {
	return fmt.Sprintf("%x", sha256.Sum256([]byte(s)))[:8]
}

// gcpIdentity is what must be unique in a Google project for a resource, or
// "" for resources that are not named there (IAM members, bindings).
func gcpIdentity(t *testing.T, r graphtest.Resource) string {
	t.Helper()
	field := map[string]string{
		clusterType:                            "name",
		accountType:                            "accountId",
		repoType:                               "repositoryId",
		addressType:                            "name",
		"gcp:pubsub/topic:Topic":               "name",
		"gcp:pubsub/subscription:Subscription": "name",
	}[r.Type]
	if field == "" {
		return ""
	}
	v, ok := r.Plain(field).(string)
	require.True(t, ok && v != "", "%s %s: %s must be known at preview", r.Type, r.Name, field)
	return r.Type + " " + v
}

// Review stacks share the dev project with dev itself: every name GCP keys
// a resource by must differ between them, or the second `up` meets 409.
func TestReviewStacksShareTheDevProjectWithoutCollisions(t *testing.T) {
	// Review stacks get Pulumi.pr.yaml copied in; a static IP is switched on
	// so the global address is covered too.
	review := stackConfig(t, "pr", map[string]string{"gke-gpu-platform:ingress": `{"staticIp": true}`})
	dev := stackConfig(t, "dev", map[string]string{"gke-gpu-platform:ingress": `{"staticIp": true}`})
	require.Equal(t, dev["gcp:project"], review["gcp:project"], "the premise: review stacks share dev's project")

	owner := map[string]string{}
	covered := map[string]bool{}
	for _, s := range []struct {
		stack string
		cfg   map[string]string
	}{
		{"dev", dev},
		{"pr-pulumi-acme-gke-gpu-platform-41", review},
		{"pr-pulumi-acme-gke-gpu-platform-42", review},
		{"pr-7", review},
	} {
		g, err := graphtest.Run(t, Program, s.stack, s.cfg)
		require.NoError(t, err, s.stack)
		for _, r := range g.Resources {
			id := gcpIdentity(t, r)
			if id == "" {
				continue
			}
			covered[r.Type] = true
			if prev, taken := owner[id]; taken && prev != s.stack {
				t.Errorf("%s: %s is also created by stack %s", s.stack, id, prev)
			}
			owner[id] = s.stack
		}
	}
	for _, typ := range []string{clusterType, accountType, repoType, addressType, "gcp:pubsub/topic:Topic", "gcp:pubsub/subscription:Subscription"} {
		assert.True(t, covered[typ], "no %s was checked", typ)
	}
}
