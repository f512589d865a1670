package components

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
)

func TestNodePool(t *testing.T) {
	t4 := &AcceleratorArgs{Type: "nvidia-tesla-t4", Count: 2, DriverVersion: "LATEST"}
	tests := []struct {
		name        string
		accelerator *AcceleratorArgs
		min, max    int
		spot        bool
		wantInitial float64
		wantTaints  any
		wantLabels  map[string]any
	}{
		{
			name: "cpu", min: 2, max: 5,
			wantInitial: 2, wantTaints: nil,
			wantLabels: map[string]any{PoolLabel: "cpu"},
		},
		{
			name: "gpu", accelerator: t4, min: 0, max: 3, spot: true,
			wantInitial: 0,
			wantTaints:  []any{map[string]any{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}},
			wantLabels:  map[string]any{PoolLabel: "gpu", AcceleratorLabel: "nvidia-tesla-t4"},
		},
		{
			// Even a GPU pool kept warm starts empty; the autoscaler fills it to min.
			name: "gpu", accelerator: t4, min: 1, max: 1,
			wantInitial: 0,
			wantTaints:  []any{map[string]any{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}},
			wantLabels:  map[string]any{PoolLabel: "gpu", AcceleratorLabel: "nvidia-tesla-t4"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := run(t, func(ctx *pulumi.Context) error {
				_, err := NewNodePool(ctx, tt.name, &NodePoolArgs{
					Project: "p", Location: pulumi.String("europe-west4-b"), Cluster: pulumi.String("c"),
					Role: tt.name, MachineType: "n1-standard-4", DiskType: "pd-balanced", DiskSizeGb: 40,
					MinNodes: tt.min, MaxNodes: tt.max, LocationPolicy: "ANY", Spot: tt.spot,
					ServiceAccount: pulumi.String("nodes@p.iam.gserviceaccount.com"), Accelerator: tt.accelerator,
				})
				return err
			})
			requireParented(t, g, "gke-gpu-platform:index:NodePool")
			pool := g.One(t, "gcp:container/nodePool:NodePool")
			assert.Equal(t, "europe-west4-b", pool.Plain("location"))
			assert.Equal(t, tt.name+"-", pool.Plain("namePrefix"))
			assert.Equal(t, float64(tt.min), pool.Plain("autoscaling.minNodeCount"))
			assert.Equal(t, float64(tt.max), pool.Plain("autoscaling.maxNodeCount"))
			assert.Equal(t, tt.wantInitial, pool.Plain("initialNodeCount"))
			assert.Equal(t, tt.wantTaints, pool.Plain("nodeConfig.taints"))
			assert.Equal(t, tt.wantLabels, pool.Plain("nodeConfig.labels"))
			assert.Equal(t, tt.spot, pool.Plain("nodeConfig.spot"))
			assert.Equal(t, "pd-balanced", pool.Plain("nodeConfig.diskType"))
			assert.Equal(t, 40.0, pool.Plain("nodeConfig.diskSizeGb"))
			assert.Equal(t, "nodes@p.iam.gserviceaccount.com", pool.Plain("nodeConfig.serviceAccount"))
			// Surge upgrades never take a node away before its replacement is up.
			assert.Equal(t, 0.0, pool.Plain("upgradeSettings.maxUnavailable"))
			if tt.accelerator != nil {
				assert.Equal(t, []any{map[string]any{
					"type": "nvidia-tesla-t4", "count": 2.0,
					"gpuDriverInstallationConfig": map[string]any{"gpuDriverVersion": "LATEST"},
				}}, pool.Plain("nodeConfig.guestAccelerators"))
			} else {
				assert.Nil(t, pool.Plain("nodeConfig.guestAccelerators"))
			}
		})
	}
}

func TestNodePoolLocations(t *testing.T) {
	tests := []struct {
		name      string
		zones     []string
		wantZones any
		// the autoscaling keys that carry the bounds: per zone, or the pool's total
		minKey, maxKey, absentKey string
	}{
		{name: "cluster zone", zones: nil, wantZones: nil,
			minKey: "minNodeCount", maxKey: "maxNodeCount", absentKey: "totalMaxNodeCount"},
		{name: "one zone", zones: []string{"us-central1-b"}, wantZones: []any{"us-central1-b"},
			minKey: "minNodeCount", maxKey: "maxNodeCount", absentKey: "totalMaxNodeCount"},
		// maxNodes 2 over three zones is 2 GPU nodes, not 6.
		{name: "three zones", zones: []string{"us-central1-a", "us-central1-b", "us-central1-c"},
			wantZones: []any{"us-central1-a", "us-central1-b", "us-central1-c"},
			minKey:    "totalMinNodeCount", maxKey: "totalMaxNodeCount", absentKey: "maxNodeCount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := run(t, func(ctx *pulumi.Context) error {
				_, err := NewNodePool(ctx, "gpu", &NodePoolArgs{
					Project: "p", Location: pulumi.String("us-central1-a"), Cluster: pulumi.String("c"),
					Role: "gpu", MachineType: "n1-standard-4", DiskType: "pd-standard", DiskSizeGb: 50,
					MinNodes: 0, MaxNodes: 2, LocationPolicy: "ANY", Spot: true, NodeLocations: tt.zones,
					ServiceAccount: pulumi.String("nodes@p.iam.gserviceaccount.com"),
					Accelerator:    &AcceleratorArgs{Type: "nvidia-tesla-t4", Count: 1, DriverVersion: "DEFAULT"},
				})
				return err
			})
			pool := g.One(t, "gcp:container/nodePool:NodePool")
			assert.Equal(t, tt.wantZones, pool.Plain("nodeLocations"))
			assert.Equal(t, 0.0, pool.Plain("autoscaling."+tt.minKey))
			assert.Equal(t, 2.0, pool.Plain("autoscaling."+tt.maxKey))
			assert.Nil(t, pool.Plain("autoscaling."+tt.absentKey))
			assert.Equal(t, "ANY", pool.Plain("autoscaling.locationPolicy"))
		})
	}
}

func TestNodePoolPrivateNodesAndImageStreaming(t *testing.T) {
	tests := []struct {
		name            string
		private, stream bool
		wantImageType   any
		wantGcfs        any
	}{
		{name: "public, pulled", wantImageType: nil, wantGcfs: nil},
		{name: "private, streaming", private: true, stream: true, wantImageType: "COS_CONTAINERD", wantGcfs: map[string]any{"enabled": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := run(t, func(ctx *pulumi.Context) error {
				_, err := NewNodePool(ctx, "gpu", &NodePoolArgs{
					Project: "p", Location: pulumi.String("us-central1-a"), Cluster: pulumi.String("k"), Role: "gpu",
					MachineType: "n1-standard-4", DiskType: "pd-standard", DiskSizeGb: 50, MinNodes: 0, MaxNodes: 1, LocationPolicy: "ANY",
					ServiceAccount: pulumi.String("nodes@p.iam.gserviceaccount.com"),
					Accelerator:    &AcceleratorArgs{Type: "nvidia-tesla-t4", Count: 1, DriverVersion: "DEFAULT"},
					PrivateNodes:   tt.private, ImageStreaming: tt.stream,
				})
				return err
			})
			pool := g.One(t, "gcp:container/nodePool:NodePool")
			// Always stated, so turning it off is a diff too.
			assert.Equal(t, tt.private, pool.Plain("networkConfig.enablePrivateNodes"))
			assert.Equal(t, tt.wantImageType, pool.Plain("nodeConfig.imageType"))
			assert.Equal(t, tt.wantGcfs, pool.Plain("nodeConfig.gcfsConfig"))
		})
	}
}
