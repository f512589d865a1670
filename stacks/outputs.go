package stacks

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/cost"
)

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
