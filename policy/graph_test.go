package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/graphtest"
	"github.com/gke-gpu-platform/gke-gpu-platform/stacks"
)

// violations runs every rule over the mocked graph of a stack.
func violations(t *testing.T, stack string, edits map[string]string) []string {
	t.Helper()
	values, err := stacks.StackFileConfig("..", stack)
	require.NoError(t, err)
	for k, v := range edits {
		values[k] = v
	}
	g, err := graphtest.Run(t, stacks.Program, stack, values)
	require.NoError(t, err)

	s := Stack{Name: stack}
	if cfg, err := stacks.LoadStackFile("..", stack); err == nil && len(edits) == 0 {
		s.Config = &cfg
		s.Estimate, err = stacks.EstimateCost(cfg)
		require.NoError(t, err)
	}
	state := &runState{}
	var out []string
	var all []Resource
	for _, r := range g.Resources {
		res := Resource{Type: r.Type, Name: r.Name, Props: r.Inputs.Mappable()}
		all = append(all, res)
		for _, rule := range Rules {
			for _, v := range rule.Evaluate(res, s, nil, state) {
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
