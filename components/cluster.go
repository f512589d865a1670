// Package components holds the platform's reusable ComponentResources: the
// cluster, its node pools, the image registry, the apps and the ingress. They
// know nothing of stacks or config files; stacks/ wires them together.
package components

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/container"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/projects"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/serviceaccount"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/gcpcompute"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/kubeconfig"
)

// NodeRoles are the only project roles the node service account gets: the
// role GKE documents as the minimum for node service accounts ("Kubernetes
// Engine Default Node Service Account": logs, metrics, and the autoscaling
// metrics a hand-picked list missed). Image pulls are granted on the
// registry repository itself (see Registry).
var NodeRoles = []string{"roles/container.defaultNodeServiceAccount"}

// ImageStreamingRole is the role GKE's image streaming needs on the node
// service account when it is not the default one: "Service Usage Consumer
// (roles/serviceusage.serviceUsageConsumer) in the project that hosts the
// container images" (cloud.google.com/kubernetes-engine/docs/how-to/image-streaming,
// requirements). The images are in this project's Artifact Registry.
const ImageStreamingRole = "roles/serviceusage.serviceUsageConsumer"

// ClusterArgs configures a GKE Standard cluster.
type ClusterArgs struct {
	// Project is the Google Cloud project ID.
	Project string
	// Location is a zone (us-central1-a) for the free tier's one zonal control
	// plane, or a region for a billed regional one.
	Location string
	// ClusterName is the GKE cluster name.
	ClusterName string
	// ReleaseChannel is RAPID, REGULAR, STABLE or EXTENDED.
	ReleaseChannel string
	// MinVersion is the lowest control plane version (minMasterVersion):
	// GKE upgrades a cluster below it and leaves one above it alone. Empty:
	// the channel's default.
	MinVersion string
	// DeletionProtection makes GKE refuse to delete the cluster.
	DeletionProtection bool
	// Protect sets Pulumi's protect option on the cluster resource.
	Protect bool
	// MaintenanceStart is the daily maintenance window start, "HH:MM" UTC.
	MaintenanceStart string
	// Network is the VPC network name.
	Network string
	// Subnetwork is the nodes' subnetwork in the cluster's region; empty
	// uses the one named like the network (an auto-mode network's).
	Subnetwork string
	// ResourceLabels are GCP labels on the cluster (they show on the bill).
	ResourceLabels map[string]string
	// DataplaneV2 runs GKE Dataplane V2 (eBPF), which enforces NetworkPolicy
	// at no extra charge. GKE sets it only at creation: flipping it on an
	// existing cluster replaces the cluster.
	DataplaneV2 bool
	// AutoscalingProfile is the cluster autoscaler's profile: BALANCED (GKE's
	// default) or OPTIMIZE_UTILIZATION, which removes underused nodes sooner
	// (a GPU node stops billing earlier after its last pod) and is meant for
	// batch rather than serving workloads. Empty leaves GKE's default.
	// Updatable in place. Source: cloud.google.com/kubernetes-engine/docs/concepts/cluster-autoscaler#autoscaling_profiles
	AutoscalingProfile string
	// ImageStreaming says some node pool streams images: the node service
	// account then also gets ImageStreamingRole.
	ImageStreaming bool
	// GPUMetrics turns on GKE's managed DCGM metrics (GPU utilisation,
	// memory) through Managed Service for Prometheus: monitoringConfig's
	// enableComponents DCGM and managedPrometheus. It needs GKE-managed
	// drivers. https://cloud.google.com/kubernetes-engine/docs/how-to/dcgm-metrics
	GPUMetrics bool
	// CostAllocation turns on GKE cost allocation (costManagementConfig):
	// the billing export to BigQuery splits the cluster's cost by namespace
	// and workload. https://cloud.google.com/kubernetes-engine/docs/how-to/cost-allocations
	CostAllocation bool
	// PrivateNodes says the node pools have internal addresses only: the
	// node subnetwork must then have Private Google Access on (NewCluster
	// fails otherwise, before registering anything), and the cluster gets a
	// Cloud Router and a Cloud NAT gateway for that subnetwork alone.
	PrivateNodes bool
}

