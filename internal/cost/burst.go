package cost

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// Autoscaling profiles of GKE's cluster autoscaler.
const (
	ProfileBalanced            = "BALANCED"
	ProfileOptimizeUtilization = "OPTIMIZE_UTILIZATION"
)

// Timing is a duration with where it came from, like Price.
type Timing struct {
	Seconds float64 `json:"seconds"`
	Source  string  `json:"source"`
	Read    string  `json:"read"`
	Guess   bool    `json:"guess"`
}

// Minutes is the timing in minutes.
func (t Timing) Minutes() float64 { return t.Seconds / 60 }

// BurstTimings are the run-time figures a scale-from-zero burst is made of:
// what GKE, the node and the cluster autoscaler take, each sourced.
type BurstTimings struct {
	// NodeReady is from the autoscaler's scale-up to a GPU node that is
	// Ready with its driver installed (VM boot, node registration, driver).
	NodeReady Timing `json:"nodeReady"`
	// DriverInstall is GKE installing the NVIDIA driver on the new node,
	// before its GPUs can be allocated.
	DriverInstall Timing `json:"driverInstall"`
	// ImagePull is the pull of a multi-GB CUDA image on a new node, and
	// ImagePullStreamed the same image with GKE image streaming.
	ImagePull         Timing `json:"imagePull"`
	ImagePullStreamed Timing `json:"imagePullStreamed"`
	// ScaleDownUnneeded is how long a node stays unneeded before the
	// autoscaler removes it, per autoscaling profile.
	ScaleDownUnneeded map[string]Timing `json:"scaleDownUnneeded"`
	// ScaleDownDelayAfterAdd is how long after a scale-up the autoscaler
	// considers no scale-down at all.
	ScaleDownDelayAfterAdd Timing `json:"scaleDownDelayAfterAdd"`
	// BacklogMetricDelay is how late KEDA can see a Pub/Sub backlog change:
	// Cloud Monitoring samples it every 60 s and shows a sample up to 120 s
	// later. The queue's last job done, the cooldown starts that much later.
	BacklogMetricDelay Timing `json:"backlogMetricDelay"`
}

// Bursts is the usage the burst model prices: how many times a day work
// arrives at an empty GPU pool, and how long it runs.
type Bursts struct {
	// PerDay is the number of bursts a day, each from zero GPU nodes.
	PerDay float64
	// WorkMinutes is how long one burst's work runs on its node.
	WorkMinutes float64
}

// Phase is one stretch of a burst's billed node time.
type Phase struct {
	Name    string  `json:"name"`
	Minutes float64 `json:"minutes"`
	Guess   bool    `json:"guess"`
}

// Burst is one scale-from-zero burst on a GPU pool: a node is created,
// runs the work, waits out KEDA's cooldown and the autoscaler's scale-down,
// and is deleted. Every minute of it is billed.
type Burst struct {
	// Pool is the GPU pool's name.
	Pool string `json:"pool"`
	// Profile is the autoscaling profile the scale-down follows.
	Profile string `json:"profile"`
	// ImageStreaming says the pool streams images.
	ImageStreaming bool `json:"imageStreaming"`
	// Phases are the billed stretches, in order.
	Phases []Phase `json:"phases"`
	// NodeMinutes is the billed time of one burst's node.
	NodeMinutes float64 `json:"nodeMinutes"`
	// Dollars is one burst's cost: node, GPU, disk and address or NAT.
	Dollars float64 `json:"dollars"`
	// WorkShare is the share of the billed time spent working.
	WorkShare float64 `json:"workShare"`
	// PerMonth is the number of bursts a month, NodeHoursPerMonth their
	// billed node-hours and MonthlyDollars their cost (what busy adds).
	PerMonth          float64 `json:"perMonth"`
	NodeHoursPerMonth float64 `json:"nodeHoursPerMonth"`
	MonthlyDollars    float64 `json:"monthlyDollars"`
	// Guess marks a burst built on a guessed timing.
	Guess bool `json:"guess"`
	// Share is the share of the bursts this pool takes among the GPU
	// options (1 for a single GPU pool).
	Share float64 `json:"share"`
}

