package cost

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/accelerator"
)

// Cluster is one GKE control plane.
type Cluster struct {
	// Name is the cluster's name, for the report.
	Name string
	// Regional is true for a regional control plane (never free).
	Regional bool
	// AutoscalingProfile is the cluster autoscaler's profile; empty is
	// GKE's default, BALANCED. A burst's scale-down follows it.
	AutoscalingProfile string
}

// Pool is one node pool as the estimate sees it.
type Pool struct {
	// Name labels the pool's lines ("cpu" -> "cpu pool nodes").
	Name string
	// MachineType of every node.
	MachineType string
	// DiskType and DiskSizeGb of every node's boot disk.
	DiskType   string
	DiskSizeGb int
	// MinNodes and MaxNodes bound the whole pool (all its zones).
	MinNodes, MaxNodes int
	// Spot prices the nodes as Spot VMs.
	Spot bool
	// AcceleratorType and AcceleratorCount are the GPUs per node (none if
	// empty). A GPU pool idles at MinNodes and is busy for GPUBusyHours more
	// node-hours; any other pool idles at MinNodes and is busy at MaxNodes.
	AcceleratorType  string
	AcceleratorCount int
	// PrivateNodes gives the nodes internal addresses only: no external
	// IPv4 each; they reach the internet through Cloud NAT if there is one.
	PrivateNodes bool
	// ImageStreaming is GKE image streaming on the pool: a new node starts
	// a large image in seconds.
	ImageStreaming bool
	// Key is the pool's config key, for errors; default: <Name>Pool.
	Key string
	// Rank is a GPU pool's place in the GPU ComputeClass: 0 is tried
	// first. The busy month's GPU work is shared between the GPU pools by
	// rank (Input.FallbackShare).
	Rank int
	// FlexStart prices the nodes with flex-start's discount on the
	// on-demand price (and the worst month without it).
	FlexStart bool
	// privateSet says the graph's pool states PrivateNodes itself.
	privateSet bool
}

// Input is what a stack will create, plus what no graph says (usage and
// the billing account's free tier).
type Input struct {
	// Region is where everything runs; it must be the price table's region.
	Region string
	// Clusters are the GKE control planes.
	Clusters []Cluster
	// FreeTier gives the billing account's free-tier credit to this stack's
	// first zonal cluster (one cluster per account gets it).
	FreeTier bool
	// Pools are the node pools.
	Pools []Pool
	// GPUBusyHours is the expected GPU node-hours per month, per GPU pool;
	// ignored when Bursts is set, which derives them.
	GPUBusyHours float64
	// Bursts, when set, is the GPU work as bursts from zero nodes: the busy
	// month adds each burst's billed node time (BurstTimings), not just its
	// work.
	Bursts *Bursts
	// CooldownSeconds is KEDA's cooldown of the GPU workers after their
	// queue empties (0 for Jobs, which end with their work).
	CooldownSeconds float64
	// CloudNAT says a Cloud NAT gateway serves the private nodes.
	CloudNAT bool
	// NATDataGB is the traffic per month through the NAT gateway.
	NATDataGB float64
	// AlwaysOnPods are the pods that run all month, for the Autopilot
	// comparison; none leaves it out.
	AlwaysOnPods []Pod
	// WarmGPUNodeHours are GPU node-hours per month that warm windows keep
	// up whether or not work arrives (idle pays them too), per GPU pool.
	WarmGPUNodeHours float64
	// ForwardingRules is the number of load balancer forwarding rules (one per GKE Ingress).
	ForwardingRules int
	// StaticIPs is the number of reserved external addresses.
	StaticIPs int
	// RegistryStorageGB is the expected image storage.
	RegistryStorageGB float64
	// JobRecords, when set, prices the queues' job records in Cloud Storage.
	JobRecords *JobRecords
	// FallbackShare is the chance that a GPU option cannot supply a node
	// when the autoscaler asks (a stockout), 0 to 1: the next option then
	// serves. With options 0..n-1, option k takes (1-s)·s^k of the GPU
	// work and the last one s^(n-1).
	FallbackShare float64
	// MaxGPUPods bounds the GPU nodes of the worst month: the most GPU
	// pods the apps can run at once (each may need a node of its own); 0:
	// no bound but the pools' maxNodes.
	MaxGPUPods int
}

