package stacks

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/graphtest"
)

// A budget is the project's, per calendar month, emails at each threshold
// of actual spend, and publishes every update to the stack's topic.
func TestBudget(t *testing.T) {
	g := runStack(t, "dev", map[string]string{
		"gke-gpu-platform:budget": `{"amount": 250.5, "billingAccount": "01A2B3-C4D5E6-F7A8B9"}`,
	})
	topic := named(t, g, "gcp:pubsub/topic:Topic", "budget")
	assert.Equal(t, "platform-dev-budget", topic.Plain("name"))
	b := named(t, g, "gcp:billing/budget:Budget", "budget")
	assert.Equal(t, "01A2B3-C4D5E6-F7A8B9", b.Plain("billingAccount"))
	assert.Equal(t, "platform-dev", b.Plain("displayName"))
	assert.Equal(t, map[string]any{"projects": []any{"projects/" + graphtest.MockProjectNumber}, "calendarPeriod": "MONTH"}, b.Plain("budgetFilter"))
	assert.Equal(t, map[string]any{"specifiedAmount": map[string]any{"currencyCode": "USD", "units": "250", "nanos": 500000000.0}}, b.Plain("amount"))
	assert.Equal(t, []any{
		map[string]any{"thresholdPercent": 0.5, "spendBasis": "CURRENT_SPEND"},
		map[string]any{"thresholdPercent": 0.9, "spendBasis": "CURRENT_SPEND"},
		map[string]any{"thresholdPercent": 1.0, "spendBasis": "CURRENT_SPEND"},
	}, b.Plain("thresholdRules"))
	assert.Equal(t, "1.0", b.Plain("allUpdatesRule.schemaVersion"))
	assert.Equal(t, "budget-id", b.Plain("allUpdatesRule.pubsubTopic"), "every update goes to the stack's topic (the mocks give it this ID)")
	assert.Equal(t, "budget-id", g.Exports["budgetTopic"])
}

// Pulumi.yaml's default for the key, {}, is no budget.
func TestNoBudgetByDefault(t *testing.T) {
	g := runStack(t, "dev", map[string]string{"gke-gpu-platform:budget": `{}`})
	assert.Empty(t, g.OfType("gcp:billing/budget:Budget"))
	assert.NotContains(t, g.Exports, "budgetTopic")
}
