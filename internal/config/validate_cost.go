package config

// validateCost checks the `cost` key: the usage the estimate prices.
func (c Config) validateCost(fail func(key string, value any, rule string, args ...any)) {
	cost := c.Cost
	if cost.GPUBusyHoursPerMonth < 0 || cost.GPUBusyHoursPerMonth > 744 {
		fail("cost.gpuBusyHoursPerMonth", cost.GPUBusyHoursPerMonth, "must be between 0 and 744 (hours in a month)")
	}
	if cost.RegistryStorageGb < 0 {
		fail("cost.registryStorageGb", cost.RegistryStorageGb, "must be >= 0")
	}
	if cost.NATGbPerMonth < 0 {
		fail("cost.natGbPerMonth", cost.NATGbPerMonth, "must be >= 0 (GB a month through Cloud NAT)")
	}
	if b := cost.Bursts; b != nil {
		if b.PerDay <= 0 || b.PerDay > 1440 {
			fail("cost.bursts.perDay", b.PerDay, "must be above 0 and at most 1440 (one burst a minute); leave cost.bursts out for none")
		}
		if b.WorkMinutes <= 0 || b.WorkMinutes > 1440 {
			fail("cost.bursts.workMinutes", b.WorkMinutes, "must be above 0 and at most 1440 (a day)")
		}
		if cost.GPUBusyHoursPerMonth != 0 {
			fail("cost.gpuBusyHoursPerMonth", cost.GPUBusyHoursPerMonth, "cannot be set with cost.bursts, which derives the busy GPU node-hours: keep one")
		}
	}
	if cost.FallbackShare < 0 || cost.FallbackShare > 1 {
		fail("cost.fallbackShare", cost.FallbackShare, "must be between 0 and 1: the chance a GPU option cannot supply a node when asked")
	}
	if cost.MonthlyBudget != 0 {
		fail("cost.monthlyBudget", cost.MonthlyBudget, "the budget moved to the policy config: set monthly-budget.monthlyBudget in policy/config/%s.json "+
			"(enforced from there, not from the stack file a pull request edits) and delete this key", c.Stack)
	}
}