// GPUShares are the shares of the GPU work each of n GPU options takes
// when each cannot supply a node with chance s (see Input.FallbackShare).
func GPUShares(n int, s float64) []float64 {
	shares := make([]float64, n)
	left := 1.0
	for k := range n {
		if k == n-1 {
			shares[k] = left
			break
		}
		shares[k] = left * (1 - s)
		left *= s
	}
	return shares
}

// JobRecords are the busy month's jobs, each with a record and a result
// in a results bucket.
type JobRecords struct {
	// PerMonth is the jobs per month.
	PerMonth float64
	// KeepDays is how long a record and its result are kept.
	KeepDays int
}

// Operations and size per job: the backend creates the record (1 write);
// the worker reads and rewrites it when it starts and when it ends (2
// reads, 2 writes) and writes the result (1 write); a caller polls the
// status and fetches the result (3 reads, assumed). A record with a small
// result is about 1 KB, the result object as much again.
const (
	writesPerJob   = 4
	readsPerJob    = 5
	bytesPerJob    = 2048
	daysPerMonthCS = 30.4
)

// Line is one item of the estimate, in USD per month.
type Line struct {
	Item   string  `json:"item"`
	Detail string  `json:"detail"`
	Idle   float64 `json:"idle"`
	Busy   float64 `json:"busy"`
	Guess  bool    `json:"guess"`
}

// Estimate is a stack's cost, line by line, in USD.
type Estimate struct {
	Lines       []Line  `json:"lines"`
	IdleMonthly float64 `json:"idleMonthly"`
	IdleDaily   float64 `json:"idleDaily"`
	BusyMonthly float64 `json:"busyMonthly"`
	// WorstMonthly is a month in which the queue never empties: busy, with
	// every GPU pool at its maximum all month. The ceiling queued work can
	// cause.
	WorstMonthly float64 `json:"worstMonthly"`
	HasGuesses   bool    `json:"hasGuesses"`
	GPUBusyHours float64 `json:"gpuBusyHours"`
	// Assumptions are the choices that move money, one sentence each.
	Assumptions []string `json:"assumptions"`
	// Bursts are each GPU pool's burst from zero, when Input.Bursts is set.
	Bursts []Burst `json:"bursts,omitempty"`
	// Alternatives are the same work priced on other products.
	Alternatives []Alternative `json:"alternatives,omitempty"`
	// Suggestions are changes to the config that would cost less, one
	// sentence each (the stack's own knowledge, e.g. pods that fit a
	// smaller machine type).
	Suggestions []string `json:"suggestions,omitempty"`
}

// ErrUnpricedRegion is wrapped by the error for a region prices.json lacks.
var ErrUnpricedRegion = errors.New("no prices for region")

