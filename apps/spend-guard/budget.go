package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Notification is a Cloud Billing budget's programmatic notification, the
// JSON data of each Pub/Sub message a budget publishes, several times a
// day: https://cloud.google.com/billing/docs/how-to/budgets-programmatic-notifications
type Notification struct {
	// BudgetDisplayName names the budget.
	BudgetDisplayName string `json:"budgetDisplayName"`
	// CostAmount is the actual cost so far in the budget period, in
	// CurrencyCode.
	CostAmount *float64 `json:"costAmount"`
	// CostIntervalStart is when the budget period began (RFC 3339): a new
	// value means a new period.
	CostIntervalStart string `json:"costIntervalStart"`
	// BudgetAmount is the budget for the period.
	BudgetAmount *float64 `json:"budgetAmount"`
	// BudgetAmountType is SPECIFIED_AMOUNT or LAST_PERIODS_AMOUNT.
	BudgetAmountType string `json:"budgetAmountType"`
	// AlertThresholdExceeded is the highest threshold of actual cost
	// crossed, if any.
	AlertThresholdExceeded *float64 `json:"alertThresholdExceeded"`
	// ForecastThresholdExceeded is the highest threshold of forecast cost
	// crossed, if any: never a reason to pause by itself.
	ForecastThresholdExceeded *float64 `json:"forecastThresholdExceeded"`
	// CurrencyCode is the budget's currency, e.g. USD.
	CurrencyCode string `json:"currencyCode"`
}

// parseNotification reads one message's data; an error names what is
// missing, and the message is acknowledged and logged, never retried.
func parseNotification(data []byte) (Notification, error) {
	var n Notification
	if err := json.Unmarshal(data, &n); err != nil {
		return Notification{}, fmt.Errorf("not a budget notification: %w", err)
	}
	switch {
	case n.CostAmount == nil:
		return Notification{}, errors.New("not a budget notification: no costAmount")
	case n.BudgetAmount == nil || *n.BudgetAmount <= 0:
		return Notification{}, errors.New("not a budget notification: no positive budgetAmount")
	}
	if _, err := time.Parse(time.RFC3339, n.CostIntervalStart); err != nil {
		return Notification{}, fmt.Errorf("not a budget notification: costIntervalStart %q: %w", n.CostIntervalStart, err)
	}
	return n, nil
}

// Action is what the guard does to the GPU scalers.
type Action int

const (
	// Keep leaves them as they are.
	Keep Action = iota
	// Pause stops GPU scaling for the period.
	Pause
	// Resume lets GPU scaling start again.
	Resume
)

func (a Action) String() string {
	return [...]string{"keep", "pause", "resume"}[a]
}

// guardState is what a scaler's annotations say of the guard: the period
// it was paused in, and the period a person resumed it for by hand.
type guardState struct {
	PausedFor, ResumedFor string
	// Latest is the latest period the guard acted in: a message of an
	// earlier one (a late delivery) changes nothing.
	Latest string
	// ByOthers says someone else paused the scaler (KEDA's annotations
	// without the guard's): the guard leaves it alone.
	ByOthers bool
}

// decide is the guard's whole rule. Actual spend at or over the cap
// (capFraction of the budget) pauses the scalers for that period; a
// forecast alone never does, and neither does a period a person resumed by
// hand. A message of a later period under the cap resumes them: the money
// of the period that paused them no longer counts. Repeats change nothing
// (budgets publish several times a day).
func decide(n Notification, capFraction float64, st guardState) (Action, string) {
	limit := *n.BudgetAmount * capFraction
	spent := fmt.Sprintf("%.2f %s spent of a %.2f cap (%.0f%% of the %.2f budget) in the period from %s",
		*n.CostAmount, n.CurrencyCode, limit, 100*capFraction, *n.BudgetAmount, n.CostIntervalStart)
	over := *n.CostAmount >= limit
	pausedFor := st.PausedFor
	switch {
	case st.ByOthers:
		return Keep, "paused by someone else, left alone: " + spent
	case st.Latest != "" && laterPeriod(st.Latest, n.CostIntervalStart):
		return Keep, fmt.Sprintf("a message of a period before the latest one acted in (%s): %s", st.Latest, spent)
	case over && st.ResumedFor == n.CostIntervalStart && pausedFor == "":
		return Keep, "resumed by hand for this period: " + spent
	case over && pausedFor == n.CostIntervalStart:
		return Keep, "already paused: " + spent
	case over:
		return Pause, spent
	case pausedFor == "":
		return Keep, "under the cap: " + spent
	case laterPeriod(n.CostIntervalStart, pausedFor):
		return Resume, "a new budget period: " + spent
	default:
		return Keep, fmt.Sprintf("paused for the period from %s, and this message is not of a later one: %s", pausedFor, spent)
	}
}

// laterPeriod reports whether period a starts after period b (RFC 3339);
// an unreadable b counts as earlier, so a bad annotation never pins a pause.
func laterPeriod(a, b string) bool {
	ta, errA := time.Parse(time.RFC3339, a)
	tb, errB := time.Parse(time.RFC3339, b)
	if errA != nil {
		return false
	}
	return errB != nil || ta.After(tb)
}
