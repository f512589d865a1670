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
	// The grants register concurrently: their order is not part of the contract.
	var members []any
	for _, r := range readers {
		members = append(members, r.Plain("member"))
		assert.Equal(t, "roles/artifactregistry.reader", r.Plain("role"))
		assert.Equal(t, "images", r.Plain("repository"))
	}
	assert.ElementsMatch(t, []any{"serviceAccount:a@p", "serviceAccount:b@p"}, members)
	assert.Equal(t, "europe-west4-docker.pkg.dev/p/images", url)
}