// Estimate prices an input. An unknown region, machine type, GPU or disk is
// an error: a silent zero (or another region's price) would mislead.
func (p *Prices) Estimate(in Input) (Estimate, error) {
	if in.Region != p.Region {
		return Estimate{}, fmt.Errorf("%w %q: internal/cost/prices.json holds %s only; add %s's prices there (each with its source and date) or pick a zone in %s",
			ErrUnpricedRegion, in.Region, p.Region, in.Region, p.Region)
	}
	h := p.HoursPerMonth
	var e Estimate
	add := func(l Line) {
		l.Idle, l.Busy = round2(l.Idle), round2(l.Busy)
		e.Lines = append(e.Lines, l)
	}
	note := func(format string, args ...any) { e.Assumptions = append(e.Assumptions, fmt.Sprintf(format, args...)) }
	note("%.0f hours per month (Google bills a month as 730 hours)", h)

	fee := p.GKE.ClusterPerHour.Price * h
	credited := ""
	for _, c := range in.Clusters {
		item := "control plane"
		if len(in.Clusters) > 1 {
			item += " " + c.Name
		}
		switch {
		case c.Regional:
			add(Line{Item: item, Detail: "regional: not covered by the free tier", Idle: fee, Busy: fee})
		case !in.FreeTier || credited != "":
			add(Line{Item: item, Detail: "zonal, but the billing account's free-tier credit goes to another cluster", Idle: fee, Busy: fee})
		default:
			credit := math.Min(fee, p.GKE.FreeTierPerMonth.Price)
			credited = c.Name
			add(Line{Item: item, Detail: fmt.Sprintf("zonal: $%.2f fee less free-tier credit (one zonal cluster per billing account)", fee), Idle: fee - credit, Busy: fee - credit})
		}
	}
	if credited != "" {
		note("free-tier credit ($%.2f/month, one zonal cluster per billing account) used by cluster %s", p.GKE.FreeTierPerMonth.Price, credited)
	} else if len(in.Clusters) > 0 {
		note("free-tier credit not used by this stack: another cluster on the billing account takes it, so every control plane here pays $%.2f/month", fee)
	}

	var ipIdle, ipBusy, worstExtra float64
	var natVMIdle, natVMBusy float64 // node-hours of private nodes
	ipGuess, private := false, false
	gpuPools := 0
	// The parts of this stack another product would replace.
	cpuSide, gpuSide := 0.0, 0.0
	for _, l := range e.Lines {
		cpuSide += l.Idle
	}
	controlPlane := cpuSide // Autopilot pays the same fee, with the same free tier
	profile := ""
	if len(in.Clusters) > 0 {
		profile = in.Clusters[0].AutoscalingProfile
	}
	var gpuWorkHours, gpuBusy float64
	var gpuAccel string
	shares := gpuShares(in.Pools, in.FallbackShare)
	for i, pool := range in.Pools {
		share := shares[i]
		r, err := p.poolRates(pool)
		if err != nil {
			return Estimate{}, err
		}
		idleNodeHours := float64(pool.MinNodes) * h
		busyNodeHours := float64(pool.MaxNodes) * h
		busyExtra, warm := 0.0, 0.0
		detail := fmt.Sprintf("%d..%d x %s", pool.MinNodes, pool.MaxNodes, pool.MachineType)
		ip, guess := p.NodeExternalIPPerHour.For(pool.Spot)
		if pool.PrivateNodes {
			ip, guess, private = 0, false, true
		}
		if pool.AcceleratorType != "" {
			gpuPools++
			// Warm windows run with no work at all: idle pays them.
			warm = math.Min(in.WarmGPUNodeHours*share, float64(pool.MaxNodes-pool.MinNodes)*h)
			idleNodeHours += warm
			want, work := in.GPUBusyHours*share, in.GPUBusyHours*share
			if in.Bursts != nil {
				perVM := ip
				if pool.PrivateNodes && in.CloudNAT {
					perVM = p.CloudNAT.PerVMHour.Price
				}
				b, err := p.burst(pool, r, *in.Bursts, in.CooldownSeconds, profile, perVM, share)
				if err != nil {
					return Estimate{}, err
				}
				e.Bursts = append(e.Bursts, b)
				want, work = b.NodeHoursPerMonth, b.PerMonth*in.Bursts.WorkMinutes/60
			}
			gpuWorkHours += work * float64(pool.AcceleratorCount)
			if pool.Rank == 0 {
				gpuAccel = pool.AcceleratorType
			}
			busyExtra = math.Min(want, float64(pool.MaxNodes)*h-idleNodeHours)
			busyNodeHours = idleNodeHours + busyExtra
			detail += fmt.Sprintf(" + %d x %s", pool.AcceleratorCount, pool.AcceleratorType)
			if len(shares) > 1 {
				detail += fmt.Sprintf(", GPU option %d, %.0f%% of the work", pool.Rank+1, 100*share)
			}
		}
		detail += spotNote(pool.Spot)
		if pool.FlexStart {
			detail += fmt.Sprintf(" (flex-start, -%.0f%%)", 100*p.FlexStartDiscount.Price)
		}
		idle := p.runCost(r, idleNodeHours)
		var busy float64
		if pool.AcceleratorType != "" {
			// The busy hours run on top of the always-on nodes, as extra VMs.
			busy = idle + p.runCost(r, busyExtra)
			if warm > 0 {
				detail += fmt.Sprintf("; warm windows keep %.0f node-h", warm)
			}
			detail += fmt.Sprintf("; busy adds %.0f node-h", busyExtra)
		} else {
			busy = p.runCost(r, busyNodeHours)
		}
		idleFactor, busyFactor := paidShare(idle, idleNodeHours*r.node), paidShare(busy, busyNodeHours*r.node)
		detail += "; " + r.sudNote(idleFactor, busyFactor, pool.MinNodes > 0)
		add(Line{Item: pool.Name + " pool nodes", Detail: detail, Idle: idle, Busy: busy, Guess: r.nodeGuess || r.sudGuess})
		diskDetail := fmt.Sprintf("%d GB %s per node", pool.DiskSizeGb, pool.DiskType)
		if pool.AcceleratorType != "" {
			diskDetail += ", while a node exists"
		}
		add(Line{
			Item:   pool.Name + " pool disks",
			Detail: diskDetail,
			Idle:   idleNodeHours / h * r.disk,
			Busy:   busyNodeHours / h * r.disk,
			Guess:  r.diskGuess,
		})
		ipIdle += idleNodeHours * ip
		ipBusy += busyNodeHours * ip
		ipGuess = ipGuess || guess
		if pool.PrivateNodes {
			natVMIdle += idleNodeHours
			natVMBusy += busyNodeHours
		}
		if pool.AcceleratorType == "" {
			cpuSide += idle + idleNodeHours/h*r.disk + idleNodeHours*ip
		} else {
			gpuSide += busy - idle + busyExtra/h*r.disk + busyExtra*ip
			gpuBusy += busy + busyNodeHours/h*r.disk + busyNodeHours*ip
			if pool.Rank == 0 {
				week := 7 * 24.0
				note("without a dead-letter policy a job that always fails holds one %s node for Pub/Sub's 7-day retention: $%.2f (%.0f node-hours); the platform's queues dead-letter it after maxDeliveryAttempts",
					pool.Name, p.runCost(r, week)+week/h*r.disk+week*ip, week)
			}
		}
	}
	if gpuPools > 0 {
		worst, err := p.worstGPU(in)
		if err != nil {
			return Estimate{}, err
		}
		worstExtra += worst.dollars - gpuBusy
		note("worst month: %s", worst.why)
	}
	if len(shares) > 1 {
		note("GPU options tried in order (the GPU ComputeClass); each cannot supply a node with chance %.0f%% (cost.fallbackShare), so the next one serves: option k takes (1-s)·s^k of the GPU work, the last s^(n-1)",
			100*in.FallbackShare)
	}
	if ipIdle > 0 || ipBusy > 0 {
		add(Line{Item: "node external IPs", Detail: fmt.Sprintf("one public IPv4 per node: $%.4f/h, $%.4f/h on Spot", p.NodeExternalIPPerHour.OnDemand, p.NodeExternalIPPerHour.Spot),
			Idle: ipIdle, Busy: ipBusy, Guess: ipGuess})
		note("every public node has an external IPv4: $%.4f/h on demand, $%.4f/h on Spot", p.NodeExternalIPPerHour.OnDemand, p.NodeExternalIPPerHour.Spot)
	}
	if private && in.CloudNAT {
		nat := p.CloudNAT
		fixed := nat.IPPerHour.Price*h + in.NATDataGB*nat.PerGB.Price
		// Per VM-hour, capped at the 32-VM rate (whole month averages).
		gateway := func(vmHours float64) float64 { return math.Min(vmHours*nat.PerVMHour.Price, nat.MaxPerHour.Price*h) }
		natIdle, natBusy := gateway(natVMIdle)+fixed, gateway(natVMBusy)+fixed
		add(Line{Item: "cloud NAT", Detail: fmt.Sprintf("private nodes: $%.4f per node-hour, one NAT IPv4 at $%.4f/h, %.0f GB at $%.3f/GB", nat.PerVMHour.Price, nat.IPPerHour.Price, in.NATDataGB, nat.PerGB.Price),
			Idle: natIdle, Busy: natBusy})
		cpuSide += natIdle
		gpuSide += natBusy - natIdle
		note("private nodes have no external IPv4; they reach the internet through Cloud NAT ($%.4f per VM-hour, capped at $%.3f/h, plus its own IPv4 and $%.3f per GB processed; cloud.google.com/nat/pricing), and Google APIs and Artifact Registry through Private Google Access at no charge",
			nat.PerVMHour.Price, nat.MaxPerHour.Price, nat.PerGB.Price)
	}
	if len(in.Pools) > 0 {
		note("sustained use discount on on-demand N1/N2/N2D nodes (and GPUs on N1) for the share of the month they run: always-on nodes all month, GPU busy hours packed onto as few nodes as possible; none on Spot, E2, G2/A2/A3 (cloud.google.com/compute/docs/sustained-use-discounts)")
	}
	if gpuPools > 0 && in.Bursts == nil {
		note("GPU pools idle at minNodes; busy adds %.0f GPU node-hours per month to each", in.GPUBusyHours)
	}
	if len(e.Bursts) > 0 {
		note("GPU pools idle at minNodes; busy adds %.4g bursts a day, each from zero nodes: the node is billed from the autoscaler's scale-up through node start, image pull, the work, KEDA's cooldown and the autoscaler's scale-down (internal/cost/prices.json burstTimings, each sourced)", in.Bursts.PerDay)
	}

	if in.ForwardingRules > 0 {
		fr := float64(in.ForwardingRules) * p.ForwardingRulePerHour.Price * h
		add(Line{Item: "load balancer", Detail: fmt.Sprintf("%d forwarding rule(s): the Ingress", in.ForwardingRules), Idle: fr, Busy: fr, Guess: p.ForwardingRulePerHour.Guess})
	}
	if in.StaticIPs > 0 {
		ip := float64(in.StaticIPs) * p.StaticIPPerHour.Price * h
		add(Line{Item: "static IP", Detail: fmt.Sprintf("%d reserved address(es)", in.StaticIPs), Idle: ip, Busy: ip, Guess: p.StaticIPPerHour.Guess})
	}
	if j := in.JobRecords; j != nil {
		cs := p.CloudStorage
		ops := j.PerMonth * (writesPerJob*cs.ClassAPer1000.Price + readsPerJob*cs.ClassBPer1000.Price) / 1000
		gbMonths := j.PerMonth * bytesPerJob / (1 << 30) * float64(j.KeepDays) / daysPerMonthCS
		add(Line{Item: "job records", Detail: fmt.Sprintf("Cloud Storage: %.0f jobs x %d writes ($%.4f/1,000) and %d reads ($%.4f/1,000), about %d KB each kept %d days",
			j.PerMonth, writesPerJob, cs.ClassAPer1000.Price, readsPerJob, cs.ClassBPer1000.Price, bytesPerJob/1024, j.KeepDays),
			Busy: ops + gbMonths*cs.StandardPerGBMonth.Price})
	}
	reg := math.Max(0, in.RegistryStorageGB-p.ArtifactRegistry.FreeGB.Price) * p.ArtifactRegistry.PerGBMonth.Price
	add(Line{Item: "image registry", Detail: fmt.Sprintf("%.1f GB stored, %.1f GB free", in.RegistryStorageGB, p.ArtifactRegistry.FreeGB.Price), Idle: reg, Busy: reg})

	for _, l := range e.Lines {
		e.IdleMonthly += l.Idle
		e.BusyMonthly += l.Busy
		e.HasGuesses = e.HasGuesses || l.Guess
	}
	e.WorstMonthly = round2(e.BusyMonthly + worstExtra)
	e.Alternatives = p.alternatives(in, controlPlane, cpuSide, gpuSide, gpuWorkHours, gpuAccel)
	e.IdleMonthly, e.BusyMonthly = round2(e.IdleMonthly), round2(e.BusyMonthly)
	e.IdleDaily = round2(e.IdleMonthly * 24 / h)
	e.GPUBusyHours = in.GPUBusyHours
	if len(e.Bursts) > 0 {
		e.GPUBusyHours = 0
		for _, b := range e.Bursts {
			e.GPUBusyHours += b.NodeHoursPerMonth
		}
	}
	return e, nil
}

