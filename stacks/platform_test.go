package stacks

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gke-gpu-platform/gke-gpu-platform/components"
)

func TestClusterPerStack(t *testing.T) {
	tests := []struct {
		stack              string
		zone               string
		project            string
		channel            string
		deletionProtection bool
		protect            bool
	}{
		{stack: "dev", zone: "us-central1-a", project: "acme-platform-dev", channel: "REGULAR"},
		{stack: "prod", zone: "us-central1-a", project: "acme-platform-prod", channel: "STABLE", deletionProtection: true, protect: true},
	}
	for _, tt := range tests {
		t.Run(tt.stack, func(t *testing.T) {
			g := runStack(t, tt.stack, nil)
			c := g.One(t, clusterType)

			// A zone, not a region: the free tier pays one zonal control plane.
			assert.Equal(t, tt.zone, c.Plain("location"))
			assert.Equal(t, true, c.Plain("removeDefaultNodePool"))
			assert.Equal(t, tt.project+".svc.id.goog", c.Plain("workloadIdentityConfig.workloadPool"))
			assert.Equal(t, true, c.Plain("enableShieldedNodes"))
			assert.Equal(t, false, c.Plain("enableLegacyAbac"))
			assert.Equal(t, false, c.Plain("masterAuth.clientCertificateConfig.issueClientCertificate"))
			assert.Equal(t, "VPC_NATIVE", c.Plain("networkingMode"))
			assert.Equal(t, tt.channel, c.Plain("releaseChannel.channel"))
			assert.Equal(t, "03:00", c.Plain("maintenancePolicy.dailyMaintenanceWindow.startTime"))
			assert.Equal(t, []any{"SYSTEM_COMPONENTS"}, c.Plain("loggingConfig.enableComponents"))
			assert.Equal(t, []any{"SYSTEM_COMPONENTS"}, c.Plain("monitoringConfig.enableComponents"))
			assert.Equal(t, tt.deletionProtection, c.Plain("deletionProtection"))
			assert.Equal(t, tt.protect, c.Protect)

			// The nodes run as the dedicated account, never the default compute one.
			sa := named(t, g, accountType, "cluster-nodes")
			email := sa.Plain("accountId").(string) + "@" + tt.project + ".iam.gserviceaccount.com"
			assert.Equal(t, email, c.Plain("nodeConfig.serviceAccount"))
			for _, pool := range g.OfType(nodePoolType) {
				assert.Equal(t, email, pool.Plain("nodeConfig.serviceAccount"), pool.Name)
				assert.NotContains(t, pool.Plain("nodeConfig.serviceAccount"), "-compute@developer.gserviceaccount.com")
			}
		})
	}
}

func TestNodeServiceAccountIsLeastPrivilege(t *testing.T) {
	g := runStack(t, "dev", nil)
	var roles []string
	for _, m := range g.OfType(iamMemberType) {
		if m.Plain("member") == "serviceAccount:platform-dev-nodes@acme-platform-dev.iam.gserviceaccount.com" {
			roles = append(roles, m.Plain("role").(string))
		}
	}
	// GKE's minimum node role, and the one image streaming asks for with a
	// custom node service account (the GPU pool streams).
	assert.ElementsMatch(t, append(slices.Clone(components.NodeRoles), components.ImageStreamingRole), roles)
	for _, r := range roles {
		assert.NotContains(t, []string{"roles/editor", "roles/owner"}, r)
	}
	// Pulls are granted on the repository alone, not project-wide.
	reader := g.One(t, repoIAMType)
	assert.Equal(t, "roles/artifactregistry.reader", reader.Plain("role"))
	assert.Equal(t, "serviceAccount:platform-dev-nodes@acme-platform-dev.iam.gserviceaccount.com", reader.Plain("member"))
}

