package cost

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGPUShares(t *testing.T) {
	tests := []struct {
		n     int
		s     float64
		want  []float64
		about string
	}{
		{1, 0.2, []float64{1}, "a single pool takes all the work"},
		{2, 0.2, []float64{0.8, 0.2}, "the last takes what the first cannot"},
		{3, 0.2, []float64{0.8, 0.16, 0.04}, "each takes (1-s) of what the ones before could not"},
		{3, 0, []float64{1, 0, 0}, "no stockouts: the first only"},
		{3, 1, []float64{0, 0, 1}, "always out: the last only"},
	}
	for _, tt := range tests {
		got := GPUShares(tt.n, tt.s)
		require.Len(t, got, tt.n)
		sum := 0.0
		for i := range got {
			assert.InDelta(t, tt.want[i], got[i], 1e-9, tt.about)
			sum += got[i]
		}
		assert.InDelta(t, 1, sum, 1e-9, "the shares add up to the whole work: %s", tt.about)
	}
}

// Three GPU options share the bursts by rank; the worst month puts the
// most nodes the GPU pods can use on the dearest option.
func TestGPUOptionsShareTheWork(t *testing.T) {
	spotT4 := t4Pool
	spotT4.Spot = true
	l4 := Pool{Name: "gpu-1", Rank: 1, MachineType: "g2-standard-4", DiskType: "pd-standard", DiskSizeGb: 50, MaxNodes: 2,
		AcceleratorType: "nvidia-l4", AcceleratorCount: 1, Spot: true}
	onDemand := t4Pool
	onDemand.Name, onDemand.Rank = "gpu-2", 2
	in := Input{Pools: pools(seedPool, spotT4, l4, onDemand), GPUBusyHours: 100, FallbackShare: 0.2, MaxGPUPods: 2}
	e := estimate(t, in)
	assert.Contains(t, line(t, e, "gpu pool nodes").Detail, "busy adds 80 node-h")
	assert.Contains(t, line(t, e, "gpu-1 pool nodes").Detail, "busy adds 16 node-h")
	assert.Contains(t, line(t, e, "gpu-2 pool nodes").Detail, "GPU option 3, 4% of the work")

	p, err := LoadPrices()
	require.NoError(t, err)
	m, g := p.Machines["n1-standard-4"], p.Accelerators["nvidia-tesla-t4"]
	ip := p.NodeExternalIPPerHour.OnDemand
	// Two on-demand T4 nodes all month (N1: 30% off) with their disks and addresses.
	worstGPU := 2 * ((m.OnDemand+g.OnDemand)*730*0.7 + 50*p.Disks["pd-standard"].PerGBMonth + ip*730)
	gpuBusy := 0.0
	for _, item := range []string{"gpu", "gpu-1", "gpu-2"} {
		gpuBusy += line(t, e, item+" pool nodes").Busy + line(t, e, item+" pool disks").Busy
	}
	gpuBusy += (80*0.0025 + 16*0.0025 + 4*0.005) // the busy node-hours' addresses (Spot, Spot, on demand)
	assert.InDelta(t, e.BusyMonthly-gpuBusy+worstGPU, e.WorstMonthly, 0.05, "worst: 2 nodes, the GPU pods' most, at the dearest option")
	assert.Contains(t, e.Assumptions, "worst month: 2 GPU nodes all month: one per GPU pod the apps can run at once (no fewer than the pools' minNodes, no more than their maxNodes), each priced as a gpu-2 node, the dearest GPU option ($0.548/h with disk and address)")
}

// A flex-start option pays the on-demand price less the documented
// discount (a guess: "up to"), and the worst month pays it in full.
func TestFlexStartPricing(t *testing.T) {
	flex := t4Pool
	flex.FlexStart, flex.PrivateNodes = true, true
	e := estimate(t, Input{Pools: pools(flex), GPUBusyHours: 100})
	p, err := LoadPrices()
	require.NoError(t, err)
	onDemand := p.Machines["n1-standard-4"].OnDemand + p.Accelerators["nvidia-tesla-t4"].OnDemand
	l := line(t, e, "gpu pool nodes")
	assert.InDelta(t, 100*onDemand*(1-0.53), l.Busy, 0.01, "no sustained use discount on flex-start")
	assert.True(t, l.Guess, "the discount is an 'up to'")
	assert.Contains(t, l.Detail, "(flex-start, -53%)")
	disk := 50 * p.Disks["pd-standard"].PerGBMonth
	assert.InDelta(t, e.BusyMonthly-l.Busy-100.0/730*disk+2*(onDemand*730*0.7+disk), e.WorstMonthly, 0.05, "the worst month promises no discount")
}

// The worst month never prices fewer GPU nodes than the pools keep up.
func TestWorstMonthKeepsTheMinimum(t *testing.T) {
	always := t4Pool
	always.MinNodes = 2
	e := estimate(t, Input{Pools: pools(always), GPUBusyHours: 100, MaxGPUPods: 1})
	assert.GreaterOrEqual(t, e.WorstMonthly, e.BusyMonthly)
	assert.Contains(t, e.Assumptions, "worst month: the GPU pools' maxNodes (2) all month, each priced as a gpu node, the dearest GPU option ($0.548/h with disk and address)")
}