type poolRates struct {
	machine, gpus        float64 // $/h per node, before any discount
	node                 float64 // machine + gpus
	disk                 float64 // $/month per node
	family               string
	sudMachine, sudGPUs  bool // whether the discount applies to each part
	nodeGuess, diskGuess bool
	sudGuess             bool
	spot                 bool
}

func (p *Prices) poolRates(pool Pool) (poolRates, error) {
	key := orDefault(pool.Key, pool.Name+"Pool")
	m, err := p.machine(key+".machineType", pool.MachineType)
	if err != nil {
		return poolRates{}, err
	}
	r := poolRates{family: accelerator.Family(pool.MachineType), spot: pool.Spot}
	r.machine, r.nodeGuess = m.For(pool.Spot)
	if pool.AcceleratorType != "" {
		a, err := p.accelerator(key+".acceleratorType", pool.AcceleratorType)
		if err != nil {
			return poolRates{}, err
		}
		gpu, gpuGuess := a.For(pool.Spot)
		r.gpus = float64(pool.AcceleratorCount) * gpu
		r.nodeGuess = r.nodeGuess || gpuGuess
	}
	if pool.FlexStart {
		off := 1 - p.FlexStartDiscount.Price
		r.machine, r.gpus, r.nodeGuess = r.machine*off, r.gpus*off, r.nodeGuess || p.FlexStartDiscount.Guess
	}
	r.node = r.machine + r.gpus
	d, err := p.disk(key+".diskType", pool.DiskType)
	if err != nil {
		return poolRates{}, err
	}
	r.disk, r.diskGuess = float64(pool.DiskSizeGb)*d.PerGBMonth, d.Guess
	_, r.sudMachine = p.SustainedUse.Families[r.family]
	r.sudMachine = r.sudMachine && !pool.Spot && !pool.FlexStart
	r.sudGPUs = r.sudMachine && slices.Contains(p.SustainedUse.GPUsOn, r.family)
	if r.sudMachine {
		_, r.sudGuess = p.SustainedUse.Factor(r.family, 1)
	}
	return r, nil
}

