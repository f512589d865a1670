package stacks

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gke-gpu-platform/gke-gpu-platform/components"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
)

// Node allocatable on GKE for n1-standard-1 (1 vCPU, 3.75 GB): GKE reserves
// 6% of the first core and 25% of the first 4 GiB of memory, plus a 100 MiB
// eviction threshold (GKE docs, "Standard cluster architecture: node
// allocatable resources", read 2026-11-25).
const (
	n1Standard1CPU    = 1000 - 60           // millicores
	n1Standard1Memory = 3840 - 3840/4 - 100 // MiB
	// GKE's own pods are an estimate from their published requests: per node
	// kube-proxy, fluentbit, gke-metrics-agent, pdcsi-node (~300m, 300Mi);
	// per cluster two kube-dns replicas, their autoscaler, konnectivity
	// agents, metrics-server and the default HTTP backend (~650m, 500Mi).
	systemPerNodeCPU, systemPerNodeMemory       = 300, 300
	systemPerClusterCPU, systemPerClusterMemory = 650, 500
)

// millis parses a CPU quantity ("100m", "1") into millicores.
func millis(t *testing.T, q string) int {
	t.Helper()
	if v, ok := strings.CutSuffix(q, "m"); ok {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, q)
		return n
	}
	f, err := strconv.ParseFloat(q, 64)
	require.NoError(t, err, q)
	return int(f * 1000)
}

// mebibytes parses a memory quantity ("128Mi", "2Gi") into MiB.
func mebibytes(t *testing.T, q string) int {
	t.Helper()
	for suffix, scale := range map[string]int{"Mi": 1, "Gi": 1024} {
		if v, ok := strings.CutSuffix(q, suffix); ok {
			n, err := strconv.Atoi(v)
			require.NoError(t, err, q)
			return n * scale
		}
	}
	t.Fatalf("unexpected memory quantity %q", q)
	return 0
}

// KEDA's three pods, as the program asks the chart for them, plus the apps
// that run on the CPU pool, fit dev's pool at its minimum (3 x n1-standard-1)
// next to GKE's own pods, with room to spare.
func TestKEDAFitsTheDevCPUPool(t *testing.T) {
	g := runStack(t, "dev", nil)
	release := g.One(t, "kubernetes:helm.sh/v3:Release")
	assert.Equal(t, "keda", release.Plain("chart"))
	assert.Equal(t, components.KEDAChartVersion, release.Plain("version"))
	assert.Equal(t, "https://kedacore.github.io/charts", release.Plain("repositoryOpts.repo"))
	assert.Equal(t, map[string]any{"gke-gpu-platform/pool": "cpu"}, release.Plain("values.nodeSelector"),
		"KEDA must never run on (and keep up) a GPU node")

	var kedaCPU, kedaMemory int
	for _, pod := range []string{"operator", "metricServer", "webhooks"} {
		req := release.Plain("values.resources." + pod + ".requests").(map[string]any)
		kedaCPU += millis(t, req["cpu"].(string))
		kedaMemory += mebibytes(t, req["memory"].(string))
	}
	assert.Equal(t, 160, kedaCPU, "KEDA's CPU requests (operator 100m, metrics server 50m, webhooks 10m)")
	assert.Equal(t, 320, kedaMemory, "KEDA's memory requests in MiB")

	var appCPU, appMemory int
	for _, d := range g.OfType(deploymentType) {
		pod := podSpec(t, d.Plain("spec").(map[string]any))
		if pod["nodeSelector"] != nil {
			continue // GPU pool
		}
		replicas := 1
		if r, ok := d.Plain("spec.replicas").(float64); ok {
			replicas = int(r)
		}
		for _, c := range pod["containers"].([]any) {
			req := c.(map[string]any)["resources"].(map[string]any)["requests"].(map[string]any)
			appCPU += replicas * millis(t, req["cpu"].(string))
			appMemory += replicas * mebibytes(t, req["memory"].(string))
		}
	}

	cfg, err := config.LoadStackFile("..", "dev")
	require.NoError(t, err)
	nodes := cfg.CPUPool.MinNodes
	require.Equal(t, "n1-standard-1", cfg.CPUPool.MachineType, "the numbers above are for n1-standard-1")
	freeCPU := nodes*(n1Standard1CPU-systemPerNodeCPU) - systemPerClusterCPU
	freeMemory := nodes*(n1Standard1Memory-systemPerNodeMemory) - systemPerClusterMemory
	t.Logf("dev CPU pool at %d nodes: %dm CPU / %d MiB left after GKE's pods; KEDA %dm / %d MiB, apps %dm / %d MiB",
		nodes, freeCPU, freeMemory, kedaCPU, kedaMemory, appCPU, appMemory)
	assert.LessOrEqual(t, kedaCPU+appCPU, freeCPU/2, "KEDA and the apps must leave half the free CPU for growth")
	assert.LessOrEqual(t, kedaMemory+appMemory, freeMemory/2, "KEDA and the apps must leave half the free memory for growth")
}