func TestGPUPoolPerStack(t *testing.T) {
	tests := []struct {
		stack    string
		maxNodes float64
		spot     bool
		zones    any
		// GKE's per-zone bounds for a one-zone pool, total ones over several zones
		minKey, maxKey string
	}{
		{stack: "dev", maxNodes: 2, spot: true, minKey: "totalMinNodeCount", maxKey: "totalMaxNodeCount",
			zones: []any{"us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"}},
		{stack: "prod", maxNodes: 4, spot: false, minKey: "minNodeCount", maxKey: "maxNodeCount"},
	}
	for _, tt := range tests {
		t.Run(tt.stack, func(t *testing.T) {
			g := runStack(t, tt.stack, nil)
			gpu := named(t, g, nodePoolType, "gpu")

			// GKE's GPU taint, and the GPU ComputeClass's taint GKE asks of a
			// manually created pool the class names.
			assert.Equal(t, []any{
				map[string]any{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"},
				map[string]any{"key": "cloud.google.com/compute-class", "value": "gpu", "effect": "NO_SCHEDULE"},
			}, gpu.Plain("nodeConfig.taints"))
			assert.Equal(t, 0.0, gpu.Plain("autoscaling."+tt.minKey))
			assert.Equal(t, tt.maxNodes, gpu.Plain("autoscaling."+tt.maxKey))
			assert.Equal(t, tt.zones, gpu.Plain("nodeLocations"))
			assert.Equal(t, 0.0, gpu.Plain("initialNodeCount"))
			assert.Equal(t, "ANY", gpu.Plain("autoscaling.locationPolicy"))
			assert.Equal(t, tt.spot, gpu.Plain("nodeConfig.spot"))
			assert.Equal(t, "us-central1-a", gpu.Plain("location"))
			assert.Equal(t, "n1-standard-4", gpu.Plain("nodeConfig.machineType"))
			assert.Equal(t, []any{map[string]any{
				"type": "nvidia-tesla-t4", "count": 1.0,
				"gpuDriverInstallationConfig": map[string]any{"gpuDriverVersion": "DEFAULT"},
			}}, gpu.Plain("nodeConfig.guestAccelerators"))
			assert.Equal(t, map[string]any{components.PoolLabel: "gpu", components.AcceleratorLabel: "nvidia-tesla-t4",
				"cloud.google.com/compute-class": "gpu", "gke-gpu-platform/gpu-option": "1"},
				gpu.Plain("nodeConfig.labels"))
			assert.Equal(t, []any{"https://www.googleapis.com/auth/cloud-platform"}, gpu.Plain("nodeConfig.oauthScopes"))
			assert.Equal(t, map[string]any{"autoRepair": true, "autoUpgrade": true}, gpu.Plain("management"))
			// A generated name lets a replacement pool come up before the old one goes.
			assert.Equal(t, "gpu-", gpu.Plain("namePrefix"))
			assert.Nil(t, gpu.Plain("name"))
			// Created after the CPU pool, so system pods never start on a GPU node.
			assert.Contains(t, gpu.Dependencies,
				"urn:pulumi:"+tt.stack+"::gke-gpu-platform::gke-gpu-platform:index:NodePool$gcp:container/nodePool:NodePool::cpu")
		})
	}
}

func TestCPUPoolPerStack(t *testing.T) {
	tests := []struct {
		stack       string
		machineType string
		min, max    float64
	}{
		{stack: "dev", machineType: "n1-standard-1", min: 3, max: 4},
		{stack: "prod", machineType: "e2-standard-2", min: 2, max: 5},
	}
	for _, tt := range tests {
		t.Run(tt.stack, func(t *testing.T) {
			g := runStack(t, tt.stack, nil)
			cpu := named(t, g, nodePoolType, "cpu")
			assert.Nil(t, cpu.Plain("nodeConfig.taints"), "system pods and web apps must schedule here")
			assert.Nil(t, cpu.Plain("nodeConfig.guestAccelerators"))
			assert.Equal(t, tt.machineType, cpu.Plain("nodeConfig.machineType"))
			assert.Equal(t, tt.min, cpu.Plain("autoscaling.minNodeCount"))
			assert.Equal(t, tt.max, cpu.Plain("autoscaling.maxNodeCount"))
			assert.Equal(t, tt.min, cpu.Plain("initialNodeCount"))
			assert.Equal(t, map[string]any{"autoRepair": true, "autoUpgrade": true}, cpu.Plain("management"))
			assert.Equal(t, "GKE_METADATA", cpu.Plain("nodeConfig.workloadMetadataConfig.mode"))
			assert.Equal(t, true, cpu.Plain("nodeConfig.shieldedInstanceConfig.enableSecureBoot"))
		})
	}
}

func TestGPUPoolCanBeDisabled(t *testing.T) {
	g := runStack(t, "dev", map[string]string{
		"gke-gpu-platform:gpuPool": `{"enabled": false}`,
		"gke-gpu-platform:apps":    `[{"name": "web", "image": "nginx:1", "port": 80, "path": "/"}]`,
	})
	pools := g.OfType(nodePoolType)
	require.Len(t, pools, 1)
	assert.Equal(t, "cpu", pools[0].Name)
	assert.NotContains(t, g.Exports, "gpuPoolName")
}

func TestStackOutputs(t *testing.T) {
	g := runStack(t, "dev", nil)
	assert.Equal(t, "platform-dev", g.Exports["clusterName"])
	assert.Equal(t, "us-central1-a", g.Exports["zone"])
	assert.Equal(t, "203.0.113.1", g.Exports["endpoint"])
	assert.Equal(t, "cpu-a1b2c3", g.Exports["cpuPoolName"])
	assert.Equal(t, "gpu-a1b2c3", g.Exports["gpuPoolName"])
	assert.Equal(t, "us-central1-docker.pkg.dev/acme-platform-dev/apps", g.Exports["registryUrl"])

	require.True(t, g.SecretExports["kubeconfig"], "the kubeconfig output must be secret")
	kc := g.Exports["kubeconfig"].(string)
	assert.Contains(t, kc, "server: https://203.0.113.1")
	assert.Contains(t, kc, "command: gke-gcloud-auth-plugin\n      args:\n      - --use_application_default_credentials\n")
	assert.Contains(t, kc, "gke_acme-platform-dev_us-central1-a_platform-dev")
	assert.False(t, g.SecretExports["clusterName"])
}

// Every resource a component creates is its child: `pulumi preview` shows
// the tree, and the component's options (providers, protect) reach them.
func TestEveryChildHasItsComponentAsParent(t *testing.T) {
	g := runStack(t, "prod", nil)
	wantParent := map[string][]string{
		clusterType:                         {"Cluster"},
		accountType:                         {"Cluster", "WorkloadIdentity"},
		iamMemberType:                       {"Cluster", "WorkloadIdentity"},
		k8sProvider:                         {"Cluster"},
		nodePoolType:                        {"NodePool"},
		repoType:                            {"Registry"},
		repoIAMType:                         {"Registry"},
		imageType:                           {"App"},
		deploymentType:                      {"App"},
		serviceType:                         {"App"},
		ingressType:                         {"Ingress"},
		addressType:                         {"Ingress"},
		"kubernetes:core/v1:ServiceAccount": {"App"},
		"kubernetes:autoscaling/v2:HorizontalPodAutoscaler":   {"App"},
		"kubernetes:policy/v1:PodDisruptionBudget":            {"App"},
		"kubernetes:networking.gke.io/v1:ManagedCertificate":  {"Ingress"},
		"kubernetes:networking.gke.io/v1beta1:FrontendConfig": {"Ingress"},
		scaledObjectType: {"App"},
		"kubernetes:cloud.google.com/v1:BackendConfig":           {"App"},
		"kubernetes:core/v1:Secret":                              {"App"},
		"kubernetes:keda.sh/v1alpha1:TriggerAuthentication":      {"App"},
		"kubernetes:networking.k8s.io/v1:NetworkPolicy":          {"NetworkPolicies"},
		"kubernetes:helm.sh/v3:Release":                          {"KEDA"},
		"gcp:serviceaccount/iAMMember:IAMMember":                 {"WorkloadIdentity"},
		"gcp:pubsub/topic:Topic":                                 {"Queue"},
		"gcp:compute/router:Router":                              {"Cluster"},
		"gcp:compute/routerNat:RouterNat":                        {"Cluster"},
		"gcp:pubsub/subscription:Subscription":                   {"Queue"},
		"gcp:pubsub/topicIAMMember:TopicIAMMember":               {"Queue"},
		"gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember": {"Queue"},
		"gcp:storage/bucket:Bucket":                              {"JobRecords"},
		"gcp:storage/bucketIAMMember:BucketIAMMember":            {"JobRecords"},
		computeClassType:                                         {"ComputeClass"},
	}
	seen := map[string]bool{}
	for _, r := range g.Resources {
		if strings.HasPrefix(r.Type, "gke-gpu-platform:index:") || r.Type == namespaceType {
			assert.Equal(t, "pulumi:pulumi:Stack", string(r.Parent.Type()), "%s %s sits at the top of the graph", r.Type, r.Name)
			continue
		}
		want, ok := wantParent[r.Type]
		require.True(t, ok, "unexpected resource type %s (%s)", r.Type, r.Name)
		assert.Contains(t, want, strings.TrimPrefix(string(r.Parent.Type()), "gke-gpu-platform:index:"), "parent of %s %s", r.Type, r.Name)
		seen[r.Type] = true
	}
	for typ := range wantParent {
		assert.True(t, seen[typ], "prod registers no %s", typ)
	}
}

// Spot T4s run out zone by zone: the GPU pool may look in several zones of
// the region while the control plane stays in one (zonal, free).
func TestGPUPoolSpreadsOverZonesOfTheRegion(t *testing.T) {
	tests := []struct {
		name      string
		gpuPool   string
		wantZones any
		maxKey    string
	}{
		{name: "default: the cluster's zone",
			gpuPool:   `{"maxNodes": 2}`,
			wantZones: nil, maxKey: "maxNodeCount"},
		{name: "three zones, two nodes in total",
			gpuPool:   `{"maxNodes": 2, "nodeLocations": ["us-central1-a", "us-central1-b", "us-central1-f"]}`,
			wantZones: []any{"us-central1-a", "us-central1-b", "us-central1-f"}, maxKey: "totalMaxNodeCount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := runStack(t, "dev", map[string]string{"gke-gpu-platform:gpuPool": tt.gpuPool})
			gpu := named(t, g, nodePoolType, "gpu")
			assert.Equal(t, tt.wantZones, gpu.Plain("nodeLocations"))
			assert.Equal(t, 2.0, gpu.Plain("autoscaling."+tt.maxKey))
			assert.Equal(t, "us-central1-a", gpu.Plain("location"), "the pool belongs to the zonal cluster")
			assert.Equal(t, "us-central1-a", named(t, g, clusterType, "cluster").Plain("location"), "the control plane stays zonal")
			assert.Nil(t, named(t, g, nodePoolType, "cpu").Plain("nodeLocations"), "the CPU pool stays in the cluster's zone")
		})
	}
}

