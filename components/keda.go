package components

import (
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/keda"
)

// KEDA's chart, pinned: the CRDs it installs are the API every ScaledObject
// and ScaledJob of the platform is written against.
const (
	// KEDAChartRepo is KEDA's official Helm repository.
	KEDAChartRepo = "https://kedacore.github.io/charts"
	// KEDAChartVersion is the chart version; KEDA's charts track app versions.
	// The same as KEDA_VERSION in tools/versions.env (test/toolchain checks).
	KEDAChartVersion = "2.21.0"
	// KEDAOperatorServiceAccount is the chart's service account of the operator,
	// the process that reads queue backlogs (and so needs the Google identity).
	KEDAOperatorServiceAccount = "keda-operator"
)

// KEDAArgs install KEDA from its Helm chart.
type KEDAArgs struct {
	// Namespace KEDA runs in; created by the release.
	Namespace string
	// NodeSelector keeps KEDA on the CPU pool: a KEDA pod on a GPU node would
	// keep that node (and its bill) up.
	NodeSelector map[string]string
	// GCPServiceAccount, when set, is the Google service account the operator
	// acts as through Workload Identity (to read Pub/Sub backlogs from Cloud
	// Monitoring); no keys are involved.
	GCPServiceAccount pulumi.StringInput
}

// KEDA is the event-driven autoscaler: it turns queue backlogs into replicas
// (and Jobs), from zero and back to zero.
type KEDA struct {
	pulumi.ResourceState

	// Namespace is where KEDA runs.
	Namespace pulumi.StringOutput `pulumi:"namespace"`

	release *helmv3.Release
}

// Resource is the Helm release: order ScaledObjects after it, since it installs their CRDs.
func (k *KEDA) Resource() pulumi.Resource { return k.release }

// NewKEDA installs the chart.
func NewKEDA(ctx *pulumi.Context, name string, args *KEDAArgs, opts ...pulumi.ResourceOption) (*KEDA, error) {
	k := &KEDA{}
	if err := ctx.RegisterComponentResource("gke-gpu-platform:index:KEDA", name, k, opts...); err != nil {
		return nil, err
	}
	resources := pulumi.Map{}
	for pod, r := range keda.Resources {
		resources[pod] = pulumi.Map{
			"requests": pulumi.Map{"cpu": pulumi.String(r.CPURequest), "memory": pulumi.String(r.MemoryRequest)},
			"limits":   pulumi.Map{"cpu": pulumi.String(r.CPULimit), "memory": pulumi.String(r.MemoryLimit)},
		}
	}
	values := pulumi.Map{
		"nodeSelector": pulumi.ToStringMap(args.NodeSelector),
		"resources":    resources,
	}
	if args.GCPServiceAccount != nil {
		// The chart annotates the operator's service account and schedules it
		// where GKE's metadata server serves Workload Identity.
		values["podIdentity"] = pulumi.Map{"gcp": pulumi.Map{
			"enabled":              pulumi.Bool(true),
			"gcpIAMServiceAccount": args.GCPServiceAccount,
		}}
	}
	release, err := helmv3.NewRelease(ctx, name, &helmv3.ReleaseArgs{
		Name:            pulumi.String("keda"),
		Chart:           pulumi.String("keda"),
		Version:         pulumi.String(KEDAChartVersion),
		RepositoryOpts:  &helmv3.RepositoryOptsArgs{Repo: pulumi.String(KEDAChartRepo)},
		Namespace:       pulumi.String(args.Namespace),
		CreateNamespace: pulumi.Bool(true),
		// A failed install rolls back instead of leaving half a KEDA.
		Atomic: pulumi.Bool(true),
		Values: values,
	}, childOf(k, opts))
	if err != nil {
		return nil, err
	}
	k.release = release
	k.Namespace = release.Status.Namespace().Elem()
	return k, ctx.RegisterResourceOutputs(k, pulumi.Map{"namespace": k.Namespace})
}
