package components

import (
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// GKE's load balancer proxies and health checks reach pods behind a
// container-native (NEG) Ingress from these ranges
// (cloud.google.com/load-balancing/docs/firewall-rules).
var GKELoadBalancerRanges = []string{"35.191.0.0/16", "130.211.0.0/22"}

// IngressSourceArgs say where the Ingress's traffic enters pods from.
type IngressSourceArgs struct {
	// CIDRs are source ranges (GKE's load balancers and health checks).
	CIDRs []string
	// Namespace is the namespace of an in-cluster ingress controller (ingress-nginx).
	Namespace string
}

// PeerPortArgs are one app a pod connects to, and its port.
type PeerPortArgs struct {
	// App is the peer's app.kubernetes.io/name.
	App string
	// Port is the peer's container port.
	Port int
}

// EgressArgs are one destination outside the cluster's pods.
type EgressArgs struct {
	// CIDR is the destination range.
	CIDR string
	// Ports are the TCP ports allowed.
	Ports []int
}

// AppTrafficArgs are what one app may send and receive.
type AppTrafficArgs struct {
	// App is the app.kubernetes.io/name of its pods.
	App string
	// Port is the container port it serves; 0 for workers.
	Port int
	// Routed means the Ingress sends it traffic.
	Routed bool
	// From are the apps that connect to it (on Port).
	From []string
	// To are the apps it connects to.
	To []PeerPortArgs
	// GoogleAPIs lets it reach the metadata server (its Workload Identity
	// token) and Google's APIs over HTTPS.
	GoogleAPIs bool
	// Egress are other destinations (the local queue, say).
	Egress []EgressArgs
}

// NetworkPolicyArgs configure a namespace's policies.
type NetworkPolicyArgs struct {
	// Namespace the policies apply in.
	Namespace pulumi.StringInput
	// IngressFrom is where the Ingress's traffic comes from.
	IngressFrom IngressSourceArgs
	// Apps are the namespace's apps.
	Apps []AppTrafficArgs
}

// NetworkPolicies deny every connection in and out of the namespace's pods,
// then allow exactly what the graph knows: DNS, the Ingress to routed apps,
// declared app-to-app calls, Google APIs for apps with a Google identity,
// and named destinations. On GKE they take effect with Dataplane V2.
type NetworkPolicies struct {
	pulumi.ResourceState
}

// NewNetworkPolicies creates the policies.
func NewNetworkPolicies(ctx *pulumi.Context, name string, args *NetworkPolicyArgs, opts ...pulumi.ResourceOption) (*NetworkPolicies, error) {
	np := &NetworkPolicies{}
	if err := ctx.RegisterComponentResource("gke-gpu-platform:index:NetworkPolicies", name, np, opts...); err != nil {
		return nil, err
	}
	parent := childOf(np, opts)
	meta := func(policy string) *metav1.ObjectMetaArgs {
		return &metav1.ObjectMetaArgs{Name: pulumi.String(policy), Namespace: args.Namespace,
			Labels: pulumi.StringMap{"app.kubernetes.io/managed-by": pulumi.String("pulumi")}}
	}
	everyPod := &metav1.LabelSelectorArgs{}
	both := pulumi.StringArray{pulumi.String("Ingress"), pulumi.String("Egress")}

	if _, err := networkingv1.NewNetworkPolicy(ctx, "default-deny", &networkingv1.NetworkPolicyArgs{
		Metadata: meta("default-deny"),
		Spec:     &networkingv1.NetworkPolicySpecArgs{PodSelector: everyPod, PolicyTypes: both},
	}, parent); err != nil {
		return nil, err
	}
	dns := networkingv1.NetworkPolicyPortArray{
		&networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("UDP"), Port: pulumi.Int(53)},
		&networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(53)},
	}
	if _, err := networkingv1.NewNetworkPolicy(ctx, "allow-dns", &networkingv1.NetworkPolicyArgs{
		Metadata: meta("allow-dns"),
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: everyPod,
			PolicyTypes: pulumi.StringArray{pulumi.String("Egress")},
			Egress: networkingv1.NetworkPolicyEgressRuleArray{&networkingv1.NetworkPolicyEgressRuleArgs{
				To: networkingv1.NetworkPolicyPeerArray{
					&networkingv1.NetworkPolicyPeerArgs{NamespaceSelector: &metav1.LabelSelectorArgs{
						MatchLabels: pulumi.StringMap{"kubernetes.io/metadata.name": pulumi.String("kube-system")}}},
					// Cloud DNS for GKE answers on the metadata address.
					&networkingv1.NetworkPolicyPeerArgs{IpBlock: &networkingv1.IPBlockArgs{Cidr: pulumi.String("169.254.169.254/32")}},
				},
				Ports: dns,
			}},
		},
	}, parent); err != nil {
		return nil, err
	}

	for _, app := range args.Apps {
		spec := appPolicy(app, args.IngressFrom)
		if spec == nil {
			continue
		}
		if _, err := networkingv1.NewNetworkPolicy(ctx, "allow-"+app.App, &networkingv1.NetworkPolicyArgs{
			Metadata: meta("allow-" + app.App), Spec: spec,
		}, parent); err != nil {
			return nil, err
		}
	}
	return np, ctx.RegisterResourceOutputs(np, pulumi.Map{})
}

