package components

import (
	"strconv"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/container"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/gpuclass"
)

// The taint every GPU node carries, and the label every pool carries, so that
// only pods that ask for a GPU (and tolerate it) land on GPU nodes.
const (
	// GPUTaintKey is the taint key GKE and the NVIDIA device plugin use.
	GPUTaintKey = "nvidia.com/gpu"
	// GPUTaintValue is the taint value GKE uses.
	GPUTaintValue = "present"
	// GPUTaintEffect is spelled the GKE API's way; Kubernetes says NoSchedule.
	GPUTaintEffect = "NO_SCHEDULE"
	// PoolLabel names the pool's role (cpu or gpu) on every node; GPU apps
	// select on it. It is known to the autoscaler's node template, so a
	// pending pod that selects it scales the pool up from zero.
	PoolLabel = "gke-gpu-platform/pool"
	// AcceleratorLabel carries the GPU type on GPU nodes.
	AcceleratorLabel = "gke-gpu-platform/accelerator"
	// ImageStreamingImageType is the node image image streaming needs:
	// Container-Optimized OS with containerd (GKE's default image).
	ImageStreamingImageType = "COS_CONTAINERD"
)

// AcceleratorArgs attaches GPUs to every node of a pool.
type AcceleratorArgs struct {
	// Type is the Compute Engine accelerator type, e.g. nvidia-tesla-t4.
	Type string
	// Count is the number of GPUs per node.
	Count int
	// DriverVersion is DEFAULT, LATEST or INSTALLATION_DISABLED. Changing it
	// replaces the pool (a GKE API constraint); the pool's generated name lets
	// the new one come up before the old one goes.
	DriverVersion string
	// Sharing, when set, lets several containers share each GPU (GKE's
	// gpuSharingConfig); each still asks for nvidia.com/gpu: 1.
	// https://cloud.google.com/kubernetes-engine/docs/concepts/timesharing-gpus
	Sharing *GPUSharingArgs
}

// GPUSharingArgs are a GPU pool's gpuSharingConfig.
type GPUSharingArgs struct {
	// Strategy is TIME_SHARING or MPS.
	Strategy string
	// MaxClientsPerGpu is how many containers share one GPU.
	MaxClientsPerGpu int
}

// NodePoolArgs configures one autoscaled GKE node pool.
type NodePoolArgs struct {
	// Project is the Google Cloud project ID.
	Project string
	// Location is the cluster's location (its zone).
	Location pulumi.StringInput
	// Cluster is the cluster's name.
	Cluster pulumi.StringInput
	// Role labels the nodes (PoolLabel): "cpu" or "gpu".
	Role string
	// MachineType of every node.
	MachineType string
	// DiskType is pd-standard, pd-balanced or pd-ssd.
	DiskType string
	// DiskSizeGb is each node's boot disk size.
	DiskSizeGb int
	// MinNodes is the autoscaler's lower bound (0 lets the pool disappear when idle).
	MinNodes int
	// MaxNodes is the autoscaler's upper bound.
	MaxNodes int
	// LocationPolicy is ANY or BALANCED.
	LocationPolicy string
	// NodeLocations are the zones the pool's nodes may run in, all in the
	// cluster's region; empty means the cluster's zone. With more than one,
	// MinNodes and MaxNodes bound the whole pool (GKE's total counts), not
	// each zone, so more zones mean more places to find capacity, not more nodes.
	NodeLocations []string
	// Spot runs the nodes on Spot VMs.
	Spot bool
	// ServiceAccount is the nodes' service account email.
	ServiceAccount pulumi.StringInput
	// GPUOption is the pool's 1-based place in the GPU ComputeClass,
	// labelled on its nodes (gpuclass.OptionLabel) so the pool's rank is
	// known before its generated name is; 0 for none.
	GPUOption int
	// ComputeClass, when set, puts the pool in that custom ComputeClass: its
	// nodes carry the label cloud.google.com/compute-class=<class> and the
	// taint of the same key and value with NO_SCHEDULE, which GKE asks of
	// a manually created pool the class names.
	// https://cloud.google.com/kubernetes-engine/docs/how-to/create-compute-classes
	ComputeClass string
	// Accelerator, when set, makes this a GPU pool: GPUs attached, drivers
	// installed, the nvidia.com/gpu=present:NO_SCHEDULE taint declared.
	Accelerator *AcceleratorArgs
	// ResourceLabels are GCP labels on the nodes' VMs (they show on the bill).
	ResourceLabels map[string]string
	// PrivateNodes gives the nodes internal addresses only
	// (networkConfig.enablePrivateNodes). Updated in place, node by node:
	// pulumi-gcp v7.38.0 wraps terraform-provider-google 5.x, where the
	// node pool's field has had update support since 4.45.0 (its CHANGELOG),
	// while the cluster-level privateClusterConfig.enablePrivateNodes still
	// forces a new cluster (hashicorp/terraform-provider-google#20495).
	PrivateNodes bool
	// ImageStreaming turns on GKE image streaming (gcfsConfig) on a
	// Container-Optimized OS containerd image: large images from Artifact
	// Registry start while they stream. In pulumi-gcp v7.38.0 changing it
	// replaces the pool (gcfs_config was ForceNew until
	// GoogleCloudPlatform/magic-modules#11553 and #11717, provider 6.x); the
	// generated name makes that create-before-delete. Source:
	// cloud.google.com/kubernetes-engine/docs/how-to/image-streaming
	ImageStreaming bool
}

