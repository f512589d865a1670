package config

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/accelerator"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/cost"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/gpuclass"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/keda"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/machine"
)

// CostInput is what the stack's config says it will create, and the usage
// it expects. TestCostInputMatchesTheGraph holds it to the mocked graph.
func CostInput(cfg Config) cost.Input {
	in := cost.Input{
		Region:   cfg.Region(),
		Clusters: []cost.Cluster{{Name: cfg.Cluster.Name, Regional: cfg.Cluster.Regional, AutoscalingProfile: cfg.Cluster.AutoscalingProfile}},
		FreeTier: cfg.Cost.FreeTier,
		Pools: []cost.Pool{{
			Name:        "cpu",
			MachineType: cfg.CPUPool.MachineType, DiskType: cfg.CPUPool.DiskType, DiskSizeGb: cfg.CPUPool.DiskSizeGb,
			MinNodes: cfg.CPUPool.MinNodes, MaxNodes: cfg.CPUPool.MaxNodes, Spot: cfg.CPUPool.Spot,
			PrivateNodes: cfg.Cluster.PrivateNodes,
		}},
		GPUBusyHours:      cfg.Cost.GPUBusyHoursPerMonth,
		WarmGPUNodeHours:  cfg.warmGPUNodeHours(730),
		RegistryStorageGB: cfg.Cost.RegistryStorageGb,
		CloudNAT:          cfg.Cluster.PrivateNodes,
		CooldownSeconds:   float64(cfg.gpuCooldownSeconds()),
		AlwaysOnPods:      cfg.alwaysOnPods(),
	}
	if cfg.Cluster.PrivateNodes {
		in.NATDataGB = cfg.Cost.NATGbPerMonth
	}
	if b := cfg.Cost.Bursts; b != nil {
		in.Bursts = &cost.Bursts{PerDay: b.PerDay, WorkMinutes: b.WorkMinutes}
	}
	if cfg.UsesQueues() && cfg.Platform != PlatformLocal {
		in.JobRecords = &cost.JobRecords{PerMonth: cfg.Cost.JobsPerMonth}
		for _, a := range cfg.Apps {
			if a.Queue != nil {
				in.JobRecords.KeepDays = max(in.JobRecords.KeepDays, a.Queue.Results.KeepDays)
			}
		}
	}
	for rank, o := range cfg.GPUPool.Options() {
		name := o.Pool
		if o.FlexStart {
			// GKE names the pool; the report names it after the class's rule.
			name = cost.CreatedPoolName(gpuclass.Name, rank)
		}
		in.Pools = append(in.Pools, cost.Pool{
			Name: name, Key: o.Key, Rank: rank,
			MachineType: o.MachineType, DiskType: o.DiskType, DiskSizeGb: o.DiskSizeGb,
			MinNodes: o.MinNodes, MaxNodes: o.MaxNodes, Spot: o.Spot, FlexStart: o.FlexStart,
			AcceleratorType: o.AcceleratorType, AcceleratorCount: o.AcceleratorCount,
			PrivateNodes: cfg.Cluster.PrivateNodes, ImageStreaming: o.ImageStreaming,
		})
	}
	in.FallbackShare = cfg.Cost.FallbackShare
	in.MaxGPUPods = cfg.maxGPUPods()
	for _, a := range cfg.Apps {
		if a.Path != "" {
			in.ForwardingRules = 1 // one Ingress for every app
			if cfg.Ingress.StaticIP {
				in.StaticIPs = 1
			}
			break
		}
	}
	return in
}

// maxGPUPods is the most GPU pods the apps can run at once: a queue's
// maxReplicas, an HPA's maxReplicas, else the replicas.
func (c Config) maxGPUPods() int {
	pods := 0
	for _, a := range c.Apps {
		switch {
		case a.GPU == 0:
		case a.Queue != nil:
			pods += a.Queue.MaxReplicas
		case a.Autoscaling != nil:
			pods += a.Autoscaling.MaxReplicas
		default:
			pods += a.ReplicaCount()
		}
	}
	return pods
}

// gpuCooldownSeconds is how long a GPU worker outlives its queue's last
// message: the longest KEDA cooldown of the GPU apps that run as workers
// (a Job ends with its work).
func (c Config) gpuCooldownSeconds() int {
	longest := 0
	for _, a := range c.Apps {
		if a.GPU > 0 && a.Queue != nil && a.Queue.Mode == keda.QueueModeWorker {
			longest = max(longest, a.Queue.CooldownSeconds)
		}
	}
	return longest
}

