package schedule

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHoursPerMonth(t *testing.T) {
	tests := []struct {
		name string
		w    Window
		want float64
	}{
		// 730 h from Monday 2026-01-05 00:00 to Wednesday 4 Feb 10:00: 22
		// full weekdays (5 Jan - 3 Feb) and 08:00-10:00 on 4 Feb.
		{"working hours, weekdays", Window{"0 8 * * 1-5", "0 18 * * 1-5", "UTC"}, 22*10 + 2},
		// 30 nights of 8 h, plus 00:00-06:00 on the first morning (already
		// inside a window: the next end comes before the next start).
		{"every night across midnight", Window{"0 22 * * *", "0 6 * * *", "UTC"}, 30*8 + 6},
		{"always: one hour a day short of it", Window{"0 0 * * *", "0 23 * * *", "UTC"}, 30*23 + 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.w.HoursPerMonth(730)
			require.NoError(t, err)
			assert.InDelta(t, tt.want, got, 0.01)
		})
	}
}

// Active follows KEDA's rule: between a start and the next end.
func TestActive(t *testing.T) {
	w := Window{"0 8 * * *", "0 18 * * *", "Europe/Berlin"}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for hour, want := range map[int]bool{7: false, 8: true, 12: true, 17: true, 18: false, 23: false} {
		got, err := w.Active(time.Date(2026, 6, 1, hour, 30, 0, 0, berlin))
		require.NoError(t, err)
		assert.Equal(t, want, got, "%02d:30 Berlin", hour)
	}
}

func TestCheck(t *testing.T) {
	for _, bad := range []Window{
		{"0 8 * *", "0 18 * * *", "UTC"},
		{"0 8 * * *", "0 8 * * *", "UTC"},
		{"0 8 * * *", "0 18 * * *", "Mars/Olympus"},
		{"0 8 * * *", "0 18 * * *", ""},
	} {
		assert.Error(t, bad.Check(), "%+v", bad)
	}
	assert.NoError(t, Window{"0 8 * * 1-5", "0 18 * * 1-5", "America/New_York"}.Check())
}
