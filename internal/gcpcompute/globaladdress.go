// Package gcpcompute registers the few Compute Engine resources the platform
// needs (a global static IP; a Cloud Router and Cloud NAT gateway for private
// nodes, and a read of their subnetwork) without importing pulumi-gcp's
// compute package.
//
// That package is ~13 MB of generated Go; importing it raised the program's
// cold build from 2.9 GB to 5.2 GB of peak compiler memory (measured: see
// docs/timings.md). The resource is registered by its type token instead, so the
// engine and the real gcp provider see exactly what the SDK would have sent.
package gcpcompute

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// GlobalAddressType is the resource token of gcp.compute.GlobalAddress.
const GlobalAddressType = "gcp:compute/globalAddress:GlobalAddress"

// ProviderVersion is the pulumi-gcp version this program is built against,
// passed so the address shares the default provider of every other gcp
// resource. TestProviderVersionMatchesGoMod keeps it equal to go.mod.
const ProviderVersion = "7.38.0"

// GlobalAddressArgs are the inputs the platform sets.
type GlobalAddressArgs struct {
	// Project is the Google Cloud project ID.
	Project string
	// Name is the address's name; the GKE Ingress refers to it by name.
	Name string
	// Description is free text.
	Description string
	// Labels are GCP labels (they show on the bill).
	Labels map[string]string
}

// GlobalAddress is a reserved external IPv4 address for a global load balancer.
type GlobalAddress struct {
	pulumi.CustomResourceState

	// Address is the reserved IP.
	Address pulumi.StringOutput `pulumi:"address"`
	// Name is the address's name.
	Name pulumi.StringOutput `pulumi:"name"`
}

// NewGlobalAddress reserves the address.
func NewGlobalAddress(ctx *pulumi.Context, name string, args *GlobalAddressArgs, opts ...pulumi.ResourceOption) (*GlobalAddress, error) {
	inputs := pulumi.Map{
		"project":     pulumi.String(args.Project),
		"name":        pulumi.String(args.Name),
		"addressType": pulumi.String("EXTERNAL"),
		"ipVersion":   pulumi.String("IPV4"),
	}
	if args.Description != "" {
		inputs["description"] = pulumi.String(args.Description)
	}
	if len(args.Labels) > 0 {
		inputs["labels"] = pulumi.ToStringMap(args.Labels)
	}
	var addr GlobalAddress
	opts = append([]pulumi.ResourceOption{pulumi.Version(ProviderVersion)}, opts...)
	if err := ctx.RegisterResource(GlobalAddressType, name, inputs, &addr, opts...); err != nil {
		return nil, err
	}
	return &addr, nil
}
