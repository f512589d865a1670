package gcpcompute

import (
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// FirewallType is the resource token of gcp.compute.Firewall.
const FirewallType = "gcp:compute/firewall:Firewall"

// IngressFirewallArgs are the inputs of one ingress allow rule.
type IngressFirewallArgs struct {
	// Project is the Google Cloud project ID.
	Project string
	// Name is the rule's name.
	Name string
	// Network is the VPC network's name.
	Network string
	// Description is free text.
	Description string
	// SourceRanges are the CIDRs the traffic may come from.
	SourceRanges pulumi.StringArrayInput
	// TargetServiceAccounts are the VMs the rule applies to, by service
	// account email: narrower than every VM of the network.
	TargetServiceAccounts pulumi.StringArrayInput
	// TCPPorts are the destination ports allowed.
	TCPPorts []int
}

// Firewall is a VPC firewall rule.
type Firewall struct {
	pulumi.CustomResourceState

	// Name is the rule's name.
	Name pulumi.StringOutput `pulumi:"name"`
}

// NewIngressFirewall creates a rule that allows TCP ports in from the
// source ranges to the target VMs.
func NewIngressFirewall(ctx *pulumi.Context, name string, args *IngressFirewallArgs, opts ...pulumi.ResourceOption) (*Firewall, error) {
	ports := pulumi.StringArray{}
	for _, p := range args.TCPPorts {
		ports = append(ports, pulumi.String(strconv.Itoa(p)))
	}
	inputs := pulumi.Map{
		"project":               pulumi.String(args.Project),
		"name":                  pulumi.String(args.Name),
		"network":               pulumi.String(args.Network),
		"direction":             pulumi.String("INGRESS"),
		"sourceRanges":          args.SourceRanges,
		"targetServiceAccounts": args.TargetServiceAccounts,
		"allows":                pulumi.Array{pulumi.Map{"protocol": pulumi.String("tcp"), "ports": ports}},
	}
	if args.Description != "" {
		inputs["description"] = pulumi.String(args.Description)
	}
	var f Firewall
	opts = append([]pulumi.ResourceOption{pulumi.Version(ProviderVersion)}, opts...)
	if err := ctx.RegisterResource(FirewallType, name, inputs, &f, opts...); err != nil {
		return nil, err
	}
	return &f, nil
}