func tcp(ports ...int) networkingv1.NetworkPolicyPortArray {
	out := networkingv1.NetworkPolicyPortArray{}
	for _, p := range ports {
		out = append(out, &networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(p)})
	}
	return out
}

func appSelector(app string) *metav1.LabelSelectorArgs {
	return &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"app.kubernetes.io/name": pulumi.String(app)}}
}

func cidr(block string, except ...string) *networkingv1.NetworkPolicyPeerArgs {
	b := &networkingv1.IPBlockArgs{Cidr: pulumi.String(block)}
	if len(except) > 0 {
		// Only when there is one: an empty list would read back as absent, a diff on every up.
		b.Except = pulumi.ToStringArray(except)
	}
	return &networkingv1.NetworkPolicyPeerArgs{IpBlock: b}
}

// appPolicy is one app's allowances; nil when it has none.
func appPolicy(app AppTrafficArgs, ingress IngressSourceArgs) *networkingv1.NetworkPolicySpecArgs {
	in := networkingv1.NetworkPolicyIngressRuleArray{}
	if app.Routed && app.Port > 0 {
		from := networkingv1.NetworkPolicyPeerArray{}
		for _, c := range ingress.CIDRs {
			from = append(from, cidr(c))
		}
		if ingress.Namespace != "" {
			from = append(from, &networkingv1.NetworkPolicyPeerArgs{NamespaceSelector: &metav1.LabelSelectorArgs{
				MatchLabels: pulumi.StringMap{"kubernetes.io/metadata.name": pulumi.String(ingress.Namespace)}}})
		}
		in = append(in, &networkingv1.NetworkPolicyIngressRuleArgs{From: from, Ports: tcp(app.Port)})
	}
	if len(app.From) > 0 && app.Port > 0 {
		from := networkingv1.NetworkPolicyPeerArray{}
		for _, peer := range app.From {
			from = append(from, &networkingv1.NetworkPolicyPeerArgs{PodSelector: appSelector(peer)})
		}
		in = append(in, &networkingv1.NetworkPolicyIngressRuleArgs{From: from, Ports: tcp(app.Port)})
	}
	out := networkingv1.NetworkPolicyEgressRuleArray{}
	for _, peer := range app.To {
		out = append(out, &networkingv1.NetworkPolicyEgressRuleArgs{
			To: networkingv1.NetworkPolicyPeerArray{&networkingv1.NetworkPolicyPeerArgs{PodSelector: appSelector(peer.App)}}, Ports: tcp(peer.Port),
		})
	}
	if app.GoogleAPIs {
		// The GKE metadata server hands out the Workload Identity token: on
		// Dataplane V2 policy sees 169.254.169.254:80, on the legacy
		// dataplane the redirected 169.254.169.252:987/988. Google's APIs have
		// no fixed addresses: HTTPS anywhere outside private ranges.
		out = append(out,
			&networkingv1.NetworkPolicyEgressRuleArgs{To: networkingv1.NetworkPolicyPeerArray{cidr("169.254.169.254/32")}, Ports: tcp(80)},
			&networkingv1.NetworkPolicyEgressRuleArgs{To: networkingv1.NetworkPolicyPeerArray{cidr("169.254.169.252/32")}, Ports: tcp(987, 988)},
			&networkingv1.NetworkPolicyEgressRuleArgs{
				To:    networkingv1.NetworkPolicyPeerArray{cidr("0.0.0.0/0", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16")},
				Ports: tcp(443),
			})
	}
	for _, e := range app.Egress {
		out = append(out, &networkingv1.NetworkPolicyEgressRuleArgs{To: networkingv1.NetworkPolicyPeerArray{cidr(e.CIDR)}, Ports: tcp(e.Ports...)})
	}
	if len(in) == 0 && len(out) == 0 {
		return nil
	}
	spec := &networkingv1.NetworkPolicySpecArgs{PodSelector: appSelector(app.App)}
	types := pulumi.StringArray{}
	if len(in) > 0 {
		spec.Ingress = in
		types = append(types, pulumi.String("Ingress"))
	}
	if len(out) > 0 {
		spec.Egress = out
		types = append(types, pulumi.String("Egress"))
	}
	spec.PolicyTypes = types
	return spec
}
