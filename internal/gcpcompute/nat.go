package gcpcompute

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Resource tokens of gcp.compute.Router and gcp.compute.RouterNat.
const (
	RouterType    = "gcp:compute/router:Router"
	RouterNATType = "gcp:compute/routerNat:RouterNat"
)

// RouterArgs are the inputs the platform sets on a Cloud Router.
type RouterArgs struct {
	// Project is the Google Cloud project ID.
	Project string
	// Name is the router's name.
	Name string
	// Region is the router's region (the cluster's).
	Region string
	// Network is the VPC network's name.
	Network string
}

// Router is a Cloud Router: here only the NAT gateway's control plane (no
// BGP sessions).
type Router struct {
	pulumi.CustomResourceState

	// Name is the router's name.
	Name pulumi.StringOutput `pulumi:"name"`
}

// NewRouter creates the router.
func NewRouter(ctx *pulumi.Context, name string, args *RouterArgs, opts ...pulumi.ResourceOption) (*Router, error) {
	inputs := pulumi.Map{
		"project": pulumi.String(args.Project),
		"name":    pulumi.String(args.Name),
		"region":  pulumi.String(args.Region),
		"network": pulumi.String(args.Network),
	}
	var r Router
	opts = append([]pulumi.ResourceOption{pulumi.Version(ProviderVersion)}, opts...)
	if err := ctx.RegisterResource(RouterType, name, inputs, &r, opts...); err != nil {
		return nil, err
	}
	return &r, nil
}

// RouterNATArgs are the inputs the platform sets on a Cloud NAT gateway.
type RouterNATArgs struct {
	// Project is the Google Cloud project ID.
	Project string
	// Name is the gateway's name.
	Name string
	// Region is the router's region.
	Region string
	// Router is the Cloud Router's name.
	Router pulumi.StringInput
	// Subnetwork is the self link of the one subnetwork the gateway serves
	// (all its ranges: the nodes' and the pods'). Never every subnetwork of
	// the region: that would claim the ranges of every other cluster and VM
	// in the network, and Cloud NAT serves a range from one gateway only.
	Subnetwork string
}

// RouterNAT is a Cloud NAT gateway for one subnetwork, with addresses Google
// allocates (each billed as an external IPv4).
type RouterNAT struct {
	pulumi.CustomResourceState

	// Name is the gateway's name.
	Name pulumi.StringOutput `pulumi:"name"`
}

// NewRouterNAT creates the gateway.
func NewRouterNAT(ctx *pulumi.Context, name string, args *RouterNATArgs, opts ...pulumi.ResourceOption) (*RouterNAT, error) {
	inputs := pulumi.Map{
		"project": pulumi.String(args.Project),
		"name":    pulumi.String(args.Name),
		"region":  pulumi.String(args.Region),
		"router":  args.Router,
		// Google picks and adds addresses as the nodes need ports.
		"natIpAllocateOption":           pulumi.String("AUTO_ONLY"),
		"sourceSubnetworkIpRangesToNat": pulumi.String("LIST_OF_SUBNETWORKS"),
		"subnetworks": pulumi.Array{pulumi.Map{
			"name":                 pulumi.String(args.Subnetwork),
			"sourceIpRangesToNats": pulumi.ToStringArray([]string{"ALL_IP_RANGES"}),
		}},
	}
	var n RouterNAT
	opts = append([]pulumi.ResourceOption{pulumi.Version(ProviderVersion)}, opts...)
	if err := ctx.RegisterResource(RouterNATType, name, inputs, &n, opts...); err != nil {
		return nil, err
	}
	return &n, nil
}
