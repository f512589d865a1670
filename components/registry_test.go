package components

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegistry(t *testing.T) {
	var url string
	g := run(t, func(ctx *pulumi.Context) error {
		r, err := NewRegistry(ctx, "registry", &RegistryArgs{
			Project: "p", Location: "europe-west4", RepositoryID: "images", KeepVersions: 7,
			Readers: []pulumi.StringInput{pulumi.String("serviceAccount:a@p"), pulumi.String("serviceAccount:b@p")},
		})
		if err != nil {
			return err
		}
		assert.Equal(t, "europe-west4-docker.pkg.dev", r.Server)
		r.URL.ApplyT(func(u string) string { url = u; return u })
		return nil
	})
	requireParented(t, g, "gke-gpu-platform:index:Registry")
	repo := g.One(t, "gcp:artifactregistry/repository:Repository")
	assert.Equal(t, "europe-west4", repo.Plain("location"))
	assert.Equal(t, "DOCKER", repo.Plain("format"))
	assert.Equal(t, false, repo.Plain("cleanupPolicyDryRun"), "a dry-run policy deletes nothing and storage keeps billing")
	assert.Equal(t, []any{
		map[string]any{"id": "keep-most-recent", "action": "KEEP", "mostRecentVersions": map[string]any{"keepCount": 7.0}},
		map[string]any{"id": "delete-old", "action": "DELETE", "condition": map[string]any{"tagState": "ANY", "olderThan": "604800s"}},
	}, repo.Plain("cleanupPolicies"))

	readers := g.OfType("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember")
	require.Len(t, readers, 2)
	for i, want := range []string{"serviceAccount:a@p", "serviceAccount:b@p"} {
		assert.Equal(t, want, readers[i].Plain("member"))
		assert.Equal(t, "roles/artifactregistry.reader", readers[i].Plain("role"))
		assert.Equal(t, "images", readers[i].Plain("repository"))
	}
	assert.Equal(t, "europe-west4-docker.pkg.dev/p/images", url)
}
