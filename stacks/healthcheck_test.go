package stacks

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
)

const backendConfigType = "kubernetes:cloud.google.com/v1:BackendConfig"

// Every app a GKE Ingress routes to gets its load-balancer health check
// declared: an HTTP check of its healthPath on its container port, named by
// its Service. Apps without a route get none; the local platform has no
// BackendConfig CRD and gets none at all.
func TestRoutedAppsDeclareTheirLoadBalancerHealthCheck(t *testing.T) {
	for _, stack := range []string{"dev", "prod", "pr", "local"} {
		t.Run(stack, func(t *testing.T) {
			cfg, err := config.LoadStackFile("..", stack)
			if !assert.NoError(t, err) {
				return
			}
			g := runStack(t, stack, nil)
			routed := 0
			for _, a := range cfg.Apps {
				bc, declared := g.Named(backendConfigType, a.Name)
				if stack == "local" || a.Path == "" {
					assert.False(t, declared, "%s: no BackendConfig without a GKE route", a.Name)
					continue
				}
				routed++
				if !assert.True(t, declared, "%s: routed on GKE, so it needs a BackendConfig", a.Name) {
					continue
				}
				assert.Equal(t, map[string]any{"healthCheck": map[string]any{
					"type": "HTTP", "requestPath": a.HealthPath, "port": float64(a.Port),
					"checkIntervalSec": 10.0, "timeoutSec": 5.0, "healthyThreshold": 1.0, "unhealthyThreshold": 3.0,
				}}, bc.Plain("spec"), a.Name)
				assert.Equal(t, cfg.Namespace, bc.Plain("metadata.namespace"))
				svc := named(t, g, serviceType, a.Name)
				annotations := svc.Plain("metadata.annotations").(map[string]any)
				assert.Equal(t, fmt.Sprintf(`{"default": "%s"}`, a.Name), annotations["cloud.google.com/backend-config"], a.Name)
				assert.Equal(t, `{"ingress": true}`, annotations["cloud.google.com/neg"], a.Name)
				assert.Contains(t, strings.Join(svc.Dependencies, " "), backendConfigType+"::"+a.Name, "the Service waits for the BackendConfig it names")
			}
			if stack != "local" {
				assert.Equal(t, 2, routed, "dev, prod and pr route frontend and backend")
			}
		})
	}
}
