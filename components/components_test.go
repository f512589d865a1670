package components

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/graphtest"
)

// run runs one component's constructor under mocks and returns what it registered.
func run(t *testing.T, program pulumi.RunFunc) *graphtest.Graph {
	t.Helper()
	g, err := graphtest.Run(t, program, "test", map[string]string{})
	require.NoError(t, err)
	return g
}

// requireParented checks every resource but the component itself has it as parent.
func requireParented(t *testing.T, g *graphtest.Graph, componentType string) {
	t.Helper()
	for _, r := range g.Resources {
		if r.Type == componentType {
			continue
		}
		require.Equal(t, componentType, string(r.Parent.Type()), "parent of %s %s", r.Type, r.Name)
	}
}

// A component's explicit dependencies reach every child, so ordering a
// component orders what it creates. The dependency is the concrete gcp
// NodePool, so it holds whatever the timing of registration.
func TestComponentDependsOnReachesChildren(t *testing.T) {
	g := run(t, func(ctx *pulumi.Context) error {
		first, err := NewNodePool(ctx, "first", &NodePoolArgs{Project: "p", Location: pulumi.String("z"), Cluster: pulumi.String("c"),
			Role: "cpu", MachineType: "e2-medium", DiskType: "pd-standard", DiskSizeGb: 10, MinNodes: 1, MaxNodes: 1, LocationPolicy: "BALANCED",
			ServiceAccount: pulumi.String("sa")})
		if err != nil {
			return err
		}
		_, err = NewApp(ctx, "after", &AppArgs{Namespace: pulumi.String("ns"), Image: "a:1", Replicas: 1,
			Resources: ResourceArgs{CPURequest: "1", MemoryRequest: "1Gi", CPULimit: "1", MemoryLimit: "1Gi"}},
			pulumi.DependsOn([]pulumi.Resource{first.Resource()}))
		return err
	})
	for _, r := range g.Resources {
		if r.Custom && string(r.Parent.Type()) == "gke-gpu-platform:index:App" {
			require.Contains(t, r.Dependencies, "urn:pulumi:test::gke-gpu-platform::gke-gpu-platform:index:NodePool$gcp:container/nodePool:NodePool::first",
				"%s %s", r.Type, r.Name)
		}
	}
}
