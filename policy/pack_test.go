package main

import (
	"context"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type recorder struct{ messages []string }

func (r *recorder) ReportViolation(message, _ string) { r.messages = append(r.messages, message) }

// newTestPack builds the pack the way the engine's ConfigureStack does: a
// context holding the stack name and the stack's config.
func newTestPack(t *testing.T, stack string, config map[string]string) map[string]policyx.ResourceValidationPolicy {
	t.Helper()
	ctx, err := pulumi.NewContext(context.Background(), pulumi.RunInfo{Project: "gke-gpu-platform", Stack: stack, Config: config})
	require.NoError(t, err)
	pack, err := newPack(ctx)
	require.NoError(t, err)
	assert.Equal(t, PackName, pack.Name())
	byName := map[string]policyx.ResourceValidationPolicy{}
	stackPolicies := 0
	for _, p := range pack.Policies() {
		if _, ok := p.(policyx.StackValidationPolicy); ok {
			stackPolicies++
			continue
		}
		rp, ok := p.(policyx.ResourceValidationPolicy)
		require.True(t, ok, "%s is a resource policy", p.Name())
		byName[p.Name()] = rp
	}
	require.Len(t, byName, len(Rules))
	require.Equal(t, len(StackRules), stackPolicies)
	return byName
}

func validate(t *testing.T, p policyx.ResourceValidationPolicy, typ, name string, props property.Map, cfg map[string]any) []string {
	t.Helper()
	rec := &recorder{}
	require.NoError(t, p.Validate(context.Background(), policyx.ResourceValidationArgs{
		Manager:  rec,
		Resource: policyx.AnalyzerResource{Type: typ, Name: name, Properties: props},
		Config:   cfg,
	}))
	return rec.messages
}

func TestPackServesTheRulesThroughPolicyx(t *testing.T) {
	pack := newTestPack(t, "dev", map[string]string{"gcp:zone": "us-central1-a", "gcp:project": "acme-dev"})

	// A GPU pool as the engine sends it at preview: the service account is
	// an output of another resource (computed), the taint missing.
	pool := property.NewMap(map[string]property.Value{
		"initialNodeCount": property.New(0.0),
		"autoscaling":      property.New(property.NewMap(map[string]property.Value{"minNodeCount": property.New(0.0)})),
		"nodeConfig": property.New(property.NewMap(map[string]property.Value{
			"serviceAccount": property.New(property.Computed),
			"guestAccelerators": property.New(property.NewArray([]property.Value{
				property.New(property.NewMap(map[string]property.Value{"type": property.New("nvidia-tesla-t4"), "count": property.New(1.0)})),
			})),
		})),
		"management": property.New(property.NewMap(map[string]property.Value{
			"autoRepair": property.New(true), "autoUpgrade": property.New(true),
		})),
	})
	got := validate(t, pack["gpu-pool-scales-to-zero"], nodePoolType, "gpu", pool, nil)
	require.Len(t, got, 1)
	assert.Contains(t, got[0], `GPU node pool "gpu" lacks the taint`)
	assert.Empty(t, validate(t, pack["node-pool-hardened"], nodePoolType, "gpu", pool, nil),
		"an account created in the stack (unknown at preview) is not the default one")

	// Secret values are read like any other.
	svc := property.NewMap(map[string]property.Value{
		"spec": property.New(property.NewMap(map[string]property.Value{"type": property.New("LoadBalancer").WithSecret(true)})),
	})
	assert.Len(t, validate(t, pack["no-loadbalancer-services"], serviceType, "web", svc, nil), 1)

	// Policy config reaches the rule.
	cluster := property.NewMap(map[string]property.Value{"location": property.New("us-central1")})
	assert.Len(t, validate(t, pack["gke-cluster-zonal"], clusterType, "c", cluster, nil), 1)
	assert.Empty(t, validate(t, pack["gke-cluster-zonal"], clusterType, "c", cluster, map[string]any{"allowRegional": true}))
}

func TestPackReadsTheStackConfig(t *testing.T) {
	// The budget reaches the rule as policy config, through policyx as the
	// engine calls it, and prices the resource it is shown.
	pack := newTestPack(t, "dev", map[string]string{"gcp:zone": "us-central1-a", "gcp:project": "acme-dev"})
	pool := property.NewMap(map[string]property.Value{
		"location": property.New("us-central1-a"),
		"nodeConfig": property.New(property.NewMap(map[string]property.Value{
			"machineType": property.New("n1-standard-4"), "diskType": property.New("pd-standard"), "diskSizeGb": property.New(30.0),
		})),
		"autoscaling": property.New(property.NewMap(map[string]property.Value{"minNodeCount": property.New(1.0), "maxNodeCount": property.New(2.0)})),
	})
	got := validate(t, pack["monthly-budget"], nodePoolType, "cpu", pool, map[string]any{"monthlyBudget": 50.0})
	require.Len(t, got, 1)
	assert.Contains(t, got[0], `with NodePool "cpu" the preview is estimated at $`)
	assert.Contains(t, got[0], `over the budget of $50.00 (policy config monthly-budget.monthlyBudget)`)

	// The prod stack's cluster must be protected; dev's need not be.
	unprotected := property.NewMap(map[string]property.Value{"deletionProtection": property.New(false)})
	assert.Empty(t, validate(t, pack["prod-deletion-protection"], clusterType, "cluster", unprotected, nil))
	prod := newTestPack(t, "prod", map[string]string{"gcp:zone": "us-central1-a", "gcp:project": "acme-prod"})
	assert.Len(t, validate(t, prod["prod-deletion-protection"], clusterType, "cluster", unprotected, nil), 1)
}

// The stack policy sees every resource, through policyx as the engine calls it.
func TestPackServesTheStackRules(t *testing.T) {
	ctx, err := pulumi.NewContext(context.Background(), pulumi.RunInfo{Project: "gke-gpu-platform", Stack: "dev"})
	require.NoError(t, err)
	pack, err := newPack(ctx)
	require.NoError(t, err)
	var deny policyx.StackValidationPolicy
	for _, p := range pack.Policies() {
		if sp, ok := p.(policyx.StackValidationPolicy); ok && p.Name() == "namespace-default-deny" {
			deny = sp
		}
	}
	require.NotNil(t, deny)
	ns := policyx.AnalyzerResource{Type: namespaceType, Name: "dev", Properties: property.NewMap(map[string]property.Value{
		"metadata": property.New(property.NewMap(map[string]property.Value{
			"name":   property.New("dev"),
			"labels": property.New(property.NewMap(map[string]property.Value{"app.kubernetes.io/part-of": property.New("gke-gpu-platform")})),
		})),
	})}
	rec := &recorder{}
	require.NoError(t, deny.Validate(context.Background(), policyx.StackValidationArgs{Manager: rec, Resources: []policyx.AnalyzerResource{ns}}))
	require.Len(t, rec.messages, 1)
	assert.Contains(t, rec.messages[0], `namespace "dev" has no default-deny NetworkPolicy`)
}
