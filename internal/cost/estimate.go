package cost

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
)

// Pool is one node pool as the estimate sees it.
type Pool struct {
	// MachineType of every node.
	MachineType string
	// DiskType and DiskSizeGb of every node's boot disk.
	DiskType   string
	DiskSizeGb int
	// MinNodes run all month; MaxNodes is the busiest the pool gets.
	MinNodes, MaxNodes int
	// Spot prices the nodes as Spot VMs.
	Spot bool
	// AcceleratorType and AcceleratorCount are the GPUs per node (none if empty).
	AcceleratorType  string
	AcceleratorCount int
}

// Input is what a stack's config says about its cost.
type Input struct {
	// Regional is true when the control plane is regional (never free).
	Regional bool
	// FreeTier is true when this zonal cluster gets the billing account's
	// free-tier credit (one cluster per account does).
	FreeTier bool
	// CPUPool is the always-on pool: idle at MinNodes, busy at MaxNodes.
	CPUPool Pool
	// GPUPool is nil without one. Idle at MinNodes; busy adds GPUBusyHours node-hours.
	GPUPool *Pool
	// GPUBusyHours is the expected GPU node-hours per month.
	GPUBusyHours float64
	// ForwardingRules is the number of load balancer forwarding rules (one per GKE Ingress).
	ForwardingRules int
	// StaticIPs is the number of reserved external addresses.
	StaticIPs int
	// RegistryStorageGB is the expected image storage.
	RegistryStorageGB float64
}

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
	Lines        []Line  `json:"lines"`
	IdleMonthly  float64 `json:"idleMonthly"`
	IdleDaily    float64 `json:"idleDaily"`
	BusyMonthly  float64 `json:"busyMonthly"`
	HasGuesses   bool    `json:"hasGuesses"`
	GPUBusyHours float64 `json:"gpuBusyHours"`
}