// The autoscaler profile each stack chose reaches the cluster, with node
// auto-provisioning explicitly off (the pools are declared).
func TestAutoscalingProfilePerStack(t *testing.T) {
	for stack, want := range map[string]string{"dev": "OPTIMIZE_UTILIZATION", "pr": "OPTIMIZE_UTILIZATION", "prod": "BALANCED"} {
		t.Run(stack, func(t *testing.T) {
			c := runStack(t, stack, nil).One(t, clusterType)
			assert.Equal(t, map[string]any{"enabled": false, "autoscalingProfile": want}, c.Plain("clusterAutoscaling"))
		})
	}
}

// dev and prod run private nodes behind Cloud NAT; pr keeps public ones
// (cheaper for a short-lived stack). Every GPU pool streams images.
func TestPrivateNodesAndImageStreamingPerStack(t *testing.T) {
	for stack, private := range map[string]bool{"dev": true, "prod": true, "pr": false} {
		t.Run(stack, func(t *testing.T) {
			g := runStack(t, stack, nil)
			for _, pool := range g.OfType(nodePoolType) {
				assert.Equal(t, private, pool.Plain("networkConfig.enablePrivateNodes"), pool.Name)
				if pool.Plain("nodeConfig.labels").(map[string]any)[components.PoolLabel] == "gpu" {
					assert.Equal(t, map[string]any{"enabled": true}, pool.Plain("nodeConfig.gcfsConfig"), "GPU pools stream images")
					assert.Equal(t, components.ImageStreamingImageType, pool.Plain("nodeConfig.imageType"))
				} else {
					assert.Nil(t, pool.Plain("nodeConfig.gcfsConfig"))
				}
			}
			assert.Empty(t, g.OfType("gcp:compute/firewall:Firewall"), "the control plane reaches webhooks through konnectivity")
			if !private {
				assert.Empty(t, g.OfType("gcp:compute/routerNat:RouterNat"))
				assert.NotContains(t, g.Calls, "gcp:compute/getSubnetwork:getSubnetwork")
				return
			}
			// Private Google Access is read from the node subnetwork before anything is created.
			assert.Contains(t, g.Calls, "gcp:compute/getSubnetwork:getSubnetwork")
			nat := g.One(t, "gcp:compute/routerNat:RouterNat")
			assert.Equal(t, "us-central1", nat.Plain("region"))
			assert.Equal(t, "LIST_OF_SUBNETWORKS", nat.Plain("sourceSubnetworkIpRangesToNat"), "never every subnetwork of the region")
			project := map[string]string{"dev": "acme-platform-dev", "prod": "acme-platform-prod"}[stack]
			assert.Equal(t, "https://www.googleapis.com/compute/v1/projects/"+project+"/regions/us-central1/subnetworks/default",
				nat.Plain("subnetworks").([]any)[0].(map[string]any)["name"])
			// Every private pool is created after the NAT and deleted before it.
			natURN := "urn:pulumi:" + stack + "::gke-gpu-platform::gke-gpu-platform:index:Cluster$gcp:compute/routerNat:RouterNat::cluster-nat"
			for _, pool := range g.OfType(nodePoolType) {
				assert.Contains(t, pool.Dependencies, natURN, pool.Name)
			}
		})
	}
}
