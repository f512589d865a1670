package cost

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var seedPool = Pool{MachineType: "n1-standard-1", DiskType: "pd-standard", DiskSizeGb: 30, MinNodes: 3, MaxNodes: 3}

func estimate(t *testing.T, in Input) Estimate {
	t.Helper()
	p, err := LoadPrices()
	require.NoError(t, err)
	e, err := p.Estimate(in)
	require.NoError(t, err)
	return e
}

func line(t *testing.T, e Estimate, item string) Line {
	t.Helper()
	for _, l := range e.Lines {
		if l.Item == item {
			return l
		}
	}
	t.Fatalf("no line %q in %+v", item, e.Lines)
	return Line{}
}

// The seed's own numbers: 3 x n1-standard-1 at list price is ~$3.42/day of compute.
func TestSeedPoolComputePerDay(t *testing.T) {
	e := estimate(t, Input{CPUPool: seedPool})
	nodes := line(t, e, "cpu pool nodes")
	assert.InDelta(t, 3.42, nodes.Idle*24/730, 0.005)
	assert.Equal(t, nodes.Idle, nodes.Busy, "min = max: nothing to scale")
}

func TestControlPlane(t *testing.T) {
	zonal := estimate(t, Input{CPUPool: seedPool, FreeTier: true})
	regional := estimate(t, Input{CPUPool: seedPool, FreeTier: true, Regional: true})
	second := estimate(t, Input{CPUPool: seedPool, FreeTier: false})
	assert.Equal(t, 0.0, line(t, zonal, "control plane").Idle, "one zonal cluster is covered by the free tier")
	assert.Equal(t, 73.0, line(t, regional, "control plane").Idle)
	assert.InDelta(t, 73.0, regional.IdleMonthly-zonal.IdleMonthly, 0.001)
	assert.Equal(t, 73.0, line(t, second, "control plane").Idle, "a second zonal cluster on the same billing account pays")
}

func TestGPUPoolAtZeroCostsNothingIdle(t *testing.T) {
	gpu := &Pool{MachineType: "n1-standard-4", DiskType: "pd-standard", DiskSizeGb: 50, MinNodes: 0, MaxNodes: 2,
		AcceleratorType: "nvidia-tesla-t4", AcceleratorCount: 1}
	without := estimate(t, Input{CPUPool: seedPool})
	with := estimate(t, Input{CPUPool: seedPool, GPUPool: gpu, GPUBusyHours: 100})
	assert.Equal(t, without.IdleMonthly, with.IdleMonthly)
	assert.Equal(t, 0.0, line(t, with, "gpu pool nodes").Idle)
	// Busy: 100 node-hours of n1-standard-4 ($0.19) + one T4 ($0.35).
	assert.InDelta(t, 54.0, line(t, with, "gpu pool nodes").Busy, 0.001)
	// A disk exists only while its node does: 100/730 of a month of 50 GB.
	assert.InDelta(t, 100.0/730*50*0.04, line(t, with, "gpu pool disks").Busy, 0.01)
}

func TestSpotIsCheaper(t *testing.T) {
	gpu := Pool{MachineType: "n1-standard-4", DiskType: "pd-standard", DiskSizeGb: 50, MaxNodes: 1,
		AcceleratorType: "nvidia-tesla-t4", AcceleratorCount: 1}
	onDemand := estimate(t, Input{CPUPool: seedPool, GPUPool: &gpu, GPUBusyHours: 10})
	gpu.Spot = true
	spot := estimate(t, Input{CPUPool: seedPool, GPUPool: &gpu, GPUBusyHours: 10})
	assert.Less(t, spot.BusyMonthly, onDemand.BusyMonthly)
	assert.True(t, line(t, spot, "gpu pool nodes").Guess, "spot prices are assumed, and the report must say so")
	assert.False(t, line(t, onDemand, "cpu pool nodes").Guess)
}