// runCost prices nodeHours of a pool's nodes, packed as full-month VMs plus
// one partial VM, with the sustained use discount where it applies.
func (p *Prices) runCost(r poolRates, nodeHours float64) float64 {
	if nodeHours <= 0 {
		return 0
	}
	h := p.HoursPerMonth
	full := math.Floor(nodeHours / h)
	rest := nodeHours/h - full
	factor := func(f float64) float64 {
		x, _ := p.SustainedUse.Factor(r.family, f)
		return x
	}
	part := func(rate float64, discounted bool) float64 {
		if !discounted {
			return rate * nodeHours
		}
		return rate * h * (full*factor(1) + rest*factor(rest))
	}
	return part(r.machine, r.sudMachine) + part(r.gpus, r.sudGPUs)
}

// gpuShares are the shares of the GPU work each pool takes, by index in
// pools: by rank among the GPU pools (GPUShares); 0 for the others.
func gpuShares(pools []Pool, s float64) map[int]float64 {
	var gpu []int
	for i, pool := range pools {
		if pool.AcceleratorType != "" {
			gpu = append(gpu, i)
		}
	}
	slices.SortStableFunc(gpu, func(a, b int) int { return pools[a].Rank - pools[b].Rank })
	shares := map[int]float64{}
	for k, share := range GPUShares(len(gpu), s) {
		shares[gpu[k]] = share
	}
	return shares
}

