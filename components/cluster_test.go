package components

import (
	"slices"
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

func TestClusterPrivateNodesAndImageStreaming(t *testing.T) {
	tests := []struct {
		name            string
		private, stream bool
		ports           []int
		wantRoles       []string
		wantFirewall    bool
	}{
		{name: "public, pulled", wantRoles: NodeRoles},
		{name: "streaming adds Service Usage Consumer", stream: true, wantRoles: append(slices.Clone(NodeRoles), ImageStreamingRole)},
		{name: "private with webhooks", private: true, ports: []int{6443, 9443}, wantRoles: NodeRoles, wantFirewall: true},
		{name: "private, nothing beyond GKE's ports", private: true, wantRoles: NodeRoles},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := run(t, func(ctx *pulumi.Context) error {
				_, err := NewCluster(ctx, "cluster", &ClusterArgs{
					Project: "proj-1", Location: "us-central1-a", ClusterName: "k", ReleaseChannel: "REGULAR", MaintenanceStart: "03:00",
					Network: "vpc", ImageStreaming: tt.stream, PrivateNodes: tt.private, ControlPlanePorts: tt.ports,
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

			if !tt.private {
				assert.Empty(t, g.OfType("gcp:compute/router:Router"))
				assert.Empty(t, g.OfType("gcp:compute/routerNat:RouterNat"))
				assert.Empty(t, g.OfType("gcp:compute/firewall:Firewall"))
				return
			}
			router := g.One(t, "gcp:compute/router:Router")
			assert.Equal(t, "us-central1", router.Plain("region"), "a router is regional: the zone's region")
			assert.Equal(t, "vpc", router.Plain("network"))
			nat := g.One(t, "gcp:compute/routerNat:RouterNat")
			assert.Equal(t, "k-router", nat.Plain("router"))
			assert.Equal(t, "us-central1", nat.Plain("region"))
			assert.Equal(t, "AUTO_ONLY", nat.Plain("natIpAllocateOption"))
			assert.Equal(t, "ALL_SUBNETWORKS_ALL_IP_RANGES", nat.Plain("sourceSubnetworkIpRangesToNat"))
			fws := g.OfType("gcp:compute/firewall:Firewall")
			if !tt.wantFirewall {
				assert.Empty(t, fws)
				return
			}
			require.Len(t, fws, 1)
			fw := fws[0]
			assert.Equal(t, "INGRESS", fw.Plain("direction"))
			assert.Equal(t, "vpc", fw.Plain("network"))
			// The mocked cluster is PSC-based: its private endpoint, one address.
			assert.Equal(t, []any{"10.128.0.2/32"}, fw.Plain("sourceRanges"))
			assert.Equal(t, []any{"k-nodes@proj-1.iam.gserviceaccount.com"}, fw.Plain("targetServiceAccounts"))
			assert.Equal(t, []any{map[string]any{"protocol": "tcp", "ports": []any{"6443", "9443"}}}, fw.Plain("allows"))
		})
	}
}

func TestControlPlaneSource(t *testing.T) {
	got, err := controlPlaneSource("k", "172.16.0.0/28", "172.16.0.2")
	require.NoError(t, err)
	assert.Equal(t, []string{"172.16.0.0/28"}, got, "a peered control plane's whole range")
	got, err = controlPlaneSource("k", "", "10.128.0.2")
	require.NoError(t, err)
	assert.Equal(t, []string{"10.128.0.2/32"}, got)
	_, err = controlPlaneSource("k", "", "")
	require.Error(t, err, "no source would open the rule to the internet")
	assert.Contains(t, err.Error(), "cluster.privateNodes")
}