// NodePool is a GKE node pool with autoscaling, auto-repair and auto-upgrade.
type NodePool struct {
	pulumi.ResourceState

	// Name is the pool's generated name (prefix plus random suffix).
	Name pulumi.StringOutput `pulumi:"name"`

	pool *container.NodePool
}

// Resource is the gcp NodePool itself. Order things after the pool with
// pulumi.DependsOn([]pulumi.Resource{p.Resource()}): a DependsOn on the
// component resolves to the children it has registered so far, and children
// register asynchronously, so that ordering would be a race.
func (p *NodePool) Resource() pulumi.Resource { return p.pool }

// NewNodePool creates the pool.
func NewNodePool(ctx *pulumi.Context, name string, args *NodePoolArgs, opts ...pulumi.ResourceOption) (*NodePool, error) {
	p := &NodePool{}
	if err := ctx.RegisterComponentResource("gke-gpu-platform:index:NodePool", name, p, opts...); err != nil {
		return nil, err
	}

	labels := pulumi.StringMap{PoolLabel: pulumi.String(args.Role)}
	if args.GPUOption > 0 {
		labels[gpuclass.OptionLabel] = pulumi.String(strconv.Itoa(args.GPUOption))
	}
	taints := container.NodePoolNodeConfigTaintArray{}
	if class := args.ComputeClass; class != "" {
		labels[gpuclass.Label] = pulumi.String(class)
		taints = append(taints, &container.NodePoolNodeConfigTaintArgs{
			Key: pulumi.String(gpuclass.Label), Value: pulumi.String(class), Effect: pulumi.String(GPUTaintEffect),
		})
	}
	nodeConfig := &container.NodePoolNodeConfigArgs{
		MachineType:    pulumi.String(args.MachineType),
		DiskType:       pulumi.String(args.DiskType),
		DiskSizeGb:     pulumi.Int(args.DiskSizeGb),
		Spot:           pulumi.Bool(args.Spot),
		ServiceAccount: args.ServiceAccount,
		// Access is governed by the service account's IAM roles, not scopes.
		OauthScopes: pulumi.StringArray{pulumi.String("https://www.googleapis.com/auth/cloud-platform")},
		ShieldedInstanceConfig: &container.NodePoolNodeConfigShieldedInstanceConfigArgs{
			EnableSecureBoot:          pulumi.Bool(true),
			EnableIntegrityMonitoring: pulumi.Bool(true),
		},
		// Pods see the Workload Identity metadata server, never the node's credentials.
		WorkloadMetadataConfig: &container.NodePoolNodeConfigWorkloadMetadataConfigArgs{
			Mode: pulumi.String("GKE_METADATA"),
		},
		ResourceLabels: pulumi.ToStringMap(args.ResourceLabels),
	}
	if args.ImageStreaming {
		nodeConfig.ImageType = pulumi.String(ImageStreamingImageType)
		nodeConfig.GcfsConfig = &container.NodePoolNodeConfigGcfsConfigArgs{Enabled: pulumi.Bool(true)}
	}
	initialNodes := args.MinNodes
	if acc := args.Accelerator; acc != nil {
		labels[AcceleratorLabel] = pulumi.String(acc.Type)
		guest := &container.NodePoolNodeConfigGuestAcceleratorArgs{
			Type:  pulumi.String(acc.Type),
			Count: pulumi.Int(acc.Count),
			GpuDriverInstallationConfig: &container.NodePoolNodeConfigGuestAcceleratorGpuDriverInstallationConfigArgs{
				GpuDriverVersion: pulumi.String(acc.DriverVersion),
			},
		}
		if sh := acc.Sharing; sh != nil {
			guest.GpuSharingConfig = &container.NodePoolNodeConfigGuestAcceleratorGpuSharingConfigArgs{
				GpuSharingStrategy:     pulumi.String(sh.Strategy),
				MaxSharedClientsPerGpu: pulumi.Int(sh.MaxClientsPerGpu),
			}
		}
		nodeConfig.GuestAccelerators = container.NodePoolNodeConfigGuestAcceleratorArray{guest}
		// GKE adds this taint by itself only when a non-GPU pool already
		// exists at create time, and never afterwards: declare it always.
		taints = append(container.NodePoolNodeConfigTaintArray{&container.NodePoolNodeConfigTaintArgs{
			Key:    pulumi.String(GPUTaintKey),
			Value:  pulumi.String(GPUTaintValue),
			Effect: pulumi.String(GPUTaintEffect),
		}}, taints...)
		// A GPU pool starts empty: nothing is billed until a GPU pod is pending.
		initialNodes = 0
	}
	nodeConfig.Labels = labels
	if len(taints) > 0 {
		nodeConfig.Taints = taints
	}

	pool, err := container.NewNodePool(ctx, name, &container.NodePoolArgs{
		Project:  pulumi.String(args.Project),
		Location: args.Location,
		Cluster:  args.Cluster,
		// A generated name (prefix + suffix) lets a replacement pool be created
		// before the old one is deleted: workloads move, nothing goes down.
		NamePrefix:       pulumi.String(name + "-"),
		InitialNodeCount: pulumi.Int(initialNodes),
		Autoscaling:      autoscaling(args),
		// Unset unless listed: an empty list would read back as a diff
		// against the zone GKE fills in.
		NodeLocations: nodeLocations(args.NodeLocations),
		Management: &container.NodePoolManagementArgs{
			AutoRepair:  pulumi.Bool(true),
			AutoUpgrade: pulumi.Bool(true),
		},
		UpgradeSettings: &container.NodePoolUpgradeSettingsArgs{
			Strategy:       pulumi.String("SURGE"),
			MaxSurge:       pulumi.Int(1),
			MaxUnavailable: pulumi.Int(0),
		},
		NodeConfig: nodeConfig,
		NetworkConfig: &container.NodePoolNetworkConfigArgs{
			EnablePrivateNodes: pulumi.Bool(args.PrivateNodes),
		},
	}, childOf(p, opts),
		// The autoscaler owns the live node count.
		pulumi.IgnoreChanges([]string{"initialNodeCount"}))
	if err != nil {
		return nil, err
	}

	p.pool = pool
	p.Name = pool.Name
	return p, ctx.RegisterResourceOutputs(p, pulumi.Map{"name": p.Name})
}

// autoscaling bounds the pool per zone in its one zone, and in total across
// several: GKE's minNodeCount/maxNodeCount are per zone.
func autoscaling(args *NodePoolArgs) *container.NodePoolAutoscalingArgs {
	a := &container.NodePoolAutoscalingArgs{LocationPolicy: pulumi.String(args.LocationPolicy)}
	if len(args.NodeLocations) > 1 {
		a.TotalMinNodeCount = pulumi.Int(args.MinNodes)
		a.TotalMaxNodeCount = pulumi.Int(args.MaxNodes)
	} else {
		a.MinNodeCount = pulumi.Int(args.MinNodes)
		a.MaxNodeCount = pulumi.Int(args.MaxNodes)
	}
	return a
}

func nodeLocations(zones []string) pulumi.StringArrayInput {
	if len(zones) == 0 {
		return nil
	}
	return pulumi.ToStringArray(zones)
}
