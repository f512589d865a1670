package components

import (
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// LoadBalancerHealthCheckArgs time the Google Cloud health check of one
// GKE Ingress backend. It probes HealthPath on the container's Port (with
// container-native load balancing the check goes to the pod itself) and
// counts only HTTP 200 as healthy. Zero fields take the defaults below.
// Source: cloud.google.com/kubernetes-engine/docs/how-to/ingress-configuration
// ("Customizing health checks": BackendConfig spec.healthCheck).
type LoadBalancerHealthCheckArgs struct {
	// CheckIntervalSec is the time between probes, in seconds; default 10.
	CheckIntervalSec int
	// TimeoutSec is how long one probe waits for its answer, in seconds; default 5.
	TimeoutSec int
	// HealthyThreshold is how many successes in a row make a pod healthy; default 1.
	HealthyThreshold int
	// UnhealthyThreshold is how many failures in a row make it unhealthy; default 3.
	UnhealthyThreshold int
}

// BackendConfigAnnotation on a Service names the BackendConfig of its GKE
// load-balancer backends ({"default": "<name>"}: every port).
const BackendConfigAnnotation = "cloud.google.com/backend-config"

// spec renders BackendConfig's spec.healthCheck for an app serving path on port.
func (h LoadBalancerHealthCheckArgs) spec(path string, port int) map[string]any {
	orDefault := func(v, d int) int {
		if v > 0 {
			return v
		}
		return d
	}
	return map[string]any{"healthCheck": map[string]any{
		"type":               "HTTP",
		"requestPath":        path,
		"port":               port,
		"checkIntervalSec":   orDefault(h.CheckIntervalSec, 10),
		"timeoutSec":         orDefault(h.TimeoutSec, 5),
		"healthyThreshold":   orDefault(h.HealthyThreshold, 1),
		"unhealthyThreshold": orDefault(h.UnhealthyThreshold, 3),
	}}
}

// newBackendConfig declares the load-balancer health check of an app that
// serves path on port.
func newBackendConfig(ctx *pulumi.Context, name string, meta *metav1.ObjectMetaArgs, hc LoadBalancerHealthCheckArgs,
	path string, port int, opts ...pulumi.ResourceOption) (*apiextensions.CustomResource, error) {
	return apiextensions.NewCustomResource(ctx, name, &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String("cloud.google.com/v1"),
		Kind:        pulumi.String("BackendConfig"),
		Metadata:    meta,
		OtherFields: kubernetes.UntypedArgs{"spec": hc.spec(path, port)},
	}, opts...)
}
