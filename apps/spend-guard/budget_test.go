package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func recorded(t *testing.T, name string) Notification {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	n, err := parseNotification(data)
	require.NoError(t, err)
	return n
}

// The messages are in the format Cloud Billing publishes (testdata/,
// after https://cloud.google.com/billing/docs/how-to/budgets-programmatic-notifications).
func TestDecide(t *testing.T) {
	const dec = "2026-12-01T08:00:00Z"
	tests := []struct {
		name    string
		message string
		cap     float64
		state   guardState
		want    Action
		why     string
	}{
		{name: "actual spend over the cap pauses", message: "over.json", cap: 1, want: Pause, why: "312.40 USD spent of a 300.00 cap"},
		{name: "a repeat of it changes nothing", message: "over.json", cap: 1, state: guardState{PausedFor: dec}, want: Keep, why: "already paused"},
		{name: "a forecast over the budget alone does not pause", message: "forecast.json", cap: 1, want: Keep, why: "under the cap"},
		{name: "a lower cap pauses earlier", message: "forecast.json", cap: 0.4, want: Pause, why: "120.15 USD spent of a 120.00 cap (40% of the 300.00 budget)"},
		{name: "the same period under the cap keeps a pause", message: "under.json", cap: 1, state: guardState{PausedFor: dec}, want: Keep, why: "not of a later one"},
		{name: "a new period resumes", message: "next-period.json", cap: 1, state: guardState{PausedFor: dec}, want: Resume, why: "a new budget period"},
		{name: "a new period under the cap with nothing paused", message: "next-period.json", cap: 1, want: Keep, why: "under the cap"},
		{name: "resumed by hand for this period", message: "over.json", cap: 1, state: guardState{ResumedFor: dec}, want: Keep, why: "resumed by hand"},
		{name: "a hand resume of an earlier period does not hold", message: "over.json", cap: 1, state: guardState{ResumedFor: "2026-11-01T07:00:00Z"}, want: Pause},
		{name: "a late message of an earlier period changes nothing", message: "over.json", cap: 1, state: guardState{Latest: "2027-01-01T08:00:00Z"}, want: Keep, why: "before the latest"},
		{name: "a scaler someone else paused is left alone", message: "next-period.json", cap: 1, state: guardState{ByOthers: true}, want: Keep, why: "someone else"},
		{name: "an unreadable paused period never pins a pause", message: "next-period.json", cap: 1, state: guardState{PausedFor: "garbage"}, want: Resume},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := decide(recorded(t, tt.message), tt.cap, tt.state)
			assert.Equal(t, tt.want, got, why)
			assert.Contains(t, why, tt.why)
		})
	}
}

func TestMalformedMessages(t *testing.T) {
	for _, data := range []string{
		``, `not json`, `{}`, `{"costAmount": 1}`,
		`{"costAmount": 1, "budgetAmount": 0, "costIntervalStart": "2026-12-01T08:00:00Z"}`,
		`{"costAmount": 1, "budgetAmount": 10, "costIntervalStart": "yesterday"}`,
	} {
		_, err := parseNotification([]byte(data))
		assert.Error(t, err, "%q", data)
		assert.Contains(t, err.Error(), "not a budget notification", "%q", data)
	}
}
