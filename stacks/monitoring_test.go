package stacks

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Cost allocation is on (no charge of its own); GPU metrics (DCGM through
// Managed Service for Prometheus, which bills samples) only when asked.
func TestClusterMetricsAndCostAllocation(t *testing.T) {
	g := runStack(t, "dev", nil)
	c := named(t, g, clusterType, "cluster")
	assert.Equal(t, map[string]any{"enabled": true}, c.Plain("costManagementConfig"))
	assert.Equal(t, map[string]any{"enableComponents": []any{"SYSTEM_COMPONENTS"}}, c.Plain("monitoringConfig"))

	g = runStack(t, "dev", map[string]string{"gke-gpu-platform:cluster": `{"name": "platform-dev", "privateNodes": true, "gpuMetrics": true}`})
	c = named(t, g, clusterType, "cluster")
	assert.Equal(t, map[string]any{
		"enableComponents":  []any{"SYSTEM_COMPONENTS", "DCGM"},
		"managedPrometheus": map[string]any{"enabled": true},
	}, c.Plain("monitoringConfig"))
}
