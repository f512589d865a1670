package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/graphtest"
	"github.com/gke-gpu-platform/gke-gpu-platform/stacks"
)

// policyConfig reads policy/config/<stack>.json, the file every deploy path
// passes the pack (--policy-pack-config); none for stacks without one.
func policyConfig(t *testing.T, stack string) map[string]map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("config", stack+".json"))
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var cfg map[string]map[string]any
	require.NoError(t, json.Unmarshal(raw, &cfg))
	return cfg
}

// violations runs every rule over the mocked graph of a stack, with the
// stack's policy config, plus any extra resources (as code could add them).
func violations(t *testing.T, stack string, edits map[string]string, extra ...Resource) []string {
	t.Helper()
	return violationsWith(t, stack, edits, policyConfig(t, stack), extra...)
}

func violationsWith(t *testing.T, stack string, edits map[string]string, policyCfg map[string]map[string]any, extra ...Resource) []string {
	t.Helper()
	values, err := config.StackFileConfig("..", stack)
	require.NoError(t, err)
	// The enqueue token a user sets once, encrypted, per stack (make local
	// sets the local stack's).
	values["gke-gpu-platform:secrets"] = `{"enqueueToken": "[secret]"}`
	for k, v := range edits {
		values[k] = v
	}
	g, err := graphtest.Run(t, stacks.Program, stack, values)
	require.NoError(t, err)

	s := Stack{Name: stack}
	if cfg, err := config.LoadStackFile("..", stack); err == nil && len(edits) == 0 {
		s.Config = &cfg
	}
	state := &runState{}
	var out []string
	var all []Resource
	resources := make([]Resource, 0, len(g.Resources)+len(extra))
	for _, r := range g.Resources {
		resources = append(resources, Resource{Type: r.Type, Name: r.Name, URN: string(r.Parent) + "/" + r.Name, Props: r.Inputs.Mappable()})
	}
	for _, res := range append(resources, extra...) {
		all = append(all, res)
		for _, rule := range Rules {
			for _, v := range rule.Evaluate(res, s, policyCfg[rule.Name], state) {
				out = append(out, rule.Name+": "+v)
			}
		}
	}
	for _, rule := range StackRules {
		for _, v := range rule.Check(all) {
			out = append(out, rule.Name+": "+v)
		}
	}
	return out
}

// The stacks this repo ships pass their own policy.
func TestShippedStacksPass(t *testing.T) {
	for _, stack := range []string{"dev", "prod", "pr", "local"} {
		t.Run(stack, func(t *testing.T) {
			assert.Empty(t, violations(t, stack, nil))
		})
	}
}

func TestBadConfigFailsPolicy(t *testing.T) {
	got := violations(t, "dev", map[string]string{
		"gke-gpu-platform:gpuPool": `{"minNodes": 1, "maxNodes": 2}`,
		"gke-gpu-platform:apps":    `[{"name": "web", "image": "nginx:latest", "port": 80, "path": "/"}]`,
	})
	joined := strings.Join(got, "\n")
	assert.Contains(t, joined, `gpu-pool-scales-to-zero: GPU node pool "gpu" has autoscaling.minNodeCount = 1`)
	assert.Contains(t, joined, `images-pinned: container "web" of Deployment "web" uses image "nginx:latest"`)
}

// The budget prices what the preview creates: a node pool added in code,
// which no stack config mentions, is priced and pushes dev over its budget.
func TestBudgetPricesWhatThePreviewCreates(t *testing.T) {
	require.Empty(t, violations(t, "dev", nil), "dev is within its budget as shipped")
	batch := Resource{Type: nodePoolType, Name: "batch", URN: "batch", Props: map[string]any{
		"location":    "us-central1-a",
		"nodeConfig":  map[string]any{"machineType": "n1-standard-8", "diskType": "pd-standard", "diskSizeGb": 50.0},
		"autoscaling": map[string]any{"minNodeCount": 1.0, "maxNodeCount": 3.0},
	}}
	got := strings.Join(violations(t, "dev", nil, batch), "\n")
	assert.Contains(t, got, `monthly-budget: with NodePool "batch" the preview is estimated at $`)
	assert.Contains(t, got, `over the budget of $250.00 (policy config monthly-budget.monthlyBudget)`)
	assert.Contains(t, got, "batch pool nodes $", "the added pool is one of the priced lines")
}

