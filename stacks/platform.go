package stacks

import (
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/organizations"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/gke-gpu-platform/gke-gpu-platform/components"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/gpuclass"
)

// target is the Kubernetes cluster the apps land on, and what it offers them.
type target struct {
	// provider talks to the cluster.
	provider *kubernetes.Provider
	// pools are the gcp NodePools that must exist before any pod is created:
	// the concrete resources, since a DependsOn on a component resolves to
	// the children it has registered so far (a race, not an ordering).
	pools []pulumi.Resource
	// registry receives built images; nil where nothing can be built.
	registry *components.Registry
	// gke switches the Ingress to GKE's controller and the Services to NEGs.
	gke bool
	// workloadPool is the GKE cluster's Workload Identity pool (its output,
	// so IAM members built on it wait for the cluster); nil off GKE.
	workloadPool pulumi.StringInput
	// budget is the stack's Cloud Billing budget and its topic; nil without one.
	budget *components.Budget
}

// gpuScheduling is how GPU pods find, and are let onto, the GPU nodes: by
// the ComputeClass alone (GKE rejects a pod that selects a class and also
// gke-accelerator, gke-spot or a machine type:
// https://cloud.google.com/kubernetes-engine/docs/concepts/about-custom-compute-classes),
// tolerating the GPU taint and the class's. Effects are spelled the
// Kubernetes way here (the GKE API says NO_SCHEDULE).
var gpuScheduling = components.GPUSchedulingArgs{
	NodeSelector: gpuclass.NodeLabels(),
	Tolerate: []components.TaintArgs{
		{Key: components.GPUTaintKey, Value: components.GPUTaintValue, Effect: "NoSchedule"},
		{Key: gpuclass.Label, Value: gpuclass.Name, Effect: gpuclass.TaintEffect},
	},
}

// newGPUOptions creates a node pool for each GPU option this program
// creates, and the ComputeClass that lists every option in order. It
// returns what GPU pods must wait for: the pools and the class.
func newGPUOptions(ctx *pulumi.Context, cfg config.Config, cluster *components.Cluster, after []pulumi.Resource, labels map[string]string) ([]pulumi.Resource, error) {
	var created []pulumi.Resource
	var priorities []components.ComputeClassPriority
	var names pulumi.StringArray
	for rank, o := range cfg.GPUPool.Options() {
		if o.FlexStart {
			priorities = append(priorities, components.ComputeClassPriority{
				MachineType: o.MachineType, AcceleratorType: o.AcceleratorType, AcceleratorCount: o.AcceleratorCount,
				DriverVersion: o.DriverVersion, FlexStart: true, MaxRunDurationSeconds: o.MaxRunDurationSeconds,
				Zones: zonesOf(cfg, o), DiskType: o.DiskType, DiskSizeGb: o.DiskSizeGb,
			})
			continue
		}
		acc := &components.AcceleratorArgs{Type: o.AcceleratorType, Count: o.AcceleratorCount, DriverVersion: o.DriverVersion}
		if sh := o.Sharing; sh != nil {
			acc.Sharing = &components.GPUSharingArgs{Strategy: sh.Strategy, MaxClientsPerGpu: sh.MaxClientsPerGpu}
		}
		pool, err := components.NewNodePool(ctx, o.Pool, &components.NodePoolArgs{
			Project: cfg.Project, Location: cluster.Location, Cluster: cluster.Name,
			Role:        "gpu",
			MachineType: o.MachineType, DiskType: o.DiskType, DiskSizeGb: o.DiskSizeGb,
			MinNodes: o.MinNodes, MaxNodes: o.MaxNodes,
			LocationPolicy: o.LocationPolicy, NodeLocations: o.NodeLocations,
			Spot:           o.Spot,
			ServiceAccount: cluster.NodeServiceAccountEmail,
			ComputeClass:   gpuclass.Name,
			GPUOption:      rank + 1,
			Accelerator:    acc,
			ResourceLabels: labels,
			PrivateNodes:   cfg.Cluster.PrivateNodes,
			ImageStreaming: o.ImageStreaming,
		},
			// After the CPU pool, so system pods never start on a GPU node.
			pulumi.DependsOn(after))
		if err != nil {
			return nil, err
		}
		created = append(created, pool.Resource())
		priorities = append(priorities, components.ComputeClassPriority{NodePool: pool.Name})
		names = append(names, pool.Name)
		if o.Pool == config.GPUPoolName {
			ctx.Export("gpuPoolName", pool.Name)
		}
	}
	class, err := components.NewComputeClass(ctx, gpuclass.Name, &components.ComputeClassArgs{
		Priorities:           priorities,
		WhenUnsatisfiable:    cfg.GPUPool.WhenUnsatisfiable,
		OptimizeRulePriority: cfg.GPUPool.OptimizeRulePriority,
		NodeServiceAccount:   cluster.NodeServiceAccountEmail,
		ImageStreaming:       cfg.GPUPool.ImageStreaming,
	}, pulumi.Provider(cluster.Provider))
	if err != nil {
		return nil, err
	}
	ctx.Export("gpuPoolNames", names)
	ctx.Export("computeClass", class.Name)
	return append(created, class.Resource()), nil
}

// zonesOf are the zones a GPU option's nodes may run in.
func zonesOf(cfg config.Config, o config.GPUOption) []string {
	if len(o.NodeLocations) > 0 {
		return o.NodeLocations
	}
	return []string{cfg.Zone}
}

