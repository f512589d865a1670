package main

import (
	"context"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
)

// PackName is the pack's name in `pulumi preview` output and policy config.
const PackName = "gke-gpu-platform"

// PackVersion is bumped when a rule changes.
const PackVersion = "0.1.0"

// loadStack reads the stack config the engine passes the pack, the same way
// the program does.
func loadStack(ctx *pulumi.Context) Stack {
	s := Stack{Name: ctx.Stack()}
	cfg, err := config.FromEngine(ctx)
	if err != nil {
		// The program reports the reason; rules that need the config pass.
		return s
	}
	s.Config = &cfg
	return s
}

// newPack serves Rules to the engine, one resource policy each, and
// StackRules, one stack policy each.
func newPack(ctx *pulumi.Context) (policyx.PolicyPack, error) {
	stack := loadStack(ctx)
	state := &runState{}
	policies := make([]policyx.Policy, 0, len(Rules))
	for _, rule := range Rules {
		var schema *policyx.ConfigSchema
		if len(rule.Config) > 0 {
			schema = &policyx.ConfigSchema{Properties: rule.Config}
		}
		policies = append(policies, policyx.NewResourceValidationPolicy(rule.Name, policyx.ResourceValidationPolicyArgs{
			Description:      rule.Description,
			EnforcementLevel: rule.Enforcement,
			ConfigSchema:     schema,
			ValidateResource: func(_ context.Context, args policyx.ResourceValidationArgs) error {
				res := Resource{
					Type:  args.Resource.Type,
					Name:  args.Resource.Name,
					URN:   args.Resource.URN,
					Props: plainMap(args.Resource.Properties),
				}
				for _, msg := range rule.Evaluate(res, stack, args.Config, state) {
					args.Manager.ReportViolation(msg, "")
				}
				return nil
			},
		}))
	}
	for _, rule := range StackRules {
		policies = append(policies, policyx.NewStackValidationPolicy(rule.Name, policyx.StackValidationPolicyArgs{
			Description:      rule.Description,
			EnforcementLevel: rule.Enforcement,
			ValidateStack: func(_ context.Context, args policyx.StackValidationArgs) error {
				resources := make([]Resource, 0, len(args.Resources))
				for _, r := range args.Resources {
					resources = append(resources, Resource{Type: r.Type, Name: r.Name, URN: r.URN, Props: plainMap(r.Properties)})
				}
				for _, msg := range rule.Check(resources) {
					args.Manager.ReportViolation(msg, "")
				}
				return nil
			},
		}))
	}
	return policyx.NewPolicyPack(PackName, semver.MustParse(PackVersion), policyx.EnforcementLevelMandatory, policies)
}