// The budget comes from the policy config, not from the stack file (which
// a pull request edits and which no longer has a budget key).
func TestBudgetComesFromThePolicyConfig(t *testing.T) {
	cfg := policyConfig(t, "dev")
	require.NotNil(t, cfg["monthly-budget"], "policy/config/dev.json sets dev's budget")
	tight := map[string]map[string]any{"monthly-budget": {"monthlyBudget": 50.0, "freeTier": true, "gpuBusyHoursPerMonth": 40.0}}
	got := strings.Join(violationsWith(t, "dev", nil, tight), "\n")
	assert.Contains(t, got, "over the budget of $50.00 (policy config monthly-budget.monthlyBudget)")
	// Usage assumptions come from the same place: more GPU hours, more money.
	assert.Empty(t, violationsWith(t, "dev", nil, map[string]map[string]any{"monthly-budget": {"monthlyBudget": 200.0, "freeTier": true, "gpuBusyHoursPerMonth": 40.0}}))
	assert.NotEmpty(t, violationsWith(t, "dev", nil, map[string]map[string]any{"monthly-budget": {"monthlyBudget": 200.0, "freeTier": true, "gpuBusyHoursPerMonth": 1460.0}}))
	// Without a budget in the policy config nothing is enforced, whatever the stack says.
	assert.Empty(t, violationsWith(t, "dev", nil, nil))
}

// The budget rule and `make cost` price the same month: each stack's policy
// config states the stack file's usage (bursts, NAT traffic, storage), and
// the preview's graph, priced by the rule, comes to the report's busy total
// to the cent: a budget at that total passes, a cent under it fails.
func TestBudgetUsesTheReportsFigures(t *testing.T) {
	for _, stack := range []string{"dev", "prod", "pr"} {
		t.Run(stack, func(t *testing.T) {
			cfg, err := config.LoadStackFile("..", stack)
			require.NoError(t, err)
			e, err := config.EstimateCost(cfg)
			require.NoError(t, err)
			budget := policyConfig(t, stack)["monthly-budget"]
			require.NotNil(t, budget)
			require.NotNil(t, cfg.Cost.Bursts, "the stack file states its bursts")
			assert.Equal(t, cfg.Cost.Bursts.PerDay, budget["burstsPerDay"], "policy/config/%s.json burstsPerDay", stack)
			assert.Equal(t, cfg.Cost.Bursts.WorkMinutes, budget["burstWorkMinutes"], "policy/config/%s.json burstWorkMinutes", stack)
			assert.Equal(t, cfg.Cost.FallbackShare, budget["fallbackShare"], "policy/config/%s.json fallbackShare", stack)

			at := map[string]any{}
			for k, v := range budget {
				at[k] = v
			}
			at["monthlyBudget"] = e.BusyMonthly
			assert.Empty(t, budgetViolations(violationsWith(t, stack, nil, map[string]map[string]any{"monthly-budget": at})))
			at["monthlyBudget"] = e.BusyMonthly - 0.01
			got := budgetViolations(violationsWith(t, stack, nil, map[string]map[string]any{"monthly-budget": at}))
			require.Len(t, got, 1)
			assert.Contains(t, got[0], "over the budget")
		})
	}
}

func budgetViolations(all []string) []string {
	var out []string
	for _, v := range all {
		if strings.HasPrefix(v, "monthly-budget:") {
			out = append(out, v)
		}
	}
	return out
}

// A stack with a budget, and so the spend guard's namespace, RBAC and
// Deployment, passes every rule (its namespace has its default deny).
func TestBudgetStacksPass(t *testing.T) {
	edits := map[string]string{"gke-gpu-platform:budget": `{"amount": 250, "billingAccount": "01A2B3-C4D5E6-F7A8B9"}`}
	assert.Empty(t, violationsWith(t, "dev", edits, nil))
	local := map[string]string{"gke-gpu-platform:budget": `{"amount": 300}`,
		"gke-gpu-platform:local": `{"redisAddress": "127.0.0.1:6379", "images": {"spend-guard": "gke-gpu-platform.local/spend-guard@sha256:00"}}`}
	assert.Empty(t, violationsWith(t, "local", local, nil))
}