// worstGPUMonth is the GPU side of a month in which the queue never
// empties, and how it was reckoned.
type worstGPUMonth struct {
	dollars float64
	why     string
}

// worstGPU prices the most GPU nodes that can run at once (every GPU
// pool's maxNodes, no more than the GPU pods), all month, each at the
// dearest option's rate: a stockout may leave only that one.
func (p *Prices) worstGPU(in Input) (worstGPUMonth, error) {
	h := p.HoursPerMonth
	nodes, floor, dearest, dearestName := 0, 0, -1.0, ""
	var rates poolRates
	var ip float64
	for _, pool := range in.Pools {
		if pool.AcceleratorType == "" {
			continue
		}
		nodes += pool.MaxNodes
		floor += pool.MinNodes
		pool.FlexStart = false // no discount is promised
		r, err := p.poolRates(pool)
		if err != nil {
			return worstGPUMonth{}, err
		}
		addr, _ := p.NodeExternalIPPerHour.For(pool.Spot)
		if pool.PrivateNodes {
			addr = 0
		}
		if perHour := r.node + r.disk/h + addr; perHour > dearest {
			dearest, dearestName, rates, ip = perHour, pool.Name, r, addr
		}
	}
	why := fmt.Sprintf("the GPU pools' maxNodes (%d) all month", nodes)
	if bound := max(in.MaxGPUPods, floor); in.MaxGPUPods > 0 && bound < nodes {
		// Never below the nodes the pools keep at their minimum.
		nodes = bound
		why = fmt.Sprintf("%d GPU nodes all month: one per GPU pod the apps can run at once (no fewer than the pools' minNodes, no more than their maxNodes)", nodes)
	}
	hours := float64(nodes) * h
	dollars := p.runCost(rates, hours) + float64(nodes)*rates.disk + hours*ip
	return worstGPUMonth{dollars, why + fmt.Sprintf(", each priced as a %s node, the dearest GPU option ($%.3f/h with disk and address)", dearestName, dearest)}, nil
}

