package stacks

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/cost"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/graphtest"
)

var update = flag.Bool("update", false, "rewrite the golden cost reports in testdata/")

// Golden reports: a change to a stack file or a price shows up here as a
// reviewable diff. Regenerate with `go test ./stacks -run CostReport -update`.
func TestCostReportGolden(t *testing.T) {
	for _, stack := range []string{"dev", "prod", "pr"} {
		t.Run(stack, func(t *testing.T) {
			cfg, err := config.LoadStackFile("..", stack)
			require.NoError(t, err)
			e, err := config.EstimateCost(cfg)
			require.NoError(t, err)
			var b strings.Builder
			require.NoError(t, e.WriteTable(&b, config.CostTitle(cfg)))

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
	cfg, err := config.LoadStackFile("..", "dev")
	require.NoError(t, err)
	e, err := config.EstimateCost(cfg)
	require.NoError(t, err)
	// The seed's capacity (3 x n1-standard-1, always on, so N1's full 30%
	// sustained use discount) with the control plane free and the GPU pool
	// at zero: at most $4.00/day, Cloud NAT and the load balancer included.
	assert.LessOrEqual(t, e.IdleDaily, 4.00)
	assert.InDelta(t, 3*0.0475*730*0.7, lineOf(t, e, "cpu pool nodes").Idle, 0.01)
	// Private nodes: no address each, a NAT gateway per node-hour, its own
	// address, and 1 GB of traffic.
	assert.InDelta(t, 3*0.0014*730+0.005*730+1*0.045, lineOf(t, e, "cloud NAT").Idle, 0.01)
	for _, l := range e.Lines {
		assert.NotEqual(t, "node external IPs", l.Item)
	}
	assert.Greater(t, e.BusyMonthly, e.IdleMonthly)
}

func TestCostIsAStackOutput(t *testing.T) {
	g := runStack(t, "dev", nil)
	out, ok := g.Exports["estimatedMonthlyCost"].(map[string]any)
	require.True(t, ok, "estimatedMonthlyCost must be exported: %v", g.Exports["estimatedMonthlyCost"])
	cfg, err := config.LoadStackFile("..", "dev")
	require.NoError(t, err)
	e, err := config.EstimateCost(cfg)
	require.NoError(t, err)
	assert.Equal(t, e.IdleMonthly, out["idleMonthly"])
	assert.Equal(t, e.BusyMonthly, out["busyMonthly"])
	assert.Nil(t, out["budget"], "the budget lives in the policy config")
	assert.Len(t, out["lines"], len(e.Lines))
	assert.Len(t, out["assumptions"], len(e.Assumptions))
	// What a preview diff shows as before -> after.
	assert.Equal(t, "idle $3.34/day ($101.58/month), busy $141.67/month", g.Exports["estimatedCost"])
}

func TestRegionalClusterCostsTheControlPlane(t *testing.T) {
	zonal, err := LoadStackFileWith(t, "dev", nil)
	require.NoError(t, err)
	regional, err := LoadStackFileWith(t, "dev", map[string]string{"gke-gpu-platform:cluster": `{"name": "platform-dev", "regional": true, "privateNodes": true, "autoscalingProfile": "OPTIMIZE_UTILIZATION"}`})
	require.NoError(t, err)
	ez, err := config.EstimateCost(zonal)
	require.NoError(t, err)
	er, err := config.EstimateCost(regional)
	require.NoError(t, err)
	assert.InDelta(t, 73.0, er.IdleMonthly-ez.IdleMonthly, 0.001)
	assert.Equal(t, "us-central1", regional.ClusterLocation())
}

// graphCost prices what the mocked program registers, the way the policy
// pack prices a preview.
func graphCost(t *testing.T, g *graphtest.Graph, u cost.Usage) cost.Estimate {
	t.Helper()
	var rs []cost.Resource
	for _, r := range g.Resources {
		props, _ := resource.NewObjectProperty(r.Inputs).Mappable().(map[string]any)
		rs = append(rs, cost.Resource{Type: r.Type, Name: r.Name, Props: props})
	}
	in, err := cost.InputFromResources(rs, u)
	require.NoError(t, err)
	prices, err := cost.LoadPrices()
	require.NoError(t, err)
	e, err := prices.Estimate(in)
	require.NoError(t, err)
	return e
}

// make cost and the estimatedMonthlyCost output price the config; the
// policy prices the graph. For every shipped stack they must agree, so a
// pool (or load balancer) the code adds without the config saying so
// shows up here first.
func TestCostInputMatchesTheGraph(t *testing.T) {
	tests := []struct {
		name, stack string
		edits       map[string]string
	}{
		{name: "dev", stack: "dev"}, {name: "prod", stack: "prod"}, {name: "pr", stack: "pr"},
		// A pool GKE creates from the ComputeClass, between two of ours.
		{name: "dev with a flex-start option", stack: "dev", edits: map[string]string{
			"gke-gpu-platform:cluster": `{"name": "platform-dev", "minVersion": "1.34", "privateNodes": false, "autoscalingProfile": "OPTIMIZE_UTILIZATION"}`,
			"gke-gpu-platform:gpuPool": `{"enabled": true, "spot": true, "maxNodes": 2, "fallbacks": [
				{"machineType": "g2-standard-4", "acceleratorType": "nvidia-l4", "diskType": "pd-balanced", "flexStart": true, "nodeLocations": ["us-central1-a"]},
				{"machineType": "n1-standard-4", "acceleratorType": "nvidia-tesla-t4"}]}`,
		}},
	}
	for _, tt := range tests {
		stack := tt.stack
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := LoadStackFileWith(t, stack, tt.edits)
			require.NoError(t, err)
			fromConfig, err := config.EstimateCost(cfg)
			require.NoError(t, err)
			fromGraph := graphCost(t, runStack(t, stack, tt.edits), cost.Usage{
				FreeTier: cfg.Cost.FreeTier, GPUBusyHours: cfg.Cost.GPUBusyHoursPerMonth, RegistryStorageGB: cfg.Cost.RegistryStorageGb,
				Bursts: config.CostInput(cfg).Bursts, NATDataGB: config.CostInput(cfg).NATDataGB, JobsPerMonth: cfg.Cost.JobsPerMonth,
				FallbackShare: cfg.Cost.FallbackShare,
			})
			assert.Equal(t, fromConfig.Lines, fromGraph.Lines)
			assert.Equal(t, fromConfig.BusyMonthly, fromGraph.BusyMonthly)
			assert.Equal(t, fromConfig.Bursts, fromGraph.Bursts)
			assert.Equal(t, fromConfig.WorstMonthly, fromGraph.WorstMonthly)
		})
	}
}

func lineOf(t *testing.T, e *cost.Estimate, item string) cost.Line {
	t.Helper()
	for _, l := range e.Lines {
		if l.Item == item {
			return l
		}
	}
	t.Fatalf("no line %q", item)
	return cost.Line{}
}

// A stack file that still sets the budget is told where it went.
func TestBudgetIsNotAStackKey(t *testing.T) {
	_, err := LoadStackFileWith(t, "dev", map[string]string{"gke-gpu-platform:cost": `{"monthlyBudget": 250}`})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gke-gpu-platform:cost.monthlyBudget = 250: the budget moved to the policy config: set monthly-budget.monthlyBudget in policy/config/dev.json")
}

// A region the price table lacks fails, naming the key, instead of being
// priced at another region's rates.
func TestUnknownRegionFails(t *testing.T) {
	cfg, err := LoadStackFileWith(t, "prod", map[string]string{"gcp:zone": "europe-west4-a",
		// prod's fallback lists us-central1 zones; a single pool here.
		"gke-gpu-platform:gpuPool": `{"enabled": true, "machineType": "n1-standard-4", "acceleratorType": "nvidia-tesla-t4", "maxNodes": 4}`})
	require.NoError(t, err)
	_, err = config.EstimateCost(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `gcp:zone = "europe-west4-a": no prices for region "europe-west4": internal/cost/prices.json holds us-central1 only`)
}

// make cost says when the GPU pods would fit a cheaper machine type of the
// GPU pool's family: requests and limits both, with GKE's per-node pods.
func TestCostSuggestsASmallerGPUMachine(t *testing.T) {
	tests := []struct {
		name string
		apps string
		want string
	}{
		{name: "dev as shipped: limits of 3 CPU / 8Gi need an n1-standard-4"},
		{name: "a worker that fits an n1-standard-2",
			apps: `[{"name": "gpu-worker", "build": "apps/gpu-worker", "gpu": 1, "queue": {"name": "gpu-jobs", "maxReplicas": 2},
				"resources": {"cpuRequest": "1", "memoryRequest": "2Gi", "cpuLimit": "1", "memoryLimit": "4Gi"}}]`,
			want: "gpuPool.machineType n1-standard-4 could be n1-standard-2: the GPU pods' requests and limits (gpu-worker (1 per node): 1000m CPU, 4096Mi memory) fit it, " +
				"with 1376m CPU, 5243Mi memory left for pods per node, and nvidia-tesla-t4 attaches to it"},
		{name: "no GPU app, no suggestion", apps: `[{"name": "web", "image": "nginx:1.27", "port": 8080}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edits := map[string]string{}
			if tt.apps != "" {
				edits["gke-gpu-platform:apps"] = tt.apps
			}
			values := stackConfig(t, "dev", edits)
			cfg, err := config.Load(config.Values(values), "dev", nil, config.ForReport)
			require.NoError(t, err)
			e, err := config.EstimateCost(cfg)
			require.NoError(t, err)
			if tt.want == "" {
				assert.Empty(t, e.Suggestions)
				return
			}
			require.Len(t, e.Suggestions, 1)
			assert.Contains(t, e.Suggestions[0], tt.want)
		})
	}
}

// The cost page shows dev's report as `make cost` prints it today.
func TestCostPageShowsTodaysDevReport(t *testing.T) {
	page, err := os.ReadFile(filepath.Join("..", "docs", "cost.md"))
	require.NoError(t, err)
	golden, err := os.ReadFile(filepath.Join("testdata", "cost-dev.golden"))
	require.NoError(t, err)
	assert.Contains(t, string(page), string(golden), "docs/cost.md's report is stale: paste `make cost STACK=dev`")
}