// Cluster is a GKE cluster with its default pool removed, a least-privilege
// node service account, and a Kubernetes provider that talks to it.
type Cluster struct {
	pulumi.ResourceState

	// Name is the GKE cluster name.
	Name pulumi.StringOutput `pulumi:"name"`
	// Location is the cluster's zone (or region).
	Location pulumi.StringOutput `pulumi:"location"`
	// Endpoint is the control plane's IP.
	Endpoint pulumi.StringOutput `pulumi:"endpoint"`
	// CACertificate is the base64-encoded cluster CA.
	CACertificate pulumi.StringOutput `pulumi:"caCertificate"`
	// Kubeconfig is a secret kubeconfig using gke-gcloud-auth-plugin.
	Kubeconfig pulumi.StringOutput `pulumi:"kubeconfig"`
	// NodeServiceAccountEmail is the email of the nodes' service account.
	NodeServiceAccountEmail pulumi.StringOutput `pulumi:"nodeServiceAccountEmail"`
	// WorkloadPool is the cluster's Workload Identity pool, <project>.svc.id.goog,
	// as the cluster reports it: members built on it (WorkloadIdentityMember)
	// depend on the cluster, which is what creates the pool.
	WorkloadPool pulumi.StringOutput `pulumi:"workloadPool"`
	// Provider is a Kubernetes provider for this cluster.
	Provider *kubernetes.Provider `pulumi:"-"`
	// Egress is what private pools must be created after and deleted
	// before (the Cloud NAT gateway); empty with public nodes.
	Egress []pulumi.Resource `pulumi:"-"`
}

