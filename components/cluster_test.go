package components

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCluster(t *testing.T) {
	tests := []struct {
		name               string
		location           string
		deletionProtection bool
		protect            bool
		subnetwork         string
	}{
		{name: "zonal dev", location: "us-east1-b"},
		{name: "protected prod", location: "us-east1-b", deletionProtection: true, protect: true, subnetwork: "gke"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := run(t, func(ctx *pulumi.Context) error {
				_, err := NewCluster(ctx, "cluster", &ClusterArgs{
					Project: "proj-1", Location: tt.location, ClusterName: "k", ReleaseChannel: "RAPID",
					DeletionProtection: tt.deletionProtection, Protect: tt.protect, MaintenanceStart: "04:30",
					Network: "vpc", Subnetwork: tt.subnetwork, ResourceLabels: map[string]string{"team": "ml"},
				})
				return err
			})
			requireParented(t, g, "gke-gpu-platform:index:Cluster")
			c := g.One(t, "gcp:container/cluster:Cluster")
			assert.Equal(t, tt.location, c.Plain("location"))
			assert.Equal(t, "k", c.Plain("name"))
			assert.Equal(t, true, c.Plain("removeDefaultNodePool"))
			assert.Equal(t, "proj-1.svc.id.goog", c.Plain("workloadIdentityConfig.workloadPool"))
			assert.Equal(t, true, c.Plain("enableShieldedNodes"))
			assert.Equal(t, "RAPID", c.Plain("releaseChannel.channel"))
			assert.Equal(t, "04:30", c.Plain("maintenancePolicy.dailyMaintenanceWindow.startTime"))
			assert.Equal(t, "vpc", c.Plain("network"))
			assert.Equal(t, map[string]any{"team": "ml"}, c.Plain("resourceLabels"))
			assert.Equal(t, tt.deletionProtection, c.Plain("deletionProtection"))
			assert.Equal(t, tt.protect, c.Protect)
			if tt.subnetwork == "" {
				assert.Nil(t, c.Plain("subnetwork"))
			} else {
				assert.Equal(t, tt.subnetwork, c.Plain("subnetwork"))
			}

			sa := g.One(t, "gcp:serviceaccount/account:Account")
			assert.Equal(t, "k-nodes", sa.Plain("accountId"))
			assert.Equal(t, "k-nodes@proj-1.iam.gserviceaccount.com", c.Plain("nodeConfig.serviceAccount"))
			grants := g.OfType("gcp:projects/iAMMember:IAMMember")
			require.Len(t, grants, len(NodeRoles))
			// The cluster waits for its nodes' roles, or the first nodes can't log.
			for _, grant := range grants {
				assert.Contains(t, c.Dependencies, "urn:pulumi:test::gke-gpu-platform::gke-gpu-platform:index:Cluster$gcp:projects/iAMMember:IAMMember::"+grant.Name)
			}

			p := g.One(t, "pulumi:providers:kubernetes")
			assert.True(t, p.Inputs["kubeconfig"].ContainsSecrets(), "the provider's kubeconfig must stay secret")
			assert.Contains(t, p.Plain("kubeconfig"), "server: https://203.0.113.1")
			assert.Contains(t, p.Plain("kubeconfig"), "gke_proj-1_"+tt.location+"_k")
		})
	}
}

func TestRoleSlug(t *testing.T) {
	assert.Equal(t, "stackdriver-resourceMetadata-writer", roleSlug("roles/stackdriver.resourceMetadata.writer"))
}
