package components

import (
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/gcpcompute"
)

// GKE Ingress annotations.
const (
	staticIPAnnotation       = "kubernetes.io/ingress.global-static-ip-name"
	managedCertAnnotation    = "networking.gke.io/managed-certificates"
	frontendConfigAnnotation = "networking.gke.io/v1beta1.FrontendConfig"
	ingressClassAnnotation   = "kubernetes.io/ingress.class"
)

// IngressRoute sends one host and path prefix to a Service.
type IngressRoute struct {
	// Host to match; empty matches any host.
	Host string
	// Path is the URL prefix, e.g. "/api".
	Path string
	// ServiceName is the backend Service.
	ServiceName pulumi.StringInput
	// ServicePort is the backend Service's port.
	ServicePort int
}

// GKEIngressArgs turn on what only GKE's external Application Load Balancer has.
type GKEIngressArgs struct {
	// Project is the Google Cloud project of the static IP.
	Project string
	// StaticIP reserves a global address so DNS survives an Ingress re-create.
	StaticIP bool
	// StaticIPName is that address's name, unique in the project; default <name>-ip.
	StaticIPName string
	// CertificateDomains, when set, get a Google-managed certificate, and
	// plain HTTP is redirected to HTTPS.
	CertificateDomains []string
}

// IngressArgs configures the single Ingress in front of every app.
type IngressArgs struct {
	// Namespace of the Ingress; every backend Service must live there.
	Namespace pulumi.StringInput
	// Routes, in order. Each becomes one rule path.
	Routes []IngressRoute
	// ClassName is the ingressClassName off GKE (e.g. nginx); ignored with GKE.
	ClassName string
	// GKE, when set, targets GKE's built-in Ingress controller.
	GKE *GKEIngressArgs
}

// Ingress is one Ingress (one billed forwarding rule on GKE) for all apps.
type Ingress struct {
	pulumi.ResourceState

	// Address is the load balancer's IP (or hostname) once it is provisioned.
	Address pulumi.StringOutput `pulumi:"address"`
	// StaticIP is the reserved address, empty without one.
	StaticIP pulumi.StringOutput `pulumi:"staticIp"`
}

// NewIngress creates the Ingress and, on GKE, its static IP, certificate and
// HTTPS redirect.
func NewIngress(ctx *pulumi.Context, name string, args *IngressArgs, opts ...pulumi.ResourceOption) (*Ingress, error) {
	in := &Ingress{}
	if err := ctx.RegisterComponentResource("gke-gpu-platform:index:Ingress", name, in, opts...); err != nil {
		return nil, err
	}
	parent := childOf(in, opts)

	annotations := pulumi.StringMap{}
	spec := &networkingv1.IngressSpecArgs{Rules: ingressRules(args.Routes)}
	in.StaticIP = pulumi.String("").ToStringOutput()

	if g := args.GKE; g != nil {
		annotations[ingressClassAnnotation] = pulumi.String("gce")
		if g.StaticIP {
			addrName := g.StaticIPName
			if addrName == "" {
				addrName = name + "-ip"
			}
			addr, err := gcpcompute.NewGlobalAddress(ctx, name+"-ip", &gcpcompute.GlobalAddressArgs{
				Project:     g.Project,
				Name:        addrName,
				Description: "Static IP of the gke-gpu-platform Ingress",
			}, parent)
			if err != nil {
				return nil, err
			}
			annotations[staticIPAnnotation] = addr.Name
			in.StaticIP = addr.Address
		}
		if len(g.CertificateDomains) > 0 {
			meta := &metav1.ObjectMetaArgs{Name: pulumi.String(name), Namespace: args.Namespace}
			if _, err := apiextensions.NewCustomResource(ctx, name+"-cert", &apiextensions.CustomResourceArgs{
				ApiVersion:  pulumi.String("networking.gke.io/v1"),
				Kind:        pulumi.String("ManagedCertificate"),
				Metadata:    meta,
				OtherFields: kubernetes.UntypedArgs{"spec": map[string]any{"domains": g.CertificateDomains}},
			}, parent); err != nil {
				return nil, err
			}
			if _, err := apiextensions.NewCustomResource(ctx, name+"-frontend", &apiextensions.CustomResourceArgs{
				ApiVersion: pulumi.String("networking.gke.io/v1beta1"),
				Kind:       pulumi.String("FrontendConfig"),
				Metadata:   meta,
				OtherFields: kubernetes.UntypedArgs{"spec": map[string]any{
					"redirectToHttps": map[string]any{"enabled": true},
				}},
			}, parent); err != nil {
				return nil, err
			}
			annotations[managedCertAnnotation] = pulumi.String(name)
			annotations[frontendConfigAnnotation] = pulumi.String(name)
		}
	} else if args.ClassName != "" {
		spec.IngressClassName = pulumi.String(args.ClassName)
	}

	ing, err := networkingv1.NewIngress(ctx, name, &networkingv1.IngressArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:        pulumi.String(name),
			Namespace:   args.Namespace,
			Annotations: annotations,
			Labels: pulumi.StringMap{
				"app.kubernetes.io/part-of":    pulumi.String("gke-gpu-platform"),
				"app.kubernetes.io/managed-by": pulumi.String("pulumi"),
			},
		},
		Spec: spec,
	}, parent)
	if err != nil {
		return nil, err
	}

	in.Address = ing.Status.ApplyT(func(s *networkingv1.IngressStatus) string {
		if s == nil || s.LoadBalancer == nil || len(s.LoadBalancer.Ingress) == 0 {
			return ""
		}
		lb := s.LoadBalancer.Ingress[0]
		if lb.Ip != nil {
			return *lb.Ip
		}
		if lb.Hostname != nil {
			return *lb.Hostname
		}
		return ""
	}).(pulumi.StringOutput)

	return in, ctx.RegisterResourceOutputs(in, pulumi.Map{
		"address":  in.Address,
		"staticIp": in.StaticIP,
	})
}

// ingressRules groups routes by host, keeping their order.
func ingressRules(routes []IngressRoute) networkingv1.IngressRuleArray {
	var hosts []string
	paths := map[string]networkingv1.HTTPIngressPathArray{}
	for _, r := range routes {
		if _, seen := paths[r.Host]; !seen {
			hosts = append(hosts, r.Host)
		}
		paths[r.Host] = append(paths[r.Host], &networkingv1.HTTPIngressPathArgs{
			Path:     pulumi.String(r.Path),
			PathType: pulumi.String("Prefix"),
			Backend: &networkingv1.IngressBackendArgs{
				Service: &networkingv1.IngressServiceBackendArgs{
					Name: r.ServiceName,
					Port: &networkingv1.ServiceBackendPortArgs{Number: pulumi.Int(r.ServicePort)},
				},
			},
		})
	}
	rules := networkingv1.IngressRuleArray{}
	for _, h := range hosts {
		rule := &networkingv1.IngressRuleArgs{Http: &networkingv1.HTTPIngressRuleValueArgs{Paths: paths[h]}}
		if h != "" {
			rule.Host = pulumi.String(h)
		}
		rules = append(rules, rule)
	}
	return rules
}
