package components

import (
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ComputeClassReference is GKE's ComputeClass reference: the source of
// every field this component writes.
const ComputeClassReference = "https://cloud.google.com/kubernetes-engine/docs/reference/crds/computeclass"

// ComputeClassPriority is one rule of a ComputeClass, tried in order:
// either a node pool this program created (NodePool), or a node shape GKE
// creates a pool for (the other fields; used for flex-start, which
// pulumi-gcp v7.38.0's NodePool cannot ask for).
type ComputeClassPriority struct {
	// NodePool is a manually created pool's name; GKE allows no other field
	// beside it in the same rule.
	NodePool pulumi.StringInput
	// MachineType of the nodes GKE creates, e.g. g2-standard-4.
	MachineType string
	// AcceleratorType and AcceleratorCount are the GPUs per created node.
	AcceleratorType  string
	AcceleratorCount int
	// DriverVersion is the created nodes' driver: DEFAULT or LATEST (the
	// class writes it lowercase); anything else leaves it to GKE.
	DriverVersion string
	// FlexStart buys the created nodes with flex-start.
	FlexStart bool
	// MaxRunDurationSeconds is how long a created node lives; 0: GKE's
	// default (7 days for flex-start).
	MaxRunDurationSeconds int
	// Zones the created nodes may run in; empty: the cluster's.
	Zones []string
	// DiskType and DiskSizeGb are the created nodes' boot disk.
	DiskType   string
	DiskSizeGb int
}

// ComputeClassArgs declare a custom ComputeClass (cloud.google.com/v1),
// cluster-scoped.
type ComputeClassArgs struct {
	// Priorities are the rules in the order the cluster autoscaler tries
	// them; at least one.
	Priorities []ComputeClassPriority
	// WhenUnsatisfiable is DoNotScaleUp or ScaleUpAnyway.
	WhenUnsatisfiable string
	// OptimizeRulePriority moves pods back to an earlier rule's nodes when
	// they can be had again (active migration); pods annotated
	// cluster-autoscaler.kubernetes.io/safe-to-evict: "false" are never moved.
	OptimizeRulePriority bool
	// NodeServiceAccount is the service account of the node pools the class
	// creates (priorities without NodePool); unused otherwise.
	NodeServiceAccount pulumi.StringInput
	// ImageStreaming turns on image streaming on the pools the class creates.
	ImageStreaming bool
}

// ComputeClass is a GKE custom ComputeClass: pods select it with the node
// selector cloud.google.com/compute-class=<name>.
type ComputeClass struct {
	pulumi.ResourceState

	// Name is the class's name.
	Name pulumi.StringOutput `pulumi:"name"`

	class *apiextensions.CustomResource
}

// Resource is the ComputeClass object itself, to order pods after (see
// NodePool.Resource for why not the component).
func (c *ComputeClass) Resource() pulumi.Resource { return c.class }

// NewComputeClass creates the class; name is also its Kubernetes name.
func NewComputeClass(ctx *pulumi.Context, name string, args *ComputeClassArgs, opts ...pulumi.ResourceOption) (*ComputeClass, error) {
	c := &ComputeClass{}
	if err := ctx.RegisterComponentResource("gke-gpu-platform:index:ComputeClass", name, c, opts...); err != nil {
		return nil, err
	}
	class, err := apiextensions.NewCustomResource(ctx, name, &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String("cloud.google.com/v1"),
		Kind:        pulumi.String("ComputeClass"),
		Metadata:    &metav1.ObjectMetaArgs{Name: pulumi.String(name)},
		OtherFields: kubernetes.UntypedArgs{"spec": computeClassSpec(args)},
	}, childOf(c, opts))
	if err != nil {
		return nil, err
	}
	c.class, c.Name = class, class.Metadata.Name().Elem()
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"name": c.Name})
}

// computeClassSpec is the class's spec: only fields the reference lists
// (TestComputeClassFieldsAreDocumented).
func computeClassSpec(args *ComputeClassArgs) pulumi.Map {
	priorities := pulumi.Array{}
	creates := false
	for _, p := range args.Priorities {
		if p.NodePool != nil {
			priorities = append(priorities, pulumi.Map{"nodepools": pulumi.StringArray{p.NodePool}})
			continue
		}
		creates = true
		gpu := pulumi.Map{"type": pulumi.String(p.AcceleratorType), "count": pulumi.Int(p.AcceleratorCount)}
		if d := strings.ToLower(p.DriverVersion); d == "default" || d == "latest" {
			gpu["driverVersion"] = pulumi.String(d)
		}
		rule := pulumi.Map{"machineType": pulumi.String(p.MachineType), "gpu": gpu}
		if p.FlexStart {
			rule["flexStart"] = pulumi.Map{"enabled": pulumi.Bool(true)}
		}
		if p.MaxRunDurationSeconds > 0 {
			rule["maxRunDurationSeconds"] = pulumi.Int(p.MaxRunDurationSeconds)
		}
		if p.DiskType != "" {
			rule["storage"] = pulumi.Map{"bootDiskType": pulumi.String(p.DiskType), "bootDiskSize": pulumi.Int(p.DiskSizeGb)}
		}
		if len(p.Zones) > 0 {
			rule["location"] = pulumi.Map{"zones": pulumi.ToStringArray(p.Zones)}
		}
		priorities = append(priorities, rule)
	}
	spec := pulumi.Map{
		"priorities":        priorities,
		"whenUnsatisfiable": pulumi.String(args.WhenUnsatisfiable),
		"activeMigration":   pulumi.Map{"optimizeRulePriority": pulumi.Bool(args.OptimizeRulePriority)},
		// Without cluster-wide node auto-provisioning (GKE 1.33.3-gke.1136000+),
		// a rule that is not a pool of ours needs the class to create one.
		"nodePoolAutoCreation": pulumi.Map{"enabled": pulumi.Bool(creates)},
	}
	if creates {
		// The pools GKE creates run as the least-privilege node account,
		// never the Compute Engine default one.
		config := pulumi.Map{"serviceAccount": args.NodeServiceAccount}
		if args.ImageStreaming {
			config["imageStreaming"] = pulumi.Map{"enabled": pulumi.Bool(true)}
		}
		spec["nodePoolConfig"] = config
	}
	return spec
}