// NewCluster creates the cluster, its node service account and a Kubernetes provider.
func NewCluster(ctx *pulumi.Context, name string, args *ClusterArgs, opts ...pulumi.ResourceOption) (*Cluster, error) {
	var sub *gcpcompute.Subnetwork
	if args.PrivateNodes {
		var err error
		if sub, err = nodeSubnetwork(ctx, args); err != nil {
			return nil, err
		}
	}
	c := &Cluster{}
	if err := ctx.RegisterComponentResource("gke-gpu-platform:index:Cluster", name, c, opts...); err != nil {
		return nil, err
	}
	parent := childOf(c, opts)

	// Never the Compute Engine default account: it has project Editor.
	nodeSA, err := serviceaccount.NewAccount(ctx, name+"-nodes", &serviceaccount.AccountArgs{
		Project:     pulumi.String(args.Project),
		AccountId:   pulumi.String(args.ClusterName + "-nodes"),
		DisplayName: pulumi.String(fmt.Sprintf("GKE nodes of %s", args.ClusterName)),
	}, parent)
	if err != nil {
		return nil, err
	}
	member := pulumi.Sprintf("serviceAccount:%s", nodeSA.Email)
	var grants []pulumi.Resource
	roles := NodeRoles
	if args.ImageStreaming {
		roles = append(slices.Clip(roles), ImageStreamingRole)
	}
	for _, role := range roles {
		grant, err := projects.NewIAMMember(ctx, fmt.Sprintf("%s-nodes-%s", name, roleSlug(role)), &projects.IAMMemberArgs{
			Project: pulumi.String(args.Project),
			Role:    pulumi.String(role),
			Member:  member,
		}, parent)
		if err != nil {
			return nil, err
		}
		grants = append(grants, grant)
	}

	clusterArgs := &container.ClusterArgs{
		Project:  pulumi.String(args.Project),
		Name:     pulumi.String(args.ClusterName),
		Location: pulumi.String(args.Location),
		// GKE needs a pool at create time; it is deleted right after, so that
		// every pool is a NodePool this program owns and can change.
		RemoveDefaultNodePool: pulumi.Bool(true),
		InitialNodeCount:      pulumi.Int(1),
		NodeConfig: &container.ClusterNodeConfigArgs{
			ServiceAccount: nodeSA.Email,
			OauthScopes:    pulumi.StringArray{pulumi.String("https://www.googleapis.com/auth/cloud-platform")},
		},
		DeletionProtection: pulumi.Bool(args.DeletionProtection),
		ReleaseChannel:     &container.ClusterReleaseChannelArgs{Channel: pulumi.String(args.ReleaseChannel)},
		MinMasterVersion:   pulumi.StringPtrFromPtr(nonEmpty(args.MinVersion)),
		WorkloadIdentityConfig: &container.ClusterWorkloadIdentityConfigArgs{
			WorkloadPool: pulumi.String(args.Project + ".svc.id.goog"),
		},
		EnableShieldedNodes: pulumi.Bool(true),
		DatapathProvider:    pulumi.String(datapath(args.DataplaneV2)),
		EnableLegacyAbac:    pulumi.Bool(false),
		MasterAuth: &container.ClusterMasterAuthArgs{
			ClientCertificateConfig: &container.ClusterMasterAuthClientCertificateConfigArgs{
				IssueClientCertificate: pulumi.Bool(false),
			},
		},
		// VPC-native: pods get alias IPs, which container-native load
		// balancing (NEGs) behind the Ingress needs.
		NetworkingMode:     pulumi.String("VPC_NATIVE"),
		IpAllocationPolicy: &container.ClusterIpAllocationPolicyArgs{},
		Network:            pulumi.String(args.Network),
		MaintenancePolicy: &container.ClusterMaintenancePolicyArgs{
			DailyMaintenanceWindow: &container.ClusterMaintenancePolicyDailyMaintenanceWindowArgs{
				StartTime: pulumi.String(args.MaintenanceStart),
			},
		},
		// Cloud Logging and Monitoring bill by volume: system components only.
		LoggingConfig: &container.ClusterLoggingConfigArgs{
			EnableComponents: pulumi.StringArray{pulumi.String("SYSTEM_COMPONENTS")},
		},
		MonitoringConfig:     monitoringConfig(args.GPUMetrics),
		CostManagementConfig: &container.ClusterCostManagementConfigArgs{Enabled: pulumi.Bool(args.CostAllocation)},
		ResourceLabels:       pulumi.ToStringMap(args.ResourceLabels),
	}
	if args.Subnetwork != "" {
		clusterArgs.Subnetwork = pulumi.String(args.Subnetwork)
	}
	if args.AutoscalingProfile != "" {
		clusterArgs.ClusterAutoscaling = &container.ClusterClusterAutoscalingArgs{
			// Node auto-provisioning stays off: the pools are declared here.
			Enabled:            pulumi.Bool(false),
			AutoscalingProfile: pulumi.String(args.AutoscalingProfile),
		}
	}
	cluster, err := container.NewCluster(ctx, name, clusterArgs,
		parent, pulumi.Protect(args.Protect), pulumi.DependsOn(grants),
		// The default pool's config only matters at create time.
		pulumi.IgnoreChanges([]string{"nodeConfig", "initialNodeCount"}))
	if err != nil {
		return nil, err
	}

	if args.PrivateNodes {
		nat, err := privateNodeEgress(ctx, name, args, sub, parent)
		if err != nil {
			return nil, err
		}
		c.Egress = []pulumi.Resource{nat}
	}

	c.Name = cluster.Name
	c.Location = cluster.Location
	c.Endpoint = cluster.Endpoint
	c.CACertificate = cluster.MasterAuth.ClusterCaCertificate().Elem().ToStringOutput()
	c.NodeServiceAccountEmail = nodeSA.Email
	c.WorkloadPool = cluster.WorkloadIdentityConfig.WorkloadPool().Elem()
	c.Kubeconfig = pulumi.ToSecret(pulumi.All(cluster.Project, cluster.Location, cluster.Name, cluster.Endpoint, c.CACertificate).
		ApplyT(func(v []any) string {
			// The context name gcloud itself would write.
			contextName := fmt.Sprintf("gke_%s_%s_%s", v[0], v[1], v[2])
			return kubeconfig.GKE(contextName, v[3].(string), v[4].(string))
		})).(pulumi.StringOutput)

	c.Provider, err = kubernetes.NewProvider(ctx, name, &kubernetes.ProviderArgs{
		Kubeconfig: c.Kubeconfig,
		// Server-side apply merges with fields GKE's controllers own.
		EnableServerSideApply: pulumi.Bool(true),
	}, parent)
	if err != nil {
		return nil, err
	}

	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"name":                    c.Name,
		"location":                c.Location,
		"endpoint":                c.Endpoint,
		"caCertificate":           c.CACertificate,
		"kubeconfig":              c.Kubeconfig,
		"nodeServiceAccountEmail": c.NodeServiceAccountEmail,
		"workloadPool":            c.WorkloadPool,
	})
}

// roleSlug turns "roles/logging.logWriter" into "logging-logWriter" for resource names.
func roleSlug(role string) string {
	return strings.ReplaceAll(strings.TrimPrefix(role, "roles/"), ".", "-")
}

// datapath is GKE's name for the dataplane.
func datapath(v2 bool) string {
	if v2 {
		return "ADVANCED_DATAPATH"
	}
	return "LEGACY_DATAPATH"
}

// nonEmpty is nil for "", so an unset field stays unset.
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// monitoringConfig is the cluster's Cloud Monitoring: system components only
// (Monitoring bills by volume), and with gpuMetrics the managed DCGM
// exporter's metrics through Managed Service for Prometheus.
func monitoringConfig(gpuMetrics bool) *container.ClusterMonitoringConfigArgs {
	m := &container.ClusterMonitoringConfigArgs{
		EnableComponents: pulumi.StringArray{pulumi.String("SYSTEM_COMPONENTS")},
	}
	if gpuMetrics {
		m.EnableComponents = append(m.EnableComponents.(pulumi.StringArray), pulumi.String("DCGM"))
		m.ManagedPrometheus = &container.ClusterMonitoringConfigManagedPrometheusArgs{Enabled: pulumi.Bool(true)}
	}
	return m
}
