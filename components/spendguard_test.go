package components

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
)

// Every object of the guard is the component's child, and its Role names
// each kind of scaler with exactly its objects.
func TestSpendGuard(t *testing.T) {
	g := run(t, func(ctx *pulumi.Context) error {
		_, err := NewSpendGuard(ctx, "spend-guard", &SpendGuardArgs{
			Name: "spend-guard", AppsNamespace: pulumi.String("apps"), AppsNamespaceName: "apps",
			Scalers: []string{"ScaledObject/gpu-worker", "ScaledJob/render", "ScaledObject/trainer"}, CapPercent: 80,
			Image: "guard@sha256:00", Source: map[string]string{"REDIS_ADDR": "10.0.0.9:6379"},
		})
		return err
	})
	for _, r := range g.Resources {
		if r.Type != "gke-gpu-platform:index:SpendGuard" {
			assert.NotEmpty(t, string(r.Parent), "%s %s has a parent", r.Type, r.Name)
		}
	}
	role := g.One(t, "kubernetes:rbac.authorization.k8s.io/v1:Role")
	assert.Equal(t, []any{
		map[string]any{"apiGroups": []any{""}, "resources": []any{"events"}, "verbs": []any{"create"}},
		map[string]any{"apiGroups": []any{"keda.sh"}, "resources": []any{"scaledobjects"}, "resourceNames": []any{"gpu-worker", "trainer"}, "verbs": []any{"get", "patch"}},
		map[string]any{"apiGroups": []any{"keda.sh"}, "resources": []any{"scaledjobs"}, "resourceNames": []any{"render"}, "verbs": []any{"get", "patch"}},
	}, role.Plain("rules"))
	d := g.One(t, "kubernetes:apps/v1:Deployment")
	assert.Equal(t, "spend-guard", d.Plain("metadata.namespace"), "the guard runs in its own namespace")
}
