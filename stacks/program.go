// Package stacks is the platform's graph, read top-down: load config ->
// cost estimate -> cluster -> node pools -> registry -> namespace -> apps ->
// ingress -> outputs. The same Program runs under the Pulumi CLI, the
// Automation API (as an inline program) and unit-test mocks.
package stacks

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Program is the whole platform for one stack.
func Program(ctx *pulumi.Context) error {
	// Everything that can be wrong with the config fails here, before any
	// resource is registered.
	cfg, err := LoadConfig(ctx)
	if err != nil {
		return err
	}
	estimate, err := EstimateCost(cfg)
	if err != nil {
		return err
	}

	var t *target
	switch cfg.Platform {
	case PlatformGKE:
		t, err = newGKETarget(ctx, cfg)
	case PlatformLocal:
		t, err = newLocalTarget(ctx, cfg)
	}
	if err != nil {
		return err
	}
	if err := deployApps(ctx, cfg, t); err != nil {
		return err
	}
	exportCost(ctx, estimate)
	return nil
}
