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
