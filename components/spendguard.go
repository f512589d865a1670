package components

import (
	"fmt"
	"strings"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// SpendGuardArgs configure the spend guard (apps/spend-guard): its own
// namespace, and a Role in the apps' namespace that lets it get and patch
// the GPU scalers it names, and nothing else.
type SpendGuardArgs struct {
	// Name is the guard's namespace, service account and app name.
	Name string
	// AppsNamespace is where the GPU scalers live (the namespace's output,
	// so the Role waits for it); AppsNamespaceName is its name.
	AppsNamespace     pulumi.StringInput
	AppsNamespaceName string
	// Scalers are the KEDA objects it pauses, "ScaledObject/<name>" or
	// "ScaledJob/<name>"; at least one.
	Scalers []string
	// CapPercent is the share of the budget, in percent, at which it pauses.
	CapPercent int
	// Image is its prebuilt image; Build builds it instead. Neither: the
	// namespace, its service account and RBAC only (no image to run, e.g.
	// on simulated nodes: a guard run elsewhere uses the account's token).
	Image string
	// Build builds and pushes its image (GKE).
	Build *ImageBuildArgs
	// Source is where it reads budget messages: BUDGET_SUBSCRIPTION on GKE,
	// REDIS_ADDR and BUDGET_STREAM locally.
	Source map[string]string
	// GCPServiceAccount is its Google identity (Workload Identity) on GKE.
	GCPServiceAccount pulumi.StringInput
	// Traffic is what its pods may send (DNS is always allowed); nothing
	// may connect to them.
	Traffic AppTrafficArgs
}

// SpendGuard is the spend guard's namespace, RBAC, network policies and
// Deployment.
type SpendGuard struct {
	pulumi.ResourceState

	// Namespace is the guard's namespace.
	Namespace pulumi.StringOutput `pulumi:"namespace"`
}

// NewSpendGuard creates the guard. Kubernetes objects use the provider in
// opts.
func NewSpendGuard(ctx *pulumi.Context, name string, args *SpendGuardArgs, opts ...pulumi.ResourceOption) (*SpendGuard, error) {
	g := &SpendGuard{}
	if err := ctx.RegisterComponentResource("gke-gpu-platform:index:SpendGuard", name, g, opts...); err != nil {
		return nil, err
	}
	parent := childOf(g, opts)
	ns, err := corev1.NewNamespace(ctx, name, &corev1.NamespaceArgs{Metadata: &metav1.ObjectMetaArgs{
		Name: pulumi.String(args.Name),
		Labels: pulumi.StringMap{
			"app.kubernetes.io/part-of":          pulumi.String("gke-gpu-platform"),
			"pod-security.kubernetes.io/enforce": pulumi.String("restricted"),
		},
	}}, parent)
	if err != nil {
		return nil, err
	}
	namespace := ns.Metadata.Name().Elem()
	if err := guardRBAC(ctx, name, args, namespace, parent); err != nil {
		return nil, err
	}
	traffic := args.Traffic
	traffic.App = args.Name
	if _, err := NewNetworkPolicies(ctx, name+"-network", &NetworkPolicyArgs{Namespace: namespace, Apps: []AppTrafficArgs{traffic}}, parent); err != nil {
		return nil, err
	}
	if args.Image == "" && args.Build == nil {
		// No image to run: its account only, for a guard run elsewhere.
		if _, err := corev1.NewServiceAccount(ctx, name, &corev1.ServiceAccountArgs{Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String(args.Name), Namespace: namespace,
		}}, parent); err != nil {
			return nil, err
		}
	} else {
		env := map[string]string{
			"SPEND_GUARD_SCALERS":   strings.Join(args.Scalers, ","),
			"SPEND_GUARD_CAP":       fmt.Sprintf("%g", float64(args.CapPercent)/100),
			"SPEND_GUARD_NAMESPACE": args.AppsNamespaceName,
		}
		for k, v := range args.Source {
			env[k] = v
		}
		if _, err := NewApp(ctx, args.Name, &AppArgs{
			Namespace: namespace, Image: args.Image, Build: args.Build, Replicas: 1,
			Env: env, GCPServiceAccount: args.GCPServiceAccount, KubernetesAPI: true,
			Resources: ResourceArgs{CPURequest: "50m", MemoryRequest: "64Mi", CPULimit: "200m", MemoryLimit: "128Mi",
				EphemeralStorageRequest: "16Mi", EphemeralStorageLimit: "64Mi"},
		}, parent); err != nil {
			return nil, err
		}
	}
	g.Namespace = namespace
	return g, ctx.RegisterResourceOutputs(g, pulumi.Map{"namespace": namespace})
}

// guardRBAC lets the guard's service account get and patch exactly its
// scalers, and record Events, in the apps' namespace.
func guardRBAC(ctx *pulumi.Context, name string, args *SpendGuardArgs, guardNamespace pulumi.StringOutput, parent pulumi.ResourceOption) error {
	byResource := map[string]pulumi.StringArray{}
	for _, s := range args.Scalers {
		kind, obj, _ := strings.Cut(s, "/")
		resource := "scaledobjects"
		if kind == "ScaledJob" {
			resource = "scaledjobs"
		}
		byResource[resource] = append(byResource[resource], pulumi.String(obj))
	}
	rules := rbacv1.PolicyRuleArray{&rbacv1.PolicyRuleArgs{
		ApiGroups: pulumi.StringArray{pulumi.String("")}, Resources: pulumi.StringArray{pulumi.String("events")},
		Verbs: pulumi.StringArray{pulumi.String("create")},
	}}
	for _, resource := range []string{"scaledobjects", "scaledjobs"} {
		if names := byResource[resource]; len(names) > 0 {
			rules = append(rules, &rbacv1.PolicyRuleArgs{
				ApiGroups: pulumi.StringArray{pulumi.String("keda.sh")}, Resources: pulumi.StringArray{pulumi.String(resource)},
				ResourceNames: names, Verbs: pulumi.StringArray{pulumi.String("get"), pulumi.String("patch")},
			})
		}
	}
	meta := &metav1.ObjectMetaArgs{Name: pulumi.String(args.Name), Namespace: args.AppsNamespace}
	if _, err := rbacv1.NewRole(ctx, name, &rbacv1.RoleArgs{Metadata: meta, Rules: rules}, parent); err != nil {
		return err
	}
	_, err := rbacv1.NewRoleBinding(ctx, name, &rbacv1.RoleBindingArgs{
		Metadata: meta,
		RoleRef:  &rbacv1.RoleRefArgs{ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("Role"), Name: pulumi.String(args.Name)},
		Subjects: rbacv1.SubjectArray{&rbacv1.SubjectArgs{
			Kind: pulumi.String("ServiceAccount"), Name: pulumi.String(args.Name), Namespace: guardNamespace,
		}},
	}, parent)
	return err
}
