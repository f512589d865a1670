package stacks

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gpuOption is what a test expects of one GPU option's node pool.
type gpuOption struct {
	pool, machineType, accelerator string
	spot                           bool
	zones                          any
	maxNodes                       float64
}

// Each stack's GPU options become node pools, each in the GPU ComputeClass
// (its label and taint), and the class lists them in order.
func TestGPUOptionsPerStack(t *testing.T) {
	devZones := []any{"us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"}
	l4Zones := []any{"us-central1-a", "us-central1-b", "us-central1-c"}
	tests := []struct {
		stack   string
		options []gpuOption
	}{
		{stack: "dev", options: []gpuOption{
			{pool: "gpu", machineType: "n1-standard-4", accelerator: "nvidia-tesla-t4", spot: true, zones: devZones, maxNodes: 2},
			{pool: "gpu-1", machineType: "g2-standard-4", accelerator: "nvidia-l4", spot: true, zones: l4Zones, maxNodes: 2},
			{pool: "gpu-2", machineType: "n1-standard-4", accelerator: "nvidia-tesla-t4", spot: false, zones: devZones, maxNodes: 2},
		}},
		{stack: "prod", options: []gpuOption{
			{pool: "gpu", machineType: "n1-standard-4", accelerator: "nvidia-tesla-t4", maxNodes: 4},
			{pool: "gpu-1", machineType: "g2-standard-4", accelerator: "nvidia-l4", zones: l4Zones, maxNodes: 4},
		}},
		// The single-pool form: one pool, a class of one.
		{stack: "pr", options: []gpuOption{
			{pool: "gpu", machineType: "n1-standard-4", accelerator: "nvidia-tesla-t4", spot: true, maxNodes: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.stack, func(t *testing.T) {
			g := runStack(t, tt.stack, nil)
			var gpuPools int
			for _, p := range g.OfType(nodePoolType) {
				if p.Plain("nodeConfig.guestAccelerators") != nil {
					gpuPools++
				}
			}
			assert.Equal(t, len(tt.options), gpuPools, "one pool per option, no more")
			var rules []any
			for i, o := range tt.options {
				p := named(t, g, nodePoolType, o.pool)
				assert.Equal(t, o.machineType, p.Plain("nodeConfig.machineType"), o.pool)
				assert.Equal(t, o.accelerator, p.Plain("nodeConfig.guestAccelerators").([]any)[0].(map[string]any)["type"], o.pool)
				assert.Equal(t, o.spot, p.Plain("nodeConfig.spot"), o.pool)
				assert.Equal(t, o.zones, p.Plain("nodeLocations"), o.pool)
				maxKey := "autoscaling.maxNodeCount"
				if o.zones != nil {
					maxKey = "autoscaling.totalMaxNodeCount"
				}
				assert.Equal(t, o.maxNodes, p.Plain(maxKey), o.pool)
				assert.Equal(t, 0.0, p.Plain("initialNodeCount"), "%s starts empty", o.pool)
				labels := p.Plain("nodeConfig.labels").(map[string]any)
				assert.Equal(t, "gpu", labels["cloud.google.com/compute-class"], o.pool)
				assert.Equal(t, []any{
					map[string]any{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"},
					map[string]any{"key": "cloud.google.com/compute-class", "value": "gpu", "effect": "NO_SCHEDULE"},
				}, p.Plain("nodeConfig.taints"), o.pool)
				assert.Equal(t, float64(i+1), atof(t, labels["gke-gpu-platform/gpu-option"]), "%s is option %d", o.pool, i+1)
				// The mocks name a pool <name>-a1b2c3: the class names the pool itself.
				rules = append(rules, map[string]any{"nodepools": []any{o.pool + "-a1b2c3"}})
			}

			class := named(t, g, computeClassType, "gpu")
			assert.Equal(t, "gpu", class.Plain("metadata.name"))
			assert.Equal(t, rules, class.Plain("spec.priorities"), "the options, in order")
			// Set explicitly: GKE's default changed in 1.33.
			assert.Equal(t, "DoNotScaleUp", class.Plain("spec.whenUnsatisfiable"))
			assert.Equal(t, map[string]any{"optimizeRulePriority": false}, class.Plain("spec.activeMigration"))
			assert.Equal(t, map[string]any{"enabled": false}, class.Plain("spec.nodePoolAutoCreation"), "every option is a pool of ours")
			assert.Nil(t, class.Plain("spec.nodePoolConfig"))
			assert.Equal(t, "1.33", named(t, g, clusterType, "cluster").Plain("minMasterVersion"))

			// Every app object waits for the namespace, which waits for the
			// class and every pool.
			ns := named(t, g, namespaceType, tt.stack)
			assert.Contains(t, ns.Dependencies, "urn:pulumi:"+tt.stack+"::gke-gpu-platform::gke-gpu-platform:index:ComputeClass$kubernetes:cloud.google.com/v1:ComputeClass::gpu")
			for _, o := range tt.options {
				assert.Contains(t, ns.Dependencies, "urn:pulumi:"+tt.stack+"::gke-gpu-platform::gke-gpu-platform:index:NodePool$gcp:container/nodePool:NodePool::"+o.pool)
			}
		})
	}
}

// A flex-start fallback is a rule GKE creates a pool for: no NodePool of
// ours, flex-start with its run duration, the node account, and node pool
// auto-creation on; pulumi-gcp v7.38.0's NodePool has no flexStart field.
func TestFlexStartFallback(t *testing.T) {
	g := runStack(t, "dev", map[string]string{
		"gke-gpu-platform:cluster": `{"name": "platform-dev", "minVersion": "1.34", "privateNodes": false, "autoscalingProfile": "OPTIMIZE_UTILIZATION"}`,
		"gke-gpu-platform:gpuPool": `{"enabled": true, "spot": true, "maxNodes": 2,
			"fallbacks": [{"machineType": "g2-standard-4", "acceleratorType": "nvidia-l4", "diskType": "pd-balanced", "flexStart": true, "maxRunDurationSeconds": 7200,
				"nodeLocations": ["us-central1-a", "us-central1-b"]}]}`,
	})
	_, created := g.Named(nodePoolType, "gpu-1")
	assert.False(t, created, "GKE creates the flex-start pool")
	class := named(t, g, computeClassType, "gpu")
	assert.Equal(t, []any{
		map[string]any{"nodepools": []any{"gpu-a1b2c3"}},
		map[string]any{
			"machineType":           "g2-standard-4",
			"gpu":                   map[string]any{"type": "nvidia-l4", "count": 1.0, "driverVersion": "default"},
			"flexStart":             map[string]any{"enabled": true},
			"maxRunDurationSeconds": 7200.0,
			"location":              map[string]any{"zones": []any{"us-central1-a", "us-central1-b"}},
			"storage":               map[string]any{"bootDiskType": "pd-balanced", "bootDiskSize": 50.0},
		},
	}, class.Plain("spec.priorities"))
	assert.Equal(t, map[string]any{"enabled": true}, class.Plain("spec.nodePoolAutoCreation"))
	assert.Equal(t, map[string]any{
		"serviceAccount": "platform-dev-nodes@acme-platform-dev.iam.gserviceaccount.com",
		"imageStreaming": map[string]any{"enabled": true},
	}, class.Plain("spec.nodePoolConfig"), "GKE's pools run as the least-privilege node account")
}

// A shared option's pool carries GKE's gpuSharingConfig; every container
// still asks for one GPU.
func TestSharedGPUOption(t *testing.T) {
	g := runStack(t, "dev", map[string]string{
		"gke-gpu-platform:gpuPool": `{"enabled": true, "spot": true, "maxNodes": 2, "sharing": {"maxClientsPerGpu": 4},
			"fallbacks": [{"machineType": "g2-standard-4", "acceleratorType": "nvidia-l4", "nodeLocations": ["us-central1-a"],
				"diskType": "pd-balanced", "sharing": {"maxClientsPerGpu": 2}}]}`,
	})
	for pool, want := range map[string]map[string]any{
		"gpu":   {"gpuSharingStrategy": "TIME_SHARING", "maxSharedClientsPerGpu": 4.0},
		"gpu-1": {"gpuSharingStrategy": "TIME_SHARING", "maxSharedClientsPerGpu": 2.0},
	} {
		p := named(t, g, nodePoolType, pool)
		acc := p.Plain("nodeConfig.guestAccelerators").([]any)[0].(map[string]any)
		assert.Equal(t, want, acc["gpuSharingConfig"], pool)
	}
	worker := named(t, g, deploymentType, "gpu-worker")
	limits := podSpec(t, worker.Plain("spec").(map[string]any))["containers"].([]any)[0].(map[string]any)["resources"].(map[string]any)["limits"]
	assert.Equal(t, "1", limits.(map[string]any)["nvidia.com/gpu"])
}

func atof(t *testing.T, v any) float64 {
	t.Helper()
	s, ok := v.(string)
	require.True(t, ok, "%v is a string label", v)
	var f float64
	for _, c := range s {
		f = f*10 + float64(c-'0')
	}
	return f
}

// A shared GPU holds maxClientsPerGpu one-GPU pods: the queue's ceiling
// counts each share.
func TestSharedGPUCapacity(t *testing.T) {
	pool := `{"enabled": true, "spot": true, "maxNodes": 1, "sharing": {"maxClientsPerGpu": 4}}`
	worker := func(replicas int) string {
		return fmt.Sprintf(`[{"name": "worker", "image": "w:1", "gpu": 1, "queue": {"maxReplicas": %d}}]`, replicas)
	}
	_, err := LoadStackFileWith(t, "dev", map[string]string{"gke-gpu-platform:gpuPool": pool, "gke-gpu-platform:apps": worker(4)})
	assert.NoError(t, err, "4 workers on one GPU shared 4 ways")
	_, err = LoadStackFileWith(t, "dev", map[string]string{"gke-gpu-platform:gpuPool": pool, "gke-gpu-platform:apps": worker(5)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "apps[0].queue.maxReplicas = 5: needs 5 GPUs (1 per pod), more than the GPU pool can hold")
}
