package stacks

import (
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/gke-gpu-platform/gke-gpu-platform/components"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
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
}

// gpuScheduling is how GPU pods find, and are let onto, the GPU pool. The
// taint's effect is spelled the Kubernetes way here (the GKE API says NO_SCHEDULE).
var gpuScheduling = components.GPUSchedulingArgs{
	NodeSelector: map[string]string{components.PoolLabel: "gpu"},
	TaintKey:     components.GPUTaintKey,
	TaintValue:   components.GPUTaintValue,
	TaintEffect:  "NoSchedule",
}

// newGKETarget creates the free zonal cluster, its CPU and GPU pools and the image registry.
func newGKETarget(ctx *pulumi.Context, cfg config.Config) (*target, error) {
	labels := map[string]string{"platform": "gke-gpu-platform", "stack": config.LabelValue(cfg.Stack)}

	cluster, err := components.NewCluster(ctx, "cluster", &components.ClusterArgs{
		Project:            cfg.Project,
		Location:           cfg.ClusterLocation(),
		ClusterName:        cfg.Cluster.Name,
		ReleaseChannel:     cfg.Cluster.ReleaseChannel,
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

	if g := cfg.GPUPool; g.Enabled {
		gpu, err := components.NewNodePool(ctx, "gpu", &components.NodePoolArgs{
			Project:        cfg.Project,
			Location:       cluster.Location,
			Cluster:        cluster.Name,
			Role:           "gpu",
			MachineType:    g.MachineType,
			DiskType:       g.DiskType,
			DiskSizeGb:     g.DiskSizeGb,
			MinNodes:       g.MinNodes,
			MaxNodes:       g.MaxNodes,
			LocationPolicy: g.LocationPolicy,
			NodeLocations:  g.NodeLocations,
			Spot:           g.Spot,
			ServiceAccount: cluster.NodeServiceAccountEmail,
			Accelerator: &components.AcceleratorArgs{
				Type:          g.AcceleratorType,
				Count:         g.AcceleratorCount,
				DriverVersion: g.DriverVersion,
			},
			ResourceLabels: labels,
			PrivateNodes:   cfg.Cluster.PrivateNodes,
			ImageStreaming: g.ImageStreaming,
		},
			// After the CPU pool, so system pods never start on a GPU node.
			pulumi.DependsOn(append([]pulumi.Resource{cpu.Resource()}, cluster.Egress...)))
		if err != nil {
			return nil, err
		}
		pools = append(pools, gpu.Resource())
		ctx.Export("gpuPoolName", gpu.Name)
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

	return &target{provider: cluster.Provider, pools: pools, registry: registry, gke: true, workloadPool: cluster.WorkloadPool}, nil
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
