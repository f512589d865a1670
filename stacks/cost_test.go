package stacks

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden cost reports in testdata/")

// Golden reports: a change to a stack file or a price shows up here as a
// reviewable diff. Regenerate with `go test ./stacks -run CostReport -update`.
func TestCostReportGolden(t *testing.T) {
	for _, stack := range []string{"dev", "prod", "pr"} {
		t.Run(stack, func(t *testing.T) {
			cfg, err := LoadStackFile("..", stack)
			require.NoError(t, err)
			e, err := EstimateCost(cfg)
			require.NoError(t, err)
			var b strings.Builder
			require.NoError(t, e.WriteTable(&b, CostTitle(cfg)))

			golden := filepath.Join("testdata", "cost-"+stack+".golden")
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(b.String()), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), b.String())
		})
	}
}

func TestDevIdlesNearTheSeed(t *testing.T) {
	cfg, err := LoadStackFile("..", "dev")
	require.NoError(t, err)
	e, err := EstimateCost(cfg)
	require.NoError(t, err)
	// The seed paid ~$6/day, 85% of it for 3 x n1-standard-1; with the
	// control plane free and the GPU pool at zero, dev must not cost more.
	assert.Less(t, e.IdleDaily, 6.0)
	assert.Greater(t, e.IdleDaily, 3.42, "at least the seed's compute")
	assert.Greater(t, e.BusyMonthly, e.IdleMonthly)
}

func TestCostIsAStackOutput(t *testing.T) {
	g := runStack(t, "dev", nil)
	out, ok := g.Exports["estimatedMonthlyCost"].(map[string]any)
	require.True(t, ok, "estimatedMonthlyCost must be exported: %v", g.Exports["estimatedMonthlyCost"])
	cfg, err := LoadStackFile("..", "dev")
	require.NoError(t, err)
	e, err := EstimateCost(cfg)
	require.NoError(t, err)
	assert.Equal(t, e.IdleMonthly, out["idleMonthly"])
	assert.Equal(t, e.BusyMonthly, out["busyMonthly"])
	assert.Equal(t, 250.0, out["budget"])
	assert.Len(t, out["lines"], len(e.Lines))
}

func TestRegionalClusterCostsTheControlPlane(t *testing.T) {
	zonal, err := LoadStackFileWith(t, "dev", nil)
	require.NoError(t, err)
	regional, err := LoadStackFileWith(t, "dev", map[string]string{"gke-gpu-platform:cluster": `{"name": "platform-dev", "regional": true}`})
	require.NoError(t, err)
	ez, err := EstimateCost(zonal)
	require.NoError(t, err)
	er, err := EstimateCost(regional)
	require.NoError(t, err)
	assert.InDelta(t, 73.0, er.IdleMonthly-ez.IdleMonthly, 0.001)
	assert.Equal(t, "us-central1", regional.ClusterLocation())
}
