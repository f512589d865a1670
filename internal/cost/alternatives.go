package cost

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// AutopilotPrices are GKE Autopilot's general-purpose Pod prices and the
// rules that raise a Pod's requests before they are billed.
type AutopilotPrices struct {
	VCPUPerHour         Price `json:"vcpuPerHour"`
	GBPerHour           Price `json:"gbPerHour"`
	MinMilliCPU         Price `json:"minMilliCpu"`
	MinMemoryMiB        Price `json:"minMemoryMiB"`
	MaxMemoryPerVCPUGiB Price `json:"maxMemoryPerVcpuGiB"`
	MinMemoryPerVCPUGiB Price `json:"minMemoryPerVcpuGiB"`
}

// ServerlessGPUPrice is one serverless GPU offer's price per GPU-second.
type ServerlessGPUPrice struct {
	Offer     string  `json:"offer"`
	PerSecond float64 `json:"perSecond"`
	Source    string  `json:"source"`
	Read      string  `json:"read"`
	Guess     bool    `json:"guess"`
}

// Pod is one always-on workload as Autopilot would bill it: its requests
// per replica, and how many replicas run all month.
type Pod struct {
	Name      string
	MilliCPU  int64
	MemoryMiB int64
	Replicas  int
}

// Alternative is the same work priced on another product, against what
// this stack pays for it, in USD per month.
type Alternative struct {
	// Product names the other product and offer.
	Product string `json:"product"`
	// What says which part of the stack it replaces.
	What string `json:"what"`
	// Monthly is the other product's price; Here is this stack's.
	Monthly float64 `json:"monthly"`
	Here    float64 `json:"here"`
	// Detail says how it was priced.
	Detail string `json:"detail"`
}

// autopilotBilled raises a Pod's requests the way Autopilot does before
// billing them: CPU to the minimum, in 250m steps; memory to the minimum;
// then memory into 1..6.5 GiB per vCPU, raising CPU when memory is above it.
func (a AutopilotPrices) autopilotBilled(milliCPU, memoryMiB int64) (int64, int64) {
	step := int64(a.MinMilliCPU.Price)
	cpu := max(milliCPU, step)
	mem := max(memoryMiB, int64(a.MinMemoryMiB.Price))
	maxPerVCPU := a.MaxMemoryPerVCPUGiB.Price * 1024
	if need := int64(math.Ceil(float64(mem) / maxPerVCPU * 1000)); need > cpu {
		cpu = need
	}
	cpu = (cpu + step - 1) / step * step
	if floor := int64(math.Ceil(float64(cpu) / 1000 * a.MinMemoryPerVCPUGiB.Price * 1024)); mem < floor {
		mem = floor
	}
	return cpu, mem
}

// autopilotMonthly prices always-on Pods on Autopilot for hours a month.
func (a AutopilotPrices) autopilotMonthly(pods []Pod, hours float64) (float64, string) {
	total := 0.0
	var parts []string
	for _, p := range pods {
		cpu, mem := a.autopilotBilled(p.MilliCPU, p.MemoryMiB)
		total += float64(p.Replicas) * hours * (float64(cpu)/1000*a.VCPUPerHour.Price + float64(mem)/1024*a.GBPerHour.Price)
		parts = append(parts, fmt.Sprintf("%s %dx%dm/%dMi", p.Name, p.Replicas, cpu, mem))
	}
	return total, strings.Join(parts, ", ")
}

// writeAlternatives prints the alternatives block.
func writeAlternatives(w io.Writer, alts []Alternative) {
	if len(alts) == 0 {
		return
	}
	fmt.Fprintln(w, "alternatives (the same work on another product; USD/month):")
	for _, a := range alts {
		verdict := fmt.Sprintf("$%.2f cheaper there", a.Here-a.Monthly)
		if a.Monthly >= a.Here {
			verdict = fmt.Sprintf("$%.2f dearer there", a.Monthly-a.Here)
		}
		fmt.Fprintf(w, "- %s for %s: $%.2f against $%.2f here, %s. %s\n", a.Product, a.What, a.Monthly, a.Here, verdict, a.Detail)
	}
}

// alternatives prices the stack's always-on pods on GKE Autopilot and its
// GPU work on a serverless GPU offer, against what this stack pays for the
// same: its control plane, CPU pool and their addresses; what busy adds to
// its GPU pool.
func (p *Prices) alternatives(in Input, controlPlane, cpuSide, gpuSide, gpuWorkHours float64, accel string) []Alternative {
	var out []Alternative
	if len(in.AlwaysOnPods) > 0 {
		pods, billed := p.Autopilot.autopilotMonthly(in.AlwaysOnPods, p.HoursPerMonth)
		out = append(out, Alternative{
			Product: "GKE Autopilot", What: "the control plane and the always-on pods",
			Monthly: round2(controlPlane + pods), Here: round2(cpuSide),
			Detail: fmt.Sprintf("Pod requests as Autopilot bills them (raised to its minimums and CPU:memory ratio; replicas x CPU/memory): %s; "+
				"Autopilot bills no system pods, and its fee and free tier are a zonal cluster's; the load balancer and registry cost the same on both.", billed),
		})
	}
	if offer, ok := p.ServerlessGPU[accel]; ok && gpuWorkHours > 0 {
		out = append(out, Alternative{
			Product: offer.Offer, What: fmt.Sprintf("the GPU work (%.1f GPU-hours of work a month)", gpuWorkHours),
			Monthly: round2(gpuWorkHours * 3600 * offer.PerSecond), Here: round2(gpuSide),
			Detail: fmt.Sprintf("$%.6f per GPU-second, billed only while working (list price read %s, source in internal/cost/prices.json); the GPU alone: CPU and memory are billed on top there, and the work would leave this cluster's queues.",
				offer.PerSecond, offer.Read),
		})
	}
	return out
}