// paidShare is the share of the base price paid: 1 when nothing runs.
func paidShare(paid, base float64) float64 {
	if base <= 0 {
		return 1
	}
	return paid / base
}

// sudNote says whether the discount applied, and why not.
func (r poolRates) sudNote(idleFactor, busyFactor float64, alwaysOn bool) string {
	switch {
	case r.spot:
		return "Spot: no sustained use discount"
	case !r.sudMachine:
		return strings.ToUpper(r.family) + ": no sustained use discount"
	}
	idle, busy := math.Round(100*(1-idleFactor)), math.Round(100*(1-busyFactor))
	switch {
	case alwaysOn && idle == busy:
		return fmt.Sprintf("sustained use -%.0f%% (%s, all month)", idle, strings.ToUpper(r.family))
	case alwaysOn:
		return fmt.Sprintf("sustained use -%.0f%% idle, -%.0f%% busy (%s)", idle, busy, strings.ToUpper(r.family))
	case busy > 0:
		return fmt.Sprintf("sustained use -%.0f%% busy (%s)", busy, strings.ToUpper(r.family))
	default:
		return "no sustained use discount under 25% of a month"
	}
}

// WriteTable writes the estimate as an aligned table; guessed figures carry a '~'.
func (e Estimate) WriteTable(w io.Writer, title string) error {
	row := func(item, idle, busy, detail string) {
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("%-17s %13s %13s  %s", item, idle, busy, detail), " "))
	}
	money := func(x float64, guess bool) string {
		if guess {
			return fmt.Sprintf("~%.2f", x)
		}
		return fmt.Sprintf("%.2f", x)
	}
	fmt.Fprintln(w, title)
	row("item", "idle $/month", "busy $/month", "detail")
	for _, l := range e.Lines {
		row(l.Item, money(l.Idle, l.Guess), money(l.Busy, l.Guess), l.Detail)
	}
	row("total", money(e.IdleMonthly, false), money(e.BusyMonthly, false), "")
	fmt.Fprintf(w, "idle: $%.2f/day, $%.2f/month; busy (%.0f GPU node-hours): $%.2f/month\n", e.IdleDaily, e.IdleMonthly, e.GPUBusyHours, e.BusyMonthly)
	fmt.Fprintf(w, "worst (the queue never empties; how it is reckoned is under assumptions): $%.2f/month\n", e.WorstMonthly)
	writeBursts(w, e.Bursts)
	writeAlternatives(w, e.Alternatives)
	fmt.Fprintln(w, "assumptions:")
	for _, a := range e.Assumptions {
		fmt.Fprintf(w, "- %s\n", a)
	}
	if len(e.Suggestions) > 0 {
		fmt.Fprintln(w, "suggestions:")
		for _, x := range e.Suggestions {
			fmt.Fprintf(w, "- %s\n", x)
		}
	}
	if e.HasGuesses {
		_, err := fmt.Fprintln(w, "~ marks figures built on a guessed or derived price (see internal/cost/prices.json).")
		return err
	}
	return nil
}

func spotNote(spot bool) string {
	if spot {
		return " (Spot)"
	}
	return ""
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

func sortedNames[V any](m map[string]V) string {
	return strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}