// Estimate prices an input. Unknown machine types, GPUs or disks are an
// error: a silent zero would make an expensive stack look free.
func (p *Prices) Estimate(in Input) (Estimate, error) {
	h := p.HoursPerMonth
	var e Estimate
	add := func(l Line) {
		l.Idle, l.Busy = round2(l.Idle), round2(l.Busy)
		e.Lines = append(e.Lines, l)
	}

	fee := p.GKE.ClusterPerHour.Price * h
	switch {
	case in.Regional:
		add(Line{Item: "control plane", Detail: "regional: not covered by the free tier", Idle: fee, Busy: fee})
	case !in.FreeTier:
		add(Line{Item: "control plane", Detail: "zonal, but the billing account's free-tier credit goes to another cluster", Idle: fee, Busy: fee})
	default:
		credit := math.Min(fee, p.GKE.FreeTierPerMonth.Price)
		add(Line{Item: "control plane", Detail: fmt.Sprintf("zonal: $%.2f fee less free-tier credit (one zonal cluster per billing account)", fee), Idle: fee - credit, Busy: fee - credit})
	}

	cpu, err := p.poolHourly("cpuPool", in.CPUPool)
	if err != nil {
		return Estimate{}, err
	}
	add(Line{
		Item:   "cpu pool nodes",
		Detail: fmt.Sprintf("%d..%d x %s%s", in.CPUPool.MinNodes, in.CPUPool.MaxNodes, in.CPUPool.MachineType, spotNote(in.CPUPool.Spot)),
		Idle:   float64(in.CPUPool.MinNodes) * cpu.node * h,
		Busy:   float64(in.CPUPool.MaxNodes) * cpu.node * h,
		Guess:  cpu.nodeGuess,
	})
	add(Line{
		Item:   "cpu pool disks",
		Detail: fmt.Sprintf("%d GB %s per node", in.CPUPool.DiskSizeGb, in.CPUPool.DiskType),
		Idle:   float64(in.CPUPool.MinNodes) * cpu.disk,
		Busy:   float64(in.CPUPool.MaxNodes) * cpu.disk,
		Guess:  cpu.diskGuess,
	})

	if g := in.GPUPool; g != nil {
		gpu, err := p.poolHourly("gpuPool", *g)
		if err != nil {
			return Estimate{}, err
		}
		busyHours := math.Min(in.GPUBusyHours, float64(g.MaxNodes)*h)
		idleHours := float64(g.MinNodes) * h
		detail := fmt.Sprintf("%d..%d x %s + %d x %s%s; busy adds %.0f node-h", g.MinNodes, g.MaxNodes, g.MachineType, g.AcceleratorCount, g.AcceleratorType, spotNote(g.Spot), busyHours)
		add(Line{
			Item: "gpu pool nodes", Detail: detail,
			Idle:  idleHours * gpu.node,
			Busy:  (idleHours + busyHours) * gpu.node,
			Guess: gpu.nodeGuess,
		})
		add(Line{
			Item:   "gpu pool disks",
			Detail: fmt.Sprintf("%d GB %s per node, while a node exists", g.DiskSizeGb, g.DiskType),
			Idle:   idleHours / h * gpu.disk,
			Busy:   (idleHours + busyHours) / h * gpu.disk,
			Guess:  gpu.diskGuess,
		})
	}

	if in.ForwardingRules > 0 {
		fr := float64(in.ForwardingRules) * p.ForwardingRulePerHour.Price * h
		add(Line{Item: "load balancer", Detail: fmt.Sprintf("%d forwarding rule(s): the Ingress", in.ForwardingRules), Idle: fr, Busy: fr, Guess: p.ForwardingRulePerHour.Guess})
	}
	if in.StaticIPs > 0 {
		ip := float64(in.StaticIPs) * p.StaticIPPerHour.Price * h
		add(Line{Item: "static IP", Detail: fmt.Sprintf("%d reserved address(es)", in.StaticIPs), Idle: ip, Busy: ip, Guess: p.StaticIPPerHour.Guess})
	}
	reg := math.Max(0, in.RegistryStorageGB-p.ArtifactRegistry.FreeGB.Price) * p.ArtifactRegistry.PerGBMonth.Price
	add(Line{Item: "image registry", Detail: fmt.Sprintf("%.1f GB stored, %.1f GB free", in.RegistryStorageGB, p.ArtifactRegistry.FreeGB.Price), Idle: reg, Busy: reg})

	for _, l := range e.Lines {
		e.IdleMonthly += l.Idle
		e.BusyMonthly += l.Busy
		e.HasGuesses = e.HasGuesses || l.Guess
	}
	e.IdleMonthly, e.BusyMonthly = round2(e.IdleMonthly), round2(e.BusyMonthly)
	e.IdleDaily = round2(e.IdleMonthly * 24 / h)
	e.GPUBusyHours = in.GPUBusyHours
	return e, nil
}

type poolRates struct {
	node, disk           float64 // node $/h, disk $/month per node
	nodeGuess, diskGuess bool
}

func (p *Prices) poolHourly(key string, pool Pool) (poolRates, error) {
	m, err := p.machine(key+".machineType", pool.MachineType)
	if err != nil {
		return poolRates{}, err
	}
	node, guess := m.For(pool.Spot)
	if pool.AcceleratorType != "" {
		a, err := p.accelerator(key+".acceleratorType", pool.AcceleratorType)
		if err != nil {
			return poolRates{}, err
		}
		gpu, gpuGuess := a.For(pool.Spot)
		node += float64(pool.AcceleratorCount) * gpu
		guess = guess || gpuGuess
	}
	d, err := p.disk(key+".diskType", pool.DiskType)
	if err != nil {
		return poolRates{}, err
	}
	return poolRates{node: node, disk: float64(pool.DiskSizeGb) * d.PerGBMonth, nodeGuess: guess, diskGuess: d.Guess}, nil
}

// WriteTable writes the estimate as an aligned table; guessed figures carry a '~'.
func (e Estimate) WriteTable(w io.Writer, title string) error {
	row := func(item, idle, busy, detail string) {
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("%-16s %13s %13s  %s", item, idle, busy, detail), " "))
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
