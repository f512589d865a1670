package cost

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A burst's billed time is the sum of its phases, each from prices.json.
func TestBurstPhasesFollowCooldownProfileAndStreaming(t *testing.T) {
	p, err := LoadPrices()
	require.NoError(t, err)
	bt := p.BurstTimings
	start := bt.NodeReady.Minutes() + bt.DriverInstall.Minutes()
	// KEDA sees the queue empty up to Cloud Monitoring's delay late: billed too.
	late := bt.BacklogMetricDelay.Minutes()
	tests := []struct {
		name      string
		work      float64
		cooldown  float64
		profile   string
		streaming bool
		want      float64
	}{
		{"balanced, pulled, 5 min cooldown", 10, 300, ProfileBalanced, false,
			start + bt.ImagePull.Minutes() + 10 + late + 5 + bt.ScaleDownUnneeded[ProfileBalanced].Minutes()},
		{"empty profile is GKE's default, BALANCED", 10, 300, "", false,
			start + bt.ImagePull.Minutes() + 10 + late + 5 + bt.ScaleDownUnneeded[ProfileBalanced].Minutes()},
		{"optimize utilization scales down sooner", 10, 300, ProfileOptimizeUtilization, false,
			start + bt.ImagePull.Minutes() + 10 + late + 5 + bt.ScaleDownUnneeded[ProfileOptimizeUtilization].Minutes()},
		{"a shorter cooldown bills less", 10, 60, ProfileBalanced, false,
			start + bt.ImagePull.Minutes() + 10 + late + 1 + bt.ScaleDownUnneeded[ProfileBalanced].Minutes()},
		{"streaming starts the image sooner", 10, 300, ProfileBalanced, true,
			start + bt.ImagePullStreamed.Minutes() + 10 + late + 5 + bt.ScaleDownUnneeded[ProfileBalanced].Minutes()},
		{"jobs have no cooldown", 10, 0, ProfileBalanced, true,
			start + bt.ImagePullStreamed.Minutes() + 10 + late + bt.ScaleDownUnneeded[ProfileBalanced].Minutes()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			phases, err := bt.burstPhases(tt.work, tt.cooldown, tt.profile, tt.streaming)
			require.NoError(t, err)
			total := 0.0
			for _, ph := range phases {
				total += ph.Minutes
			}
			assert.InDelta(t, tt.want, total, 1e-9)
			assert.Equal(t, tt.cooldown > 0, hasPhase(phases, "KEDA cooldown"))
			assert.Equal(t, tt.streaming, hasPhase(phases, "image pull (streamed)"))
		})
	}
}

// The autoscaler removes nothing within scale-down-delay-after-add of a
// scale-up, however short the burst.
func TestBurstNeverEndsBeforeTheDelayAfterAdd(t *testing.T) {
	p, err := LoadPrices()
	require.NoError(t, err)
	bt := p.BurstTimings
	bt.ScaleDownDelayAfterAdd.Seconds = 3600 // longer than any phase sum below
	phases, err := bt.burstPhases(1, 0, ProfileOptimizeUtilization, true)
	require.NoError(t, err)
	total := 0.0
	for _, ph := range phases {
		total += ph.Minutes
	}
	assert.InDelta(t, 60, total, 1e-9)
}

func TestUnknownProfileIsAnError(t *testing.T) {
	p, err := LoadPrices()
	require.NoError(t, err)
	_, err = p.BurstTimings.burstPhases(10, 300, "AGGRESSIVE", false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"AGGRESSIVE"`)
	assert.Contains(t, err.Error(), ProfileBalanced)
}

// Bursts replace gpuBusyHours in the busy month: the GPU line adds the
// bursts' billed node-hours, priced at the pool's rate.
func TestBurstsDriveTheBusyMonth(t *testing.T) {
	spot := t4Pool
	spot.Spot = true
	in := Input{Clusters: []Cluster{{Name: "c", AutoscalingProfile: ProfileBalanced}}, Pools: pools(seedPool, spot),
		GPUBusyHours: 999, Bursts: &Bursts{PerDay: 4, WorkMinutes: 10}, CooldownSeconds: 300}
	e := estimate(t, in)
	require.Len(t, e.Bursts, 1)
	b := e.Bursts[0]
	assert.InDelta(t, 4*730/24.0, b.PerMonth, 1e-9)
	assert.InDelta(t, b.PerMonth*b.NodeMinutes/60, b.NodeHoursPerMonth, 1e-9)
	assert.InDelta(t, b.NodeHoursPerMonth, e.GPUBusyHours, 1e-9)
	// Spot T4 node: machine + GPU, no sustained use discount.
	nodeRate := 0.052 + 0.119
	assert.InDelta(t, b.NodeHoursPerMonth*nodeRate, line(t, e, "gpu pool nodes").Busy, 0.01)
	assert.InDelta(t, 10/b.NodeMinutes, b.WorkShare, 1e-9)

	// The same bursts under OPTIMIZE_UTILIZATION bill fewer node-minutes.
	in.Clusters[0].AutoscalingProfile = ProfileOptimizeUtilization
	faster := estimate(t, in)
	assert.Less(t, faster.Bursts[0].NodeMinutes, b.NodeMinutes)
	assert.Less(t, faster.BusyMonthly, e.BusyMonthly)

	var out strings.Builder
	require.NoError(t, e.WriteTable(&out, "t"))
	assert.Contains(t, out.String(), "burst on the gpu pool, from zero nodes:")
	assert.Contains(t, out.String(), "scale-down wait (BALANCED)")
}

func hasPhase(phases []Phase, name string) bool {
	for _, ph := range phases {
		if ph.Name == name {
			return true
		}
	}
	return false
}
