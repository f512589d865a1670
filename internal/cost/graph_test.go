package cost

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInputFromResources(t *testing.T) {
	cluster := Resource{Type: "gcp:container/cluster:Cluster", Name: "cluster", Props: map[string]any{
		"name": "platform-dev", "location": "us-central1-a", "removeDefaultNodePool": true,
	}}
	pool := func(name string, props map[string]any) Resource {
		props["location"] = "us-central1-a"
		return Resource{Type: "gcp:container/nodePool:NodePool", Name: name, Props: props}
	}
	tests := []struct {
		name      string
		resources []Resource
		want      Input
		wantErr   string
	}{
		{name: "one-zone pool bounds per zone",
			resources: []Resource{cluster, pool("cpu", map[string]any{
				"nodeConfig":  map[string]any{"machineType": "n1-standard-1", "diskType": "pd-standard", "diskSizeGb": 30.0},
				"autoscaling": map[string]any{"minNodeCount": 3.0, "maxNodeCount": 4.0},
			})},
			want: Input{Region: "us-central1", Clusters: []Cluster{{Name: "platform-dev"}},
				Pools: []Pool{{Name: "cpu", MachineType: "n1-standard-1", DiskType: "pd-standard", DiskSizeGb: 30, MinNodes: 3, MaxNodes: 4}}}},
		{name: "per-zone bounds multiply over node locations",
			resources: []Resource{cluster, pool("cpu", map[string]any{
				"nodeLocations": []any{"us-central1-a", "us-central1-b"},
				"nodeConfig":    map[string]any{"machineType": "e2-standard-2", "spot": true},
				"autoscaling":   map[string]any{"minNodeCount": 1.0, "maxNodeCount": 2.0},
			})},
			want: Input{Region: "us-central1", Clusters: []Cluster{{Name: "platform-dev"}},
				Pools: []Pool{{Name: "cpu", MachineType: "e2-standard-2", DiskType: "pd-balanced", DiskSizeGb: 100, MinNodes: 2, MaxNodes: 4, Spot: true}}}},
		{name: "total bounds and GPUs",
			resources: []Resource{cluster, pool("gpu", map[string]any{
				"nodeLocations": []any{"us-central1-a", "us-central1-b", "us-central1-c"},
				"nodeConfig": map[string]any{"machineType": "n1-standard-4", "diskType": "pd-standard", "diskSizeGb": 50.0,
					"guestAccelerators": []any{map[string]any{"type": "nvidia-tesla-t4", "count": 1.0}}},
				"autoscaling": map[string]any{"totalMinNodeCount": 0.0, "totalMaxNodeCount": 2.0},
			})},
			want: Input{Region: "us-central1", Clusters: []Cluster{{Name: "platform-dev"}},
				Pools: []Pool{{Name: "gpu", MachineType: "n1-standard-4", DiskType: "pd-standard", DiskSizeGb: 50, MinNodes: 0, MaxNodes: 2,
					AcceleratorType: "nvidia-tesla-t4", AcceleratorCount: 1}}}},
		{name: "a fixed-size pool and the default pool kept",
			resources: []Resource{
				{Type: "gcp:container/cluster:Cluster", Name: "c", Props: map[string]any{"name": "c", "location": "us-central1", "initialNodeCount": 1.0}},
				pool("fixed", map[string]any{"nodeCount": 2.0, "nodeConfig": map[string]any{"machineType": "n1-standard-2"}}),
			},
			want: Input{Region: "us-central1", Clusters: []Cluster{{Name: "c", Regional: true}}, Pools: []Pool{
				{Name: "c-default", MachineType: "e2-medium", DiskType: "pd-balanced", DiskSizeGb: 100, MinNodes: 1, MaxNodes: 1},
				{Name: "fixed", MachineType: "n1-standard-2", DiskType: "pd-balanced", DiskSizeGb: 100, MinNodes: 2, MaxNodes: 2},
			}}},
		{name: "load balancers and addresses",
			resources: []Resource{
				{Type: "kubernetes:networking.k8s.io/v1:Ingress", Name: "ingress", Props: map[string]any{"metadata": map[string]any{"annotations": map[string]any{"kubernetes.io/ingress.class": "gce"}}}},
				{Type: "kubernetes:networking.k8s.io/v1:Ingress", Name: "nginx", Props: map[string]any{"spec": map[string]any{"ingressClassName": "nginx"}}},
				{Type: "kubernetes:core/v1:Service", Name: "lb", Props: map[string]any{"spec": map[string]any{"type": "LoadBalancer"}}},
				{Type: "kubernetes:core/v1:Service", Name: "web", Props: map[string]any{"spec": map[string]any{"type": "ClusterIP"}}},
				{Type: "gcp:compute/globalAddress:GlobalAddress", Name: "ingress-ip", Props: map[string]any{}},
			},
			want: Input{ForwardingRules: 2, StaticIPs: 1}},
		{name: "two regions",
			resources: []Resource{cluster, {Type: "gcp:container/nodePool:NodePool", Name: "eu", Props: map[string]any{"location": "europe-west4-a"}}},
			wantErr:   "the graph spans regions [europe-west4 us-central1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := InputFromResources(tt.resources, Usage{})
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
