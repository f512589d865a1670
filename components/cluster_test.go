package components

import (
	"slices"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/graphtest"
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

func TestClusterPrivateNodesAndImageStreaming(t *testing.T) {
	tests := []struct {
		name            string
		private, stream bool
		subnetwork      string
		wantRoles       []string
		wantSubnetwork  string
	}{
		{name: "public, pulled", wantRoles: NodeRoles},
		{name: "streaming adds Service Usage Consumer", stream: true, wantRoles: append(slices.Clone(NodeRoles), ImageStreamingRole)},
		{name: "private, the network's own subnet", private: true, wantRoles: NodeRoles, wantSubnetwork: "vpc"},
		{name: "private, a named subnet", private: true, subnetwork: "nodes", wantRoles: NodeRoles, wantSubnetwork: "nodes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cluster *Cluster
			g := run(t, func(ctx *pulumi.Context) (err error) {
				cluster, err = NewCluster(ctx, "cluster", &ClusterArgs{
					Project: "proj-1", Location: "us-central1-a", ClusterName: "k", ReleaseChannel: "REGULAR", MaintenanceStart: "03:00",
					Network: "vpc", Subnetwork: tt.subnetwork, ImageStreaming: tt.stream, PrivateNodes: tt.private,
				})
				return err
			})
			requireParented(t, g, "gke-gpu-platform:index:Cluster")
			var roles []string
			for _, grant := range g.OfType("gcp:projects/iAMMember:IAMMember") {
				roles = append(roles, grant.Plain("role").(string))
				assert.Equal(t, "serviceAccount:k-nodes@proj-1.iam.gserviceaccount.com", grant.Plain("member"))
			}
			assert.ElementsMatch(t, tt.wantRoles, roles)
			// GKE's control plane reaches webhooks through its konnectivity
			// agents: no firewall rule of ours, private or not.
			assert.Empty(t, g.OfType("gcp:compute/firewall:Firewall"))

			if !tt.private {
				assert.Empty(t, g.OfType("gcp:compute/router:Router"))
				assert.Empty(t, g.OfType("gcp:compute/routerNat:RouterNat"))
				assert.Empty(t, cluster.Egress)
				assert.NotContains(t, g.Calls, "gcp:compute/getSubnetwork:getSubnetwork")
				return
			}
			router := g.One(t, "gcp:compute/router:Router")
			assert.Equal(t, "us-central1", router.Plain("region"), "a router is regional: the zone's region")
			assert.Equal(t, "vpc", router.Plain("network"))
			nat := g.One(t, "gcp:compute/routerNat:RouterNat")
			assert.Equal(t, "k-router", nat.Plain("router"))
			assert.Equal(t, "us-central1", nat.Plain("region"))
			assert.Equal(t, "AUTO_ONLY", nat.Plain("natIpAllocateOption"))
			// The cluster's subnetwork, all of its ranges (nodes' and pods'), and no other.
			assert.Equal(t, "LIST_OF_SUBNETWORKS", nat.Plain("sourceSubnetworkIpRangesToNat"))
			assert.Equal(t, []any{map[string]any{
				"name":                 "https://www.googleapis.com/compute/v1/projects/proj-1/regions/us-central1/subnetworks/" + tt.wantSubnetwork,
				"sourceIpRangesToNats": []any{"ALL_IP_RANGES"},
			}}, nat.Plain("subnetworks"))
			require.Len(t, cluster.Egress, 1, "private pools wait for the NAT")
		})
	}
}

// A subnetwork without Private Google Access stops the program before any
// resource exists, naming the key, the subnetwork and the fix.
func TestPrivateNodesNeedPrivateGoogleAccess(t *testing.T) {
	g, err := graphtest.Run(t, func(ctx *pulumi.Context) error {
		_, err := NewCluster(ctx, "cluster", &ClusterArgs{
			Project: "proj-1", Location: "us-central1-a", ClusterName: "k", ReleaseChannel: "REGULAR", MaintenanceStart: "03:00",
			Network: "vpc", Subnetwork: "nodes" + graphtest.NoPrivateGoogleAccess, PrivateNodes: true,
		})
		return err
	}, "test", map[string]string{})
	require.Error(t, err)
	for _, want := range []string{
		`cluster.privateNodes: subnetwork "nodes-no-pga" in us-central1 has Private Google Access off`,
		PrivateGoogleAccessRule,
		"gcloud compute networks subnets update nodes-no-pga --region us-central1 --project proj-1 --enable-private-ip-google-access",
	} {
		assert.Contains(t, err.Error(), want)
	}
	assert.Empty(t, g.Resources, "nothing registered")
}
