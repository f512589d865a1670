package stacks

import (
	"errors"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/cost"
)

// CostInput is what the stack's config says it will create, and the usage
// it expects. TestCostInputMatchesTheGraph holds it to the mocked graph.
func CostInput(cfg Config) cost.Input {
	in := cost.Input{
		Region:   cfg.Region(),
		Clusters: []cost.Cluster{{Name: cfg.Cluster.Name, Regional: cfg.Cluster.Regional}},
		FreeTier: cfg.Cost.FreeTier,
		Pools: []cost.Pool{{
			Name:        "cpu",
			MachineType: cfg.CPUPool.MachineType, DiskType: cfg.CPUPool.DiskType, DiskSizeGb: cfg.CPUPool.DiskSizeGb,
			MinNodes: cfg.CPUPool.MinNodes, MaxNodes: cfg.CPUPool.MaxNodes, Spot: cfg.CPUPool.Spot,
		}},
		GPUBusyHours:      cfg.Cost.GPUBusyHoursPerMonth,
		RegistryStorageGB: cfg.Cost.RegistryStorageGb,
	}
	if g := cfg.GPUPool; g.Enabled {
		in.Pools = append(in.Pools, cost.Pool{
			Name:        "gpu",
			MachineType: g.MachineType, DiskType: g.DiskType, DiskSizeGb: g.DiskSizeGb,
			MinNodes: g.MinNodes, MaxNodes: g.MaxNodes, Spot: g.Spot,
			AcceleratorType: g.AcceleratorType, AcceleratorCount: g.AcceleratorCount,
		})
	}
	for _, a := range cfg.Apps {
		if a.Path != "" {
			in.ForwardingRules = 1 // one Ingress for every app
			if cfg.Ingress.StaticIP {
				in.StaticIPs = 1
			}
			break
		}
	}
	return in
}

// EstimateCost prices a GKE stack's config; nil for the local platform,
// which creates nothing billed.
func EstimateCost(cfg Config) (*cost.Estimate, error) {
	if cfg.Platform != PlatformGKE {
		return nil, nil
	}
	prices, err := cost.LoadPrices()
	if err != nil {
		return nil, err
	}
	e, err := prices.Estimate(CostInput(cfg))
	if err != nil {
		if errors.Is(err, cost.ErrUnpricedRegion) {
			return nil, fmt.Errorf("gcp:zone = %q: %w", cfg.Zone, err)
		}
		return nil, fmt.Errorf("%s:%w", ConfigNamespace, err)
	}
	return &e, nil
}

// exportCost puts the estimate in the stack outputs, so every preview diff
// on a pull request shows what the change does to the bill.
func exportCost(ctx *pulumi.Context, e *cost.Estimate) {
	if e == nil {
		return
	}
	lines := pulumi.Array{}
	for _, l := range e.Lines {
		lines = append(lines, pulumi.Map{
			"item": pulumi.String(l.Item), "detail": pulumi.String(l.Detail),
			"idleMonthly": pulumi.Float64(l.Idle), "busyMonthly": pulumi.Float64(l.Busy),
			"guess": pulumi.Bool(l.Guess),
		})
	}
	ctx.Export("estimatedMonthlyCost", pulumi.Map{
		"currency":    pulumi.String("USD"),
		"idleDaily":   pulumi.Float64(e.IdleDaily),
		"idleMonthly": pulumi.Float64(e.IdleMonthly),
		"busyMonthly": pulumi.Float64(e.BusyMonthly),
		"lines":       lines,
		"assumptions": pulumi.ToStringArray(e.Assumptions),
	})
	// One line a preview diff shows as before -> after.
	ctx.Export("estimatedCost", pulumi.Sprintf("idle $%.2f/day ($%.2f/month), busy $%.2f/month", e.IdleDaily, e.IdleMonthly, e.BusyMonthly))
}

// CostTitle is the heading of a stack's cost report.
func CostTitle(cfg Config) string {
	return fmt.Sprintf("Estimated cost of stack %s (%s, %s list prices, USD)", cfg.Stack, cfg.ClusterLocation(), cfg.Region())
}
