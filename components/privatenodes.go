package components

import (
	"cmp"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/accelerator"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/gcpcompute"
)

// PrivateGoogleAccessRule is the source of the rule nodeSubnetwork checks:
// image streaming (and any Google API call from a node without an external
// address) needs Private Google Access on the node subnetwork. GKE turns it
// on only for clusters created private, not for pools made private later
// (https://cloud.google.com/kubernetes-engine/docs/concepts/private-cluster-concept).
const PrivateGoogleAccessRule = "https://cloud.google.com/kubernetes-engine/docs/how-to/image-streaming#requirements"

// nodeSubnetwork reads the subnetwork private nodes take their addresses
// from and refuses one without Private Google Access: Google APIs and
// Artifact Registry would then work only through the NAT, image streaming
// not at all. It runs before the cluster registers anything.
func nodeSubnetwork(ctx *pulumi.Context, args *ClusterArgs) (*gcpcompute.Subnetwork, error) {
	name := cmp.Or(args.Subnetwork, args.Network)
	region := accelerator.Region(args.Location)
	sub, err := gcpcompute.LookupSubnetwork(ctx, &gcpcompute.SubnetworkArgs{Project: args.Project, Region: region, Name: name})
	if err != nil {
		return nil, fmt.Errorf("cluster.subnetwork: reading subnetwork %q in %s of project %q: %w", name, region, args.Project, err)
	}
	if !sub.PrivateIPGoogleAccess {
		return nil, fmt.Errorf("cluster.privateNodes: subnetwork %q in %s has Private Google Access off; private nodes need it (%s). "+
			"Turn it on: gcloud compute networks subnets update %s --region %s --project %s --enable-private-ip-google-access",
			name, region, PrivateGoogleAccessRule, name, region, args.Project)
	}
	return sub, nil
}

// privateNodeEgress gives nodes without external addresses a way out: a
// Cloud Router and a Cloud NAT gateway for their subnetwork only (images
// outside Google, such as KEDA's on ghcr.io). Never every subnetwork of the
// region: no other gateway could then exist in the network and region
// (https://cloud.google.com/compute/docs/reference/rest/v1/routers,
// sourceSubnetworkIpRangesToNat). It returns the gateway, which
// every private pool must wait for (created first, deleted last). Nothing
// else is needed: GKE's control plane reaches webhooks through its
// konnectivity agents, from inside the cluster (docs/deploy.md).
func privateNodeEgress(ctx *pulumi.Context, name string, args *ClusterArgs, sub *gcpcompute.Subnetwork, parent pulumi.ResourceOption) (pulumi.Resource, error) {
	region := accelerator.Region(args.Location)
	router, err := gcpcompute.NewRouter(ctx, name+"-router", &gcpcompute.RouterArgs{
		Project: args.Project,
		Name:    args.ClusterName + "-router",
		Region:  region,
		Network: args.Network,
	}, parent)
	if err != nil {
		return nil, err
	}
	return gcpcompute.NewRouterNAT(ctx, name+"-nat", &gcpcompute.RouterNATArgs{
		Project:    args.Project,
		Name:       args.ClusterName + "-nat",
		Region:     region,
		Router:     router.Name,
		Subnetwork: sub.SelfLink,
	}, parent)
}
