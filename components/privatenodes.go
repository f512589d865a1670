package components

import (
	"fmt"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/container"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/serviceaccount"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/accelerator"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/gcpcompute"
)

// privateNodeNetwork is what nodes without external addresses need: Cloud
// NAT for the internet (images outside Google, such as KEDA's on ghcr.io),
// and a firewall rule for the control plane's calls to webhooks. Google APIs
// and Artifact Registry go through Private Google Access, which GKE enables
// on the subnet of a private cluster it creates in the same project
// (cloud.google.com/kubernetes-engine/docs/concepts/private-cluster-concept).
func privateNodeNetwork(ctx *pulumi.Context, name string, args *ClusterArgs, cluster *container.Cluster, nodeSA *serviceaccount.Account, parent pulumi.ResourceOption) error {
	region := accelerator.Region(args.Location)
	router, err := gcpcompute.NewRouter(ctx, name+"-router", &gcpcompute.RouterArgs{
		Project: args.Project,
		Name:    args.ClusterName + "-router",
		Region:  region,
		Network: args.Network,
	}, parent)
	if err != nil {
		return err
	}
	if _, err := gcpcompute.NewRouterNAT(ctx, name+"-nat", &gcpcompute.RouterNATArgs{
		Project: args.Project,
		Name:    args.ClusterName + "-nat",
		Region:  region,
		Router:  router.Name,
	}, parent); err != nil {
		return err
	}
	if len(args.ControlPlanePorts) == 0 {
		return nil
	}
	// GKE opens only 443 and 10250 from the control plane to private nodes
	// (cloud.google.com/kubernetes-engine/docs/concepts/firewall-rules, the
	// -master rule); other webhook ports need a rule of their own. The
	// source is the control plane's range when it has one (VPC peering), or
	// its private endpoint (Private Service Connect, which has no range).
	_, err = gcpcompute.NewIngressFirewall(ctx, name+"-control-plane-webhooks", &gcpcompute.IngressFirewallArgs{
		Project:     args.Project,
		Name:        args.ClusterName + "-control-plane-webhooks",
		Network:     args.Network,
		Description: fmt.Sprintf("GKE control plane of %s to webhooks on its private nodes", args.ClusterName),
		SourceRanges: pulumi.All(cluster.PrivateClusterConfig.MasterIpv4CidrBlock(), cluster.PrivateClusterConfig.PrivateEndpoint()).
			ApplyT(func(v []any) ([]string, error) {
				return controlPlaneSource(args.ClusterName, deref(v[0]), deref(v[1]))
			}).(pulumi.StringArrayOutput),
		TargetServiceAccounts: pulumi.StringArray{nodeSA.Email},
		TCPPorts:              args.ControlPlanePorts,
	}, parent)
	return err
}

// controlPlaneSource is where the control plane's calls come from. Neither
// known is an error: an ingress rule without a source would allow the
// whole internet.
func controlPlaneSource(cluster, masterCIDR, privateEndpoint string) ([]string, error) {
	switch {
	case masterCIDR != "":
		return []string{masterCIDR}, nil
	case privateEndpoint != "":
		return []string{privateEndpoint + "/32"}, nil
	}
	return nil, fmt.Errorf("cluster %s reports neither privateClusterConfig.masterIpv4CidrBlock nor privateClusterConfig.privateEndpoint: "+
		"cannot scope the control plane's firewall rule; set cluster.privateNodes false", cluster)
}

func deref(v any) string {
	if s, ok := v.(*string); ok && s != nil {
		return *s
	}
	return ""
}
