package gcpcompute

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// GetSubnetworkToken is the invoke token of gcp.compute.getSubnetwork.
const GetSubnetworkToken = "gcp:compute/getSubnetwork:getSubnetwork"

// SubnetworkArgs name one subnetwork.
type SubnetworkArgs struct {
	// Project is the Google Cloud project ID.
	Project string `pulumi:"project"`
	// Region is the subnetwork's region.
	Region string `pulumi:"region"`
	// Name is the subnetwork's name.
	Name string `pulumi:"name"`
}

// Subnetwork is what the platform reads of a subnetwork it does not own.
type Subnetwork struct {
	// SelfLink is the subnetwork's URL, as Cloud NAT's subnetwork list wants it.
	SelfLink string `pulumi:"selfLink"`
	// PrivateIPGoogleAccess says VMs without external addresses may reach
	// Google APIs on their internal ones.
	PrivateIPGoogleAccess bool `pulumi:"privateIpGoogleAccess"`
}

// LookupSubnetwork reads a subnetwork (at preview too). A subnetwork that
// does not exist is the provider's error.
func LookupSubnetwork(ctx *pulumi.Context, args *SubnetworkArgs, opts ...pulumi.InvokeOption) (*Subnetwork, error) {
	var s Subnetwork
	opts = append([]pulumi.InvokeOption{pulumi.Version(ProviderVersion)}, opts...)
	if err := ctx.Invoke(GetSubnetworkToken, args, &s, opts...); err != nil {
		return nil, err
	}
	return &s, nil
}
