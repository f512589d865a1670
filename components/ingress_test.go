package components

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
)

func TestIngress(t *testing.T) {
	routes := []IngressRoute{
		{Host: "", Path: "/", ServiceName: pulumi.String("web"), ServicePort: 80},
		{Host: "api.example.com", Path: "/v1", ServiceName: pulumi.String("api"), ServicePort: 8080},
		{Host: "", Path: "/docs", ServiceName: pulumi.String("docs"), ServicePort: 80},
	}
	tests := []struct {
		name            string
		args            IngressArgs
		wantAnnotations map[string]any
		wantClass       any
		wantTypes       []string
	}{
		{
			name:            "elsewhere",
			args:            IngressArgs{ClassName: "traefik"},
			wantAnnotations: map[string]any{},
			wantClass:       "traefik",
			wantTypes:       []string{"kubernetes:networking.k8s.io/v1:Ingress"},
		},
		{
			name:            "gke plain",
			args:            IngressArgs{ClassName: "ignored", GKE: &GKEIngressArgs{Project: "p"}},
			wantAnnotations: map[string]any{"kubernetes.io/ingress.class": "gce"},
			wantTypes:       []string{"kubernetes:networking.k8s.io/v1:Ingress"},
		},
		{
			name: "gke https",
			args: IngressArgs{GKE: &GKEIngressArgs{Project: "p", StaticIP: true, CertificateDomains: []string{"example.com"}}},
			wantAnnotations: map[string]any{
				"kubernetes.io/ingress.class":                 "gce",
				"kubernetes.io/ingress.global-static-ip-name": "edge-ip",
				"networking.gke.io/managed-certificates":      "edge",
				"networking.gke.io/v1beta1.FrontendConfig":    "edge",
			},
			wantTypes: []string{"kubernetes:networking.k8s.io/v1:Ingress", "gcp:compute/globalAddress:GlobalAddress",
				"kubernetes:networking.gke.io/v1:ManagedCertificate", "kubernetes:networking.gke.io/v1beta1:FrontendConfig"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := run(t, func(ctx *pulumi.Context) error {
				args := tt.args
				args.Namespace = pulumi.String("ns")
				args.Routes = routes
				_, err := NewIngress(ctx, "edge", &args)
				return err
			})
			requireParented(t, g, "gke-gpu-platform:index:Ingress")
			var types []string
			for _, r := range g.Resources {
				if r.Custom {
					types = append(types, r.Type)
				}
			}
			assert.ElementsMatch(t, tt.wantTypes, types)

			ing := g.One(t, "kubernetes:networking.k8s.io/v1:Ingress")
			assert.Equal(t, tt.wantAnnotations, ing.Plain("metadata.annotations"))
			assert.Equal(t, tt.wantClass, ing.Plain("spec.ingressClassName"))
			// Hosts in first-seen order; each path to its own Service and port.
			assert.Equal(t, []any{
				map[string]any{"http": map[string]any{"paths": []any{
					path("/", "web", 80), path("/docs", "docs", 80),
				}}},
				map[string]any{"host": "api.example.com", "http": map[string]any{"paths": []any{
					path("/v1", "api", 8080),
				}}},
			}, ing.Plain("spec.rules"))
		})
	}
}

func path(p, svc string, port float64) map[string]any {
	return map[string]any{
		"path": p, "pathType": "Prefix",
		"backend": map[string]any{"service": map[string]any{"name": svc, "port": map[string]any{"number": port}}},
	}
}