// alwaysOnPods are the pods that run all month, as Autopilot would bill
// them: every app without a GPU or a queue at its fewest replicas, and
// KEDA's three pods when a queue needs it.
func (c Config) alwaysOnPods() []cost.Pod {
	var pods []cost.Pod
	add := func(name, cpu, memory string, replicas int) {
		r, err := machine.ParseRequests(cpu, memory)
		if err != nil || replicas <= 0 {
			return // validation reported it
		}
		pods = append(pods, cost.Pod{Name: name, MilliCPU: r.MilliCPU, MemoryMiB: r.MemoryMiB, Replicas: replicas})
	}
	for _, a := range c.Apps {
		if a.GPU == 0 && a.Queue == nil {
			add(a.Name, a.Resources.CPURequest, a.Resources.MemoryRequest, a.minReplicas())
		}
	}
	if c.UsesQueues() {
		for _, name := range slices.Sorted(maps.Keys(keda.Resources)) {
			r := keda.Resources[name]
			add("keda-"+name, r.CPURequest, r.MemoryRequest, 1)
		}
	}
	return pods
}

// warmGPUNodeHours are the GPU node-hours per month (of `hours` hours) that
// warm windows hold up: each window's active hours times the nodes its
// replicas need.
func (c Config) warmGPUNodeHours(hours float64) float64 {
	total := 0.0
	for _, a := range c.Apps {
		if a.Queue == nil || a.GPU == 0 {
			continue
		}
		perNode := c.gpuPodsPerNode(a)
		for _, w := range a.Queue.Warm {
			h, err := w.window().HoursPerMonth(hours)
			if err != nil {
				continue // validation reported it
			}
			nodes := (w.Replicas + perNode - 1) / perNode
			total += h * float64(nodes)
		}
	}
	return total
}

// EstimateCost prices a GKE stack's config; nil for the local platform,
// which creates nothing billed.
func EstimateCost(cfg Config) (*cost.Estimate, error) {
	if cfg.Platform != PlatformGKE {
		return nil, nil
	}
	prices, err := cost.LoadPrices()
	if err != nil {
		return nil, err
	}
	e, err := prices.Estimate(CostInput(cfg))
	if err != nil {
		if errors.Is(err, cost.ErrUnpricedRegion) {
			return nil, fmt.Errorf("gcp:zone = %q: %w", cfg.Zone, err)
		}
		return nil, fmt.Errorf("%s:%w", ConfigNamespace, err)
	}
	if note := smallerGPUMachine(cfg, prices); note != "" {
		e.Suggestions = append(e.Suggestions, note)
	}
	return &e, nil
}

// smallerGPUMachine says when every GPU app's pods would fit a cheaper
// machine type of the GPU pool's family that still carries its GPUs (a T4
// attaches to the smallest N1 shapes too). Limits must fit as well as
// requests: a pod allowed more memory than its node has is OOM-killed.
func smallerGPUMachine(cfg Config, prices *cost.Prices) string {
	g := cfg.GPUPool
	acc, ok := accelerator.Lookup(g.AcceleratorType)
	if !g.Enabled || !ok {
		return ""
	}
	// Pods of the app that needs the most, as many as one node's GPUs hold.
	var need machine.Resources
	var largest string
	for _, a := range cfg.Apps {
		if a.GPU <= 0 {
			continue
		}
		req, err1 := machine.ParseRequests(a.Resources.CPURequest, a.Resources.MemoryRequest)
		lim, err2 := machine.ParseRequests(a.Resources.CPULimit, a.Resources.MemoryLimit)
		if err1 != nil || err2 != nil {
			return ""
		}
		perNode := cfg.gpuPodsPerNode(a)
		pod := req.Max(lim)
		total := machine.Resources{MilliCPU: pod.MilliCPU * int64(perNode), MemoryMiB: pod.MemoryMiB * int64(perNode)}
		if !total.Fits(need) {
			need, largest = need.Max(total), fmt.Sprintf("%s (%d per node)", a.Name, perNode)
		}
	}
	if largest == "" {
		return ""
	}
	fits := func(machineType string) bool {
		s, known := machine.Lookup(machineType)
		return known && acc.CheckMachine(machineType, g.AcceleratorCount) == nil && need.Fits(s.ForPods(true))
	}
	smaller, saving, ok := prices.CheaperMachine(g.MachineType, g.Spot, fits)
	if !ok {
		return ""
	}
	shape, _ := machine.Lookup(smaller)
	return fmt.Sprintf("gpuPool.machineType %s could be %s: the GPU pods' requests and limits (%s: %s) fit it, with %s left for pods per node, "+
		"and %s attaches to it; $%.4f/h less per node%s, about $%.2f/month at %.0f busy GPU node-hours",
		g.MachineType, smaller, largest, need, shape.ForPods(true), acc.Type, saving, spotNote(g.Spot), saving*cfg.Cost.GPUBusyHoursPerMonth, cfg.Cost.GPUBusyHoursPerMonth)
}

func spotNote(spot bool) string {
	if spot {
		return " on Spot"
	}
	return ""
}

// CostTitle is the heading of a stack's cost report.
func CostTitle(cfg Config) string {
	return fmt.Sprintf("Estimated cost of stack %s (%s, %s list prices, USD)", cfg.Stack, cfg.ClusterLocation(), cfg.Region())
}
