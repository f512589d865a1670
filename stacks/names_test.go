package stacks

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/graphtest"
)

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
