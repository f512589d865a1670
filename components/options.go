package components

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// childOf is the option every child of a component gets: the component as
// its parent, plus the component's own explicit dependencies. Pulumi does
// not hand a component's DependsOn down to its children, so without this a
// component ordered after X (the GPU pool after the CPU pool) would still
// create its resources alongside X. Callers order on concrete
// resources (NodePool.Resource) rather than on components: a component
// dependency expands to the children it has registered so far, and children
// register asynchronously.
func childOf(component pulumi.Resource, opts []pulumi.ResourceOption) pulumi.ResourceOption {
	child := []pulumi.ResourceOption{pulumi.Parent(component)}
	// NewResourceOptions is the SDK's read-only view of options, meant for
	// components; its error is reserved and never set.
	if o, err := pulumi.NewResourceOptions(opts...); err == nil {
		if len(o.DependsOn) > 0 {
			child = append(child, pulumi.DependsOn(o.DependsOn))
		}
		for _, in := range o.DependsOnInputs {
			child = append(child, pulumi.DependsOnInputs(in))
		}
	}
	return pulumi.Composite(child...)
}
