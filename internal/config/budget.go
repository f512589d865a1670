package config

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/keda"
)

// budgetDefaults fills a budget's unset fields. An empty one is none:
// Pulumi.yaml declares every object key with the default {}, which the
// engine passes whether or not the stack sets it.
func budgetDefaults(c *Config) {
	b := c.Budget
	if b == nil {
		return
	}
	if b.Amount == 0 && b.Currency == "" && b.Thresholds == nil && b.BillingAccount == "" {
		c.Budget = nil
		return
	}
	if b.Currency == "" {
		b.Currency = "USD"
	}
	if b.Thresholds == nil {
		b.Thresholds = []float64{0.5, 0.9, 1}
	}
	if b.CapPercent == 0 {
		b.CapPercent = 100
	}
}

var (
	currencyPattern       = regexp.MustCompile(`^[A-Z]{3}$`)
	billingAccountPattern = regexp.MustCompile(`^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$`)
)

// validateBudget checks the `budget` key.
func (c Config) validateBudget(fail failFunc) {
	b := c.Budget
	if b == nil {
		return
	}
	if b.Amount <= 0 {
		fail("budget.amount", b.Amount, "must be above 0: the budget for each calendar month, in budget.currency")
	}
	if !currencyPattern.MatchString(b.Currency) {
		fail("budget.currency", b.Currency, "must be an ISO 4217 code such as USD: the billing account's currency")
	}
	for i, t := range b.Thresholds {
		if t <= 0 || t > 10 {
			fail(fmt.Sprintf("budget.thresholds[%d]", i), t, "must be a share of budget.amount above 0 and at most 10 (1 is the whole budget)")
		}
	}
	if len(b.Thresholds) != len(slices.Compact(slices.Sorted(slices.Values(b.Thresholds)))) {
		fail("budget.thresholds", b.Thresholds, "must not repeat a threshold")
	}
	if c.Platform == PlatformGKE && !billingAccountPattern.MatchString(b.BillingAccount) {
		fail("budget.billingAccount", fmt.Sprintf("%q", b.BillingAccount), "must be the billing account's ID, XXXXXX-XXXXXX-XXXXXX (`gcloud billing projects describe <project>` shows it)")
	}
	if b.CapPercent < 1 || b.CapPercent > 1000 {
		fail("budget.capPercent", b.CapPercent, "must be 1 to 1000: the share of budget.amount, in percent, at which the spend guard pauses GPU scaling")
	}
	if c.Platform == PlatformLocal && b.BillingAccount != "" {
		fail("budget.billingAccount", b.BillingAccount, "is GKE's: the local platform has no billing account (`bin/local budget` sends budget messages)")
	}
}

// SpendGuardName names the spend guard's namespace, service account, app
// and image.
const SpendGuardName = "spend-guard"

// BudgetStream is the local platform's budget stream, which the spend
// guard reads as it reads the budget's topic on GKE.
const BudgetStream = "budget"

// GuardedScalers are the KEDA objects the spend guard pauses: every GPU
// queue app's ScaledObject (worker mode) or ScaledJob (job mode), as
// "Kind/name".
func (c Config) GuardedScalers() []string {
	var out []string
	for _, a := range c.Apps {
		if a.GPU == 0 || a.Queue == nil {
			continue
		}
		kind := "ScaledObject"
		if a.Queue.Mode == keda.QueueModeJob {
			kind = "ScaledJob"
		}
		out = append(out, kind+"/"+a.Name)
	}
	return out
}
