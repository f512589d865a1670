package cost

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAutopilotRaisesRequestsToItsRules(t *testing.T) {
	p, err := LoadPrices()
	require.NoError(t, err)
	tests := []struct {
		name             string
		cpu, mem         int64
		wantCPU, wantMem int64
	}{
		{"tiny pod: both minimums", 10, 16, 250, 512},
		{"CPU rounds up to 250m steps", 300, 1024, 500, 1024},
		{"memory below 1 GiB per vCPU is raised", 1000, 512, 1000, 1024},
		{"memory above 6.5 GiB per vCPU raises CPU", 250, 4096, 750, 4096},
		{"within the rules: unchanged", 500, 2048, 500, 2048},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cpu, mem := p.Autopilot.autopilotBilled(tt.cpu, tt.mem)
			assert.Equal(t, tt.wantCPU, cpu)
			assert.Equal(t, tt.wantMem, mem)
		})
	}
}

func TestAlternativesPriceTheSameWork(t *testing.T) {
	spot := t4Pool
	spot.Spot = true
	in := Input{Clusters: []Cluster{{Name: "c"}}, FreeTier: true, Pools: pools(seedPool, spot), GPUBusyHours: 40,
		AlwaysOnPods: []Pod{{Name: "web", MilliCPU: 100, MemoryMiB: 128, Replicas: 2}}}
	e := estimate(t, in)
	require.Len(t, e.Alternatives, 2)
	ap, gpu := e.Alternatives[0], e.Alternatives[1]

	// Two pods raised to 250m / 512 MiB, all month; the free tier covers
	// the fee on both.
	assert.Equal(t, "GKE Autopilot", ap.Product)
	assert.InDelta(t, 2*730*(0.25*0.0445+0.5*0.0049225), ap.Monthly, 0.01)
	here := line(t, e, "control plane").Idle + line(t, e, "cpu pool nodes").Idle + line(t, e, "cpu pool disks").Idle + 3*730*0.005
	assert.InDelta(t, here, ap.Here, 0.01)

	// 40 GPU-hours of work, per second, on the T4 offer; here: what busy
	// adds to the GPU pool (nodes, disks, addresses).
	assert.Equal(t, "Modal T4", gpu.Product)
	assert.InDelta(t, 40*3600*0.000164, gpu.Monthly, 0.01)
	gpuHere := line(t, e, "gpu pool nodes").Busy + line(t, e, "gpu pool disks").Busy + 40*0.0025
	assert.InDelta(t, gpuHere, gpu.Here, 0.01)

	var out strings.Builder
	require.NoError(t, e.WriteTable(&out, "t"))
	assert.Contains(t, out.String(), "alternatives (the same work on another product; USD/month):")
	assert.Contains(t, out.String(), "- GKE Autopilot for the control plane and the always-on pods:")
}

func TestPrivateNodesPayCloudNATInsteadOfAddresses(t *testing.T) {
	cpu := seedPool
	cpu.PrivateNodes = true
	gpu := t4Pool
	gpu.PrivateNodes, gpu.Spot = true, true
	e := estimate(t, Input{Pools: pools(cpu, gpu), CloudNAT: true, NATDataGB: 2, GPUBusyHours: 40})
	for _, l := range e.Lines {
		assert.NotEqual(t, "node external IPs", l.Item)
	}
	nat := line(t, e, "cloud NAT")
	fixed := 730*0.005 + 2*0.045
	assert.InDelta(t, 3*730*0.0014+fixed, nat.Idle, 0.01)
	assert.InDelta(t, (3*730+40)*0.0014+fixed, nat.Busy, 0.01)

	// Public nodes: addresses, no NAT.
	pub := estimate(t, Input{Pools: pools(seedPool), GPUBusyHours: 40})
	assert.InDelta(t, 3*730*0.005, line(t, pub, "node external IPs").Idle, 0.01)
	for _, l := range pub.Lines {
		assert.NotEqual(t, "cloud NAT", l.Item)
	}
}

// From 32 VMs on, the gateway costs a flat hourly rate.
func TestCloudNATGatewayIsCapped(t *testing.T) {
	big := seedPool
	big.MinNodes, big.MaxNodes, big.PrivateNodes = 40, 40, true
	e := estimate(t, Input{Pools: pools(big), CloudNAT: true})
	assert.InDelta(t, 730*0.044+730*0.005, line(t, e, "cloud NAT").Idle, 0.01)
}