// newGKETarget creates the free zonal cluster, its CPU and GPU pools and the image registry.
func newGKETarget(ctx *pulumi.Context, cfg config.Config) (*target, error) {
	labels := map[string]string{"platform": "gke-gpu-platform", "stack": config.LabelValue(cfg.Stack)}

	cluster, err := components.NewCluster(ctx, "cluster", &components.ClusterArgs{
		Project:            cfg.Project,
		Location:           cfg.ClusterLocation(),
		ClusterName:        cfg.Cluster.Name,
		ReleaseChannel:     cfg.Cluster.ReleaseChannel,
		MinVersion:         cfg.Cluster.MinVersion,
		GPUMetrics:         cfg.Cluster.GPUMetrics,
		CostAllocation:     cfg.Cluster.CostAllocation,
		DeletionProtection: cfg.Cluster.DeletionProtection,
		Protect:            cfg.Cluster.Protect,
		MaintenanceStart:   cfg.Cluster.MaintenanceStart,
		Network:            cfg.Cluster.Network,
		Subnetwork:         cfg.Cluster.Subnetwork,
		DataplaneV2:        cfg.Cluster.DataplaneV2,
		AutoscalingProfile: cfg.Cluster.AutoscalingProfile,
		ImageStreaming:     cfg.GPUPool.Enabled && cfg.GPUPool.ImageStreaming,
		PrivateNodes:       cfg.Cluster.PrivateNodes,
		ResourceLabels:     labels,
	})
	if err != nil {
		return nil, err
	}

	cpu, err := components.NewNodePool(ctx, "cpu", &components.NodePoolArgs{
		Project:        cfg.Project,
		Location:       cluster.Location,
		Cluster:        cluster.Name,
		Role:           "cpu",
		MachineType:    cfg.CPUPool.MachineType,
		DiskType:       cfg.CPUPool.DiskType,
		DiskSizeGb:     cfg.CPUPool.DiskSizeGb,
		MinNodes:       cfg.CPUPool.MinNodes,
		MaxNodes:       cfg.CPUPool.MaxNodes,
		LocationPolicy: "BALANCED",
		Spot:           cfg.CPUPool.Spot,
		ServiceAccount: cluster.NodeServiceAccountEmail,
		ResourceLabels: labels,
		PrivateNodes:   cfg.Cluster.PrivateNodes,
	},
		// A private node's first pull needs the NAT; the NAT goes only once
		// no pool is private (Pulumi deletes after every update).
		pulumi.DependsOn(cluster.Egress))
	if err != nil {
		return nil, err
	}
	pools := []pulumi.Resource{cpu.Resource()}
	ctx.Export("clusterName", cluster.Name)
	ctx.Export("zone", pulumi.String(cfg.Zone))
	ctx.Export("endpoint", cluster.Endpoint)
	ctx.Export("kubeconfig", cluster.Kubeconfig)
	ctx.Export("cpuPoolName", cpu.Name)

	if cfg.GPUPool.Enabled {
		gpu, err := newGPUOptions(ctx, cfg, cluster, append([]pulumi.Resource{cpu.Resource()}, cluster.Egress...), labels)
		if err != nil {
			return nil, err
		}
		pools = append(pools, gpu...)
	}

	registry, err := components.NewRegistry(ctx, "registry", &components.RegistryArgs{
		Project:      cfg.Project,
		Location:     cfg.Region(),
		RepositoryID: cfg.Registry.Name,
		KeepVersions: cfg.Registry.KeepVersions,
		Readers:      []pulumi.StringInput{pulumi.Sprintf("serviceAccount:%s", cluster.NodeServiceAccountEmail)},
	})
	if err != nil {
		return nil, err
	}
	ctx.Export("registryUrl", registry.URL)
	t := &target{provider: cluster.Provider, pools: pools, registry: registry, gke: true, workloadPool: cluster.WorkloadPool}

	if b := cfg.Budget; b != nil {
		project := organizations.LookupProjectOutput(ctx, organizations.LookupProjectOutputArgs{ProjectId: pulumi.String(cfg.Project)})
		budget, err := components.NewBudget(ctx, "budget", &components.BudgetArgs{
			Project: cfg.Project, ProjectNumber: project.Number(), BillingAccount: b.BillingAccount,
			DisplayName: cfg.Cluster.Name, TopicName: cfg.Cluster.Name + "-budget",
			Amount: b.Amount, Currency: b.Currency, Thresholds: b.Thresholds, Labels: labels,
		})
		if err != nil {
			return nil, err
		}
		ctx.Export("budgetTopic", budget.TopicID)
		t.budget = budget
	}
	return t, nil
}

// newLocalTarget points the apps at an existing cluster from a kubeconfig:
// no Google account, no registry, prebuilt images only.
func newLocalTarget(ctx *pulumi.Context, cfg config.Config) (*target, error) {
	args := &kubernetes.ProviderArgs{}
	if cfg.Local.Kubeconfig != "" {
		// A path or the file's contents; the provider accepts either.
		args.Kubeconfig = pulumi.String(cfg.Local.Kubeconfig)
	}
	if cfg.Local.Context != "" {
		args.Context = pulumi.String(cfg.Local.Context)
	}
	provider, err := kubernetes.NewProvider(ctx, "local", args)
	if err != nil {
		return nil, err
	}
	return &target{provider: provider}, nil
}
