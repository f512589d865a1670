// Package stacks is the platform's graph, read top-down: load config ->
// cost estimate -> cluster -> node pools -> registry -> namespace -> apps ->
// ingress -> outputs. The same Program runs under the Pulumi CLI, the
// Automation API (as an inline program) and unit-test mocks.
package stacks

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
)

// Program is the whole platform for one stack.
func Program(ctx *pulumi.Context) error {
	// Everything that can be wrong with the config fails here, before any
	// resource is registered.
	cfg, err := config.FromEngine(ctx)
	if err != nil {
		return err
	}
	estimate, err := config.EstimateCost(cfg)
	if err != nil {
		return err
	}

	var t *target
	switch cfg.Platform {
	case config.PlatformGKE:
		t, err = newGKETarget(ctx, cfg)
	case config.PlatformLocal:
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