func TestBusyHoursAreCappedByPoolSize(t *testing.T) {
	gpu := &Pool{MachineType: "n1-standard-4", DiskType: "pd-standard", DiskSizeGb: 50, MaxNodes: 1,
		AcceleratorType: "nvidia-tesla-t4", AcceleratorCount: 1}
	e := estimate(t, Input{CPUPool: seedPool, GPUPool: gpu, GPUBusyHours: 5000})
	assert.InDelta(t, 730*0.54, line(t, e, "gpu pool nodes").Busy, 0.01)
}

func TestIngressAndRegistry(t *testing.T) {
	e := estimate(t, Input{CPUPool: seedPool, ForwardingRules: 1, StaticIPs: 1, RegistryStorageGB: 2.5})
	assert.InDelta(t, 18.25, line(t, e, "load balancer").Idle, 0.001)
	assert.InDelta(t, 3.65, line(t, e, "static IP").Idle, 0.001)
	assert.True(t, line(t, e, "static IP").Guess)
	assert.InDelta(t, 0.20, line(t, e, "image registry").Idle, 0.001, "first 0.5 GB free")
	free := estimate(t, Input{CPUPool: seedPool, RegistryStorageGB: 0.4})
	assert.Equal(t, 0.0, line(t, free, "image registry").Idle)
}

func TestUnknownPricesAreErrors(t *testing.T) {
	p, err := LoadPrices()
	require.NoError(t, err)
	tests := []struct {
		name string
		in   Input
		want string
	}{
		{"machine", Input{CPUPool: Pool{MachineType: "c3-standard-4", DiskType: "pd-standard", DiskSizeGb: 10, MinNodes: 1, MaxNodes: 1}},
			`cpuPool.machineType = "c3-standard-4": no price`},
		{"gpu", Input{CPUPool: seedPool, GPUPool: &Pool{MachineType: "n1-standard-4", DiskType: "pd-standard", DiskSizeGb: 10, MaxNodes: 1, AcceleratorType: "nvidia-tesla-k80", AcceleratorCount: 1}},
			`gpuPool.acceleratorType = "nvidia-tesla-k80": no price`},
		{"disk", Input{CPUPool: Pool{MachineType: "e2-medium", DiskType: "hyperdisk", DiskSizeGb: 10, MinNodes: 1, MaxNodes: 1}},
			`cpuPool.diskType = "hyperdisk": no price`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Estimate(tt.in)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestEveryPriceHasASourceAndDate(t *testing.T) {
	p, err := LoadPrices()
	require.NoError(t, err)
	for name, m := range p.Machines {
		assert.NotEmpty(t, m.Source, name)
		assert.Regexp(t, `^\d{4}-\d{2}-\d{2}$`, m.Read, name)
		assert.Greater(t, m.OnDemand, m.Spot, "%s: Spot is cheaper", name)
	}
	for name, a := range p.Accelerators {
		assert.NotEmpty(t, a.Source, name)
		assert.Regexp(t, `^\d{4}-\d{2}-\d{2}$`, a.Read, name)
	}
	for name, d := range p.Disks {
		assert.NotEmpty(t, d.Source, name)
		assert.Greater(t, d.PerGBMonth, 0.0, name)
	}
	assert.Equal(t, 730.0, p.HoursPerMonth)
}

func TestWriteTableMarksGuesses(t *testing.T) {
	gpu := &Pool{MachineType: "n1-standard-4", DiskType: "pd-standard", DiskSizeGb: 50, MaxNodes: 1, Spot: true,
		AcceleratorType: "nvidia-tesla-t4", AcceleratorCount: 1}
	var b strings.Builder
	require.NoError(t, estimate(t, Input{CPUPool: seedPool, GPUPool: gpu, GPUBusyHours: 10}).WriteTable(&b, "test"))
	assert.Contains(t, b.String(), "~")
	assert.Contains(t, b.String(), "~ marks figures built on a guessed or derived price")
}