// burstPhases lays out one burst's billed node time. The node exists from
// the autoscaler's scale-up; KEDA sees the queue empty only once Cloud
// Monitoring shows it (in job mode a stale backlog can start one more Job
// for as long); KEDA holds the worker cooldown after that (a Job mode
// worker ends with its job: cooldown 0); the node is
// removed once unneeded for the profile's time, but never before the delay
// after a scale-up has passed. Sources are in prices.json (burstTimings).
func (t BurstTimings) burstPhases(work, cooldownSeconds float64, profile string, streaming bool) ([]Phase, error) {
	if profile == "" {
		profile = ProfileBalanced // GKE's default
	}
	unneeded, ok := t.ScaleDownUnneeded[profile]
	if !ok {
		return nil, fmt.Errorf("autoscaling profile %q has no scale-down timing in internal/cost/prices.json (known: %s)", profile, sortedNames(t.ScaleDownUnneeded))
	}
	pull := t.ImagePull
	pullName := "image pull"
	if streaming {
		pull, pullName = t.ImagePullStreamed, "image pull (streamed)"
	}
	phases := []Phase{
		{Name: "node start", Minutes: t.NodeReady.Minutes(), Guess: t.NodeReady.Guess},
		{Name: "driver install", Minutes: t.DriverInstall.Minutes(), Guess: t.DriverInstall.Guess},
		{Name: pullName, Minutes: pull.Minutes(), Guess: pull.Guess},
		{Name: "work", Minutes: work},
		// Billed at the end only: at the start the delay comes before the
		// scale-up, so it is latency, not node time.
		{Name: "backlog seen late (Cloud Monitoring)", Minutes: t.BacklogMetricDelay.Minutes(), Guess: t.BacklogMetricDelay.Guess},
	}
	if cooldownSeconds > 0 {
		phases = append(phases, Phase{Name: "KEDA cooldown", Minutes: cooldownSeconds / 60})
	}
	elapsed := 0.0
	for _, p := range phases {
		elapsed += p.Minutes
	}
	wait := unneeded.Minutes()
	guess := unneeded.Guess
	if floor := t.ScaleDownDelayAfterAdd.Minutes(); elapsed+wait < floor {
		wait, guess = floor-elapsed, t.ScaleDownDelayAfterAdd.Guess
	}
	// The VM's own deletion (a minute or so, no public figure) is left out.
	phases = append(phases, Phase{Name: "scale-down wait (" + profile + ")", Minutes: wait, Guess: guess})
	return phases, nil
}

// burst prices one burst on a GPU pool and what bursts a month add.
func (p *Prices) burst(pool Pool, r poolRates, b Bursts, cooldownSeconds float64, profile string, perVMHour, share float64) (Burst, error) {
	phases, err := p.BurstTimings.burstPhases(b.WorkMinutes, cooldownSeconds, profile, pool.ImageStreaming)
	if err != nil {
		return Burst{}, err
	}
	out := Burst{Pool: pool.Name, Profile: orDefault(profile, ProfileBalanced), ImageStreaming: pool.ImageStreaming, Phases: phases}
	for _, ph := range phases {
		out.NodeMinutes += ph.Minutes
		out.Guess = out.Guess || ph.Guess
	}
	hours := out.NodeMinutes / 60
	// One burst at the base rate: a burst alone earns no sustained use discount.
	perHour := r.node + r.disk/p.HoursPerMonth + perVMHour
	out.Dollars = hours * perHour
	out.WorkShare = b.WorkMinutes / out.NodeMinutes
	out.Share = share
	out.PerMonth = b.PerDay * p.HoursPerMonth / 24 * share
	out.NodeHoursPerMonth = out.PerMonth * hours
	out.MonthlyDollars = out.NodeHoursPerMonth * perHour
	return out, nil
}

// writeBursts prints each GPU pool's burst, phase by phase.
func writeBursts(w io.Writer, bursts []Burst) {
	for _, b := range bursts {
		var parts []string
		for _, ph := range b.Phases {
			parts = append(parts, fmt.Sprintf("%s %s", minutes(ph.Minutes), ph.Name))
		}
		mark := ""
		if b.Guess {
			mark = "~"
		}
		fmt.Fprintf(w, "burst on the %s pool, from zero nodes: %s = %s%.1f node-min billed, %s$%.2f (%.0f%% of it working)\n",
			b.Pool, strings.Join(parts, " + "), mark, b.NodeMinutes, mark, b.Dollars, 100*b.WorkShare)
		share := ""
		if b.Share < 1 {
			share = fmt.Sprintf(", %.0f%% of all bursts", 100*b.Share)
		}
		fmt.Fprintf(w, "  %.0f bursts a month (%.4g a day%s): %.1f node-h, %s$%.2f/month at list price (the busy column prices these node-hours, with any discount)\n",
			b.PerMonth, b.PerMonth*24/730, share, b.NodeHoursPerMonth, mark, b.MonthlyDollars)
	}
}

// minutes prints 1.5 as "1.5 min" and 10 as "10 min".
func minutes(m float64) string {
	if m == math.Trunc(m) {
		return fmt.Sprintf("%.0f min", m)
	}
	return fmt.Sprintf("%.1f min", m)
}
