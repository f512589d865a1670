package cost

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The seed's pool: 3 x n1-standard-1, on demand, always on.
var seedPool = Pool{Name: "cpu", MachineType: "n1-standard-1", DiskType: "pd-standard", DiskSizeGb: 30, MinNodes: 3, MaxNodes: 3}

var t4Pool = Pool{Name: "gpu", MachineType: "n1-standard-4", DiskType: "pd-standard", DiskSizeGb: 50, MinNodes: 0, MaxNodes: 2,
	AcceleratorType: "nvidia-tesla-t4", AcceleratorCount: 1}

const region = "us-central1"

func estimate(t *testing.T, in Input) Estimate {
	t.Helper()
	p, err := LoadPrices()
	require.NoError(t, err)
	if in.Region == "" {
		in.Region = region
	}
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

func pools(ps ...Pool) []Pool { return ps }

func TestSustainedUseFactor(t *testing.T) {
	p, err := LoadPrices()
	require.NoError(t, err)
	tests := []struct {
		family   string
		fraction float64
		want     float64
	}{
		{"n1", 1, 0.70},    // all month: 30% off (Google's maximum for N1)
		{"n1", 0.25, 1.0},  // the first quarter of a month is at the base rate
		{"n1", 0.5, 0.90},  // (0.25 x 1 + 0.25 x 0.8) / 0.5: 10% off
		{"n1", 0.75, 0.80}, // 20% off
		{"n2", 1, 0.80},    // N2: at most 20% off
		{"n2d", 1, 0.80},
		{"e2", 1, 1.0}, // no sustained use discount for E2
		{"g2", 1, 1.0},
	}
	for _, tt := range tests {
		got, _ := p.SustainedUse.Factor(tt.family, tt.fraction)
		assert.InDelta(t, tt.want, got, 0.001, "%s at %.2f of a month", tt.family, tt.fraction)
	}
}

func TestSustainedUseOnAlwaysOnN1AndNoneOnSpotOrE2(t *testing.T) {
	onDemand := estimate(t, Input{Pools: pools(seedPool)})
	// 3 x $0.0475 x 730 h, less N1's full-month 30%.
	assert.InDelta(t, 3*0.0475*730*0.7, line(t, onDemand, "cpu pool nodes").Idle, 0.01)
	assert.Contains(t, line(t, onDemand, "cpu pool nodes").Detail, "sustained use -30% (N1, all month)")

	spot := seedPool
	spot.Spot = true
	e := estimate(t, Input{Pools: pools(spot)})
	assert.InDelta(t, 3*0.0130*730, line(t, e, "cpu pool nodes").Idle, 0.01, "Spot gets no sustained use discount")
	assert.Contains(t, line(t, e, "cpu pool nodes").Detail, "Spot: no sustained use discount")

	e2 := Pool{Name: "cpu", MachineType: "e2-standard-2", DiskType: "pd-standard", DiskSizeGb: 30, MinNodes: 2, MaxNodes: 2}
	e = estimate(t, Input{Pools: pools(e2)})
	assert.InDelta(t, 2*0.067*730, line(t, e, "cpu pool nodes").Idle, 0.01, "E2 gets no sustained use discount")
	assert.Contains(t, line(t, e, "cpu pool nodes").Detail, "E2: no sustained use discount")
}

func TestGPUsOnN1AreDiscountedForTheHoursTheyRun(t *testing.T) {
	// 100 busy hours (14% of a month): under 25%, no discount.
	e := estimate(t, Input{Pools: pools(seedPool, t4Pool), GPUBusyHours: 100})
	assert.Equal(t, 0.0, line(t, e, "gpu pool nodes").Idle)
	assert.InDelta(t, 100*(0.19+0.35), line(t, e, "gpu pool nodes").Busy, 0.01)
	// 730 busy hours: one GPU node all month, machine and T4 both 30% off.
	e = estimate(t, Input{Pools: pools(seedPool, t4Pool), GPUBusyHours: 730})
	assert.InDelta(t, 730*(0.19+0.35)*0.7, line(t, e, "gpu pool nodes").Busy, 0.01)
	// A disk exists only while its node does.
	assert.InDelta(t, 50*0.04, line(t, e, "gpu pool disks").Busy, 0.01)
}

func TestNodeExternalIPs(t *testing.T) {
	spotGPU := t4Pool
	spotGPU.Spot = true
	e := estimate(t, Input{Pools: pools(seedPool, spotGPU), GPUBusyHours: 40})
	ips := line(t, e, "node external IPs")
	assert.InDelta(t, 3*0.005*730, ips.Idle, 0.001, "one IPv4 per always-on node, $0.005/h")
	assert.InDelta(t, 3*0.005*730+40*0.0025, ips.Busy, 0.001, "Spot nodes' IPs at $0.0025/h")
}

func TestControlPlane(t *testing.T) {
	c := []Cluster{{Name: "platform-dev"}}
	zonal := estimate(t, Input{Clusters: c, Pools: pools(seedPool), FreeTier: true})
	regional := estimate(t, Input{Clusters: []Cluster{{Name: "platform-dev", Regional: true}}, Pools: pools(seedPool), FreeTier: true})
	second := estimate(t, Input{Clusters: c, Pools: pools(seedPool), FreeTier: false})
	two := estimate(t, Input{Clusters: []Cluster{{Name: "a"}, {Name: "b"}}, Pools: pools(seedPool), FreeTier: true})
	assert.Equal(t, 0.0, line(t, zonal, "control plane").Idle, "one zonal cluster is covered by the free tier")
	assert.Contains(t, zonal.Assumptions, "free-tier credit ($74.40/month, one zonal cluster per billing account) used by cluster platform-dev")
	assert.Equal(t, 73.0, line(t, regional, "control plane").Idle)
	assert.Equal(t, 73.0, line(t, second, "control plane").Idle, "a second zonal cluster on the same billing account pays")
	assert.Equal(t, 0.0, line(t, two, "control plane a").Idle)
	assert.Equal(t, 73.0, line(t, two, "control plane b").Idle, "the credit covers one cluster")
}

func TestBusyHoursAreCappedByPoolSize(t *testing.T) {
	one := t4Pool
	one.MaxNodes = 1
	e := estimate(t, Input{Pools: pools(seedPool, one), GPUBusyHours: 5000})
	assert.InDelta(t, 730*0.54*0.7, line(t, e, "gpu pool nodes").Busy, 0.01)
}

func TestIngressAndRegistry(t *testing.T) {
	e := estimate(t, Input{Pools: pools(seedPool), ForwardingRules: 1, StaticIPs: 1, RegistryStorageGB: 2.5})
	assert.InDelta(t, 18.25, line(t, e, "load balancer").Idle, 0.001)
	assert.InDelta(t, 3.65, line(t, e, "static IP").Idle, 0.001)
	assert.True(t, line(t, e, "static IP").Guess)
	assert.InDelta(t, 0.20, line(t, e, "image registry").Idle, 0.001, "first 0.5 GB free")
	free := estimate(t, Input{Pools: pools(seedPool), RegistryStorageGB: 0.4})
	assert.Equal(t, 0.0, line(t, free, "image registry").Idle)
}

func TestUnknownPricesAreErrors(t *testing.T) {
	p, err := LoadPrices()
	require.NoError(t, err)
	k80 := t4Pool
	k80.AcceleratorType = "nvidia-tesla-k80"
	tests := []struct {
		name string
		in   Input
		want string
	}{
		{"region", Input{Region: "europe-west4", Pools: pools(seedPool)},
			`no prices for region "europe-west4": internal/cost/prices.json holds us-central1 only`},
		{"machine", Input{Region: region, Pools: pools(Pool{Name: "cpu", MachineType: "c3-standard-4", DiskType: "pd-standard", DiskSizeGb: 10, MinNodes: 1, MaxNodes: 1})},
			`cpuPool.machineType = "c3-standard-4": no price`},
		{"gpu", Input{Region: region, Pools: pools(seedPool, k80)},
			`gpuPool.acceleratorType = "nvidia-tesla-k80": no price`},
		{"disk", Input{Region: region, Pools: pools(Pool{Name: "cpu", MachineType: "e2-medium", DiskType: "hyperdisk", DiskSizeGb: 10, MinNodes: 1, MaxNodes: 1})},
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
	date := `^\d{4}-\d{2}-\d{2}$`
	for name, m := range p.Machines {
		assert.NotEmpty(t, m.Source, name)
		assert.Regexp(t, date, m.Read, name)
		assert.Greater(t, m.OnDemand, m.Spot, "%s: Spot is cheaper", name)
	}
	for name, a := range p.Accelerators {
		assert.NotEmpty(t, a.Source, name)
		assert.Regexp(t, date, a.Read, name)
	}
	for name, d := range p.Disks {
		assert.NotEmpty(t, d.Source, name)
		assert.Greater(t, d.PerGBMonth, 0.0, name)
	}
	for _, pr := range []Price{p.GKE.ClusterPerHour, p.GKE.FreeTierPerMonth, p.ForwardingRulePerHour, p.StaticIPPerHour, p.ArtifactRegistry.PerGBMonth, p.ArtifactRegistry.FreeGB} {
		assert.NotEmpty(t, pr.Source)
		assert.Regexp(t, date, pr.Read)
	}
	nat, ap := p.CloudNAT, p.Autopilot
	for _, pr := range []Price{nat.PerVMHour, nat.MaxPerHour, nat.PerGB, nat.IPPerHour,
		ap.VCPUPerHour, ap.GBPerHour, ap.MinMilliCPU, ap.MinMemoryMiB, ap.MaxMemoryPerVCPUGiB, ap.MinMemoryPerVCPUGiB} {
		assert.NotEmpty(t, pr.Source)
		assert.Regexp(t, date, pr.Read)
		assert.Greater(t, pr.Price, 0.0, pr.Source)
	}
	bt := p.BurstTimings
	timings := map[string]Timing{"nodeReady": bt.NodeReady, "driverInstall": bt.DriverInstall, "imagePull": bt.ImagePull,
		"imagePullStreamed": bt.ImagePullStreamed, "scaleDownDelayAfterAdd": bt.ScaleDownDelayAfterAdd}
	for profile, tm := range bt.ScaleDownUnneeded {
		timings["scaleDownUnneeded."+profile] = tm
	}
	for name, tm := range timings {
		assert.NotEmpty(t, tm.Source, name)
		assert.Regexp(t, date, tm.Read, name)
		assert.Greater(t, tm.Seconds, 0.0, name)
	}
	assert.Contains(t, bt.ScaleDownUnneeded, ProfileBalanced)
	assert.Contains(t, bt.ScaleDownUnneeded, ProfileOptimizeUtilization)
	for name, o := range p.ServerlessGPU {
		assert.NotEmpty(t, o.Offer, name)
		assert.NotEmpty(t, o.Source, name)
		assert.Regexp(t, date, o.Read, name)
		assert.Contains(t, p.Accelerators, name, "serverless offers are keyed by accelerator type")
	}
	assert.NotEmpty(t, p.NodeExternalIPPerHour.Source)
	assert.Regexp(t, date, p.NodeExternalIPPerHour.Read)
	assert.NotEmpty(t, p.SustainedUse.Source)
	assert.Regexp(t, date, p.SustainedUse.Read)
	for family, f := range p.SustainedUse.Families {
		assert.NotEmpty(t, f.Source, family)
		assert.Len(t, f.Tiers, 4, family)
	}
	assert.Equal(t, 730.0, p.HoursPerMonth)
}

func TestWriteTableShowsGuessesAndAssumptions(t *testing.T) {
	gpu := t4Pool
	gpu.MachineType = "n1-standard-8" // a derived price
	var b strings.Builder
	require.NoError(t, estimate(t, Input{Pools: pools(seedPool, gpu), GPUBusyHours: 10}).WriteTable(&b, "test"))
	out := b.String()
	assert.Contains(t, out, "~")
	assert.Contains(t, out, "~ marks figures built on a guessed or derived price")
	assert.Contains(t, out, "assumptions:\n- 730 hours per month")
	assert.Contains(t, out, "- sustained use discount on on-demand N1/N2/N2D nodes")
	assert.Contains(t, out, "- GPU pools idle at minNodes; busy adds 10 GPU node-hours per month to each")
}
