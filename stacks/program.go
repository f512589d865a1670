// Package stacks is the platform's graph, read top-down: load config ->
// cost estimate -> cluster -> node pools -> registry -> namespace -> apps ->
// ingress -> outputs. The same Program runs under the Pulumi CLI, the
// Automation API (as an inline program) and unit-test mocks.
package stacks

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
)

// Program is the whole platform for one stack, as the Pulumi CLI's language
// host runs it: the stack's config keys come from its environment
// (config.EngineKeys).
func Program(ctx *pulumi.Context) error {
	return Run(ctx, config.EngineKeys())
}

// Run is the whole platform for one stack whose config sets exactly
// setKeys (full keys, e.g. "gke-gpu-platform:apps"): an unknown one is an
// error. An inline Automation API program, which has no language host to
// pass the keys, names them itself (loopback/engine reads them from the
// stack file the engine reads).
func Run(ctx *pulumi.Context, setKeys []string) error {
	// Everything that can be wrong with the config fails here, before any
	// resource is registered.
	cfg, err := config.Load(ctx, ctx.Stack(), setKeys, config.ForDeploy)
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
