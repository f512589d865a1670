// Package machine knows the Compute Engine machine shapes the platform
// accepts for node pools, and how much of one GKE node of each shape a pod
// can actually request: the node's allocatable CPU and memory (GKE's
// documented reservations) less what GKE's own per-node pods request.
//
// A pod whose requests exceed that never triggers a scale-up: the cluster
// autoscaler reports "pod didn't trigger scale-up (it wouldn't fit if a new
// node is added)" (kubernetes/autoscaler#1291, #1607) and the pod stays
// Pending while KEDA keeps asking for it. Checking it here turns that into
// an error before any resource exists.
package machine

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// Shape is one machine type's size as Compute Engine sells it.
type Shape struct {
	// Type is the machine type, e.g. "n1-standard-4".
	Type string
	// VCPUs is the number of vCPUs the node reports to Kubernetes.
	VCPUs int
	// MemoryMiB is the machine's memory in MiB (Compute Engine's "GB" are GiB:
	// n1-standard-1's 3.75 GB is 3,840 MiB).
	MemoryMiB int64
	// SharedCore marks E2 shared-core types (e2-micro, e2-small, e2-medium),
	// for which GKE reserves CPU differently.
	SharedCore bool
}

// shapes are the machine types node pools may use. Source:
// cloud.google.com/compute/docs/general-purpose-machines and
// cloud.google.com/compute/docs/accelerator-optimized-machines (read
// 2026-11); N1 standard is 3.75 GB per vCPU, highmem 6.5, highcpu 0.9; E2
// and N2 standard 4 GB per vCPU, highmem 8; G2 standard 4 GB per vCPU.
var shapes = func() map[string]Shape {
	out := map[string]Shape{}
	add := func(t string, vcpus int, gib float64, shared bool) {
		out[t] = Shape{Type: t, VCPUs: vcpus, MemoryMiB: int64(gib * 1024), SharedCore: shared}
	}
	for _, n := range []int{1, 2, 4, 8, 16, 32, 64, 96} {
		add(fmt.Sprintf("n1-standard-%d", n), n, 3.75*float64(n), false)
	}
	for _, n := range []int{2, 4, 8, 16, 32, 64, 96} {
		add(fmt.Sprintf("n1-highmem-%d", n), n, 6.5*float64(n), false)
		add(fmt.Sprintf("n1-highcpu-%d", n), n, 0.9*float64(n), false)
	}
	add("e2-micro", 2, 1, true)
	add("e2-small", 2, 2, true)
	add("e2-medium", 2, 4, true)
	for _, n := range []int{2, 4, 8, 16, 32} {
		add(fmt.Sprintf("e2-standard-%d", n), n, 4*float64(n), false)
		add(fmt.Sprintf("e2-highmem-%d", n), n, 8*float64(n), false)
		add(fmt.Sprintf("n2-standard-%d", n), n, 4*float64(n), false)
		add(fmt.Sprintf("n2d-standard-%d", n), n, 4*float64(n), false)
	}
	for _, n := range []int{4, 8, 12, 16, 24, 32, 48, 96} {
		add(fmt.Sprintf("g2-standard-%d", n), n, 4*float64(n), false)
	}
	for n, gpus := range map[int]int{12: 1, 24: 2, 48: 4, 96: 8} {
		add(fmt.Sprintf("a2-highgpu-%dg", gpus), n, 85*float64(gpus), false)
	}
	add("a2-megagpu-16g", 96, 1360, false)
	for n, gpus := range map[int]int{12: 1, 24: 2, 48: 4, 96: 8} {
		add(fmt.Sprintf("a2-ultragpu-%dg", gpus), n, 170*float64(gpus), false)
	}
	for n, gpus := range map[int]int{26: 1, 52: 2, 104: 4, 208: 8} {
		add(fmt.Sprintf("a3-highgpu-%dg", gpus), n, 234*float64(gpus), false)
	}
	return out
}()

// Lookup returns a machine type's shape.
func Lookup(machineType string) (Shape, bool) {
	s, ok := shapes[machineType]
	return s, ok
}

// Types lists the known machine types, sorted.
func Types() []string {
	return slices.Sorted(maps.Keys(shapes))
}

// Resources are CPU in millicores and memory in MiB.
type Resources struct {
	MilliCPU  int64
	MemoryMiB int64
}

// Fits reports whether r fits in o.
func (r Resources) Fits(o Resources) bool {
	return r.MilliCPU <= o.MilliCPU && r.MemoryMiB <= o.MemoryMiB
}

// Sub is r less o.
func (r Resources) Sub(o Resources) Resources {
	return Resources{MilliCPU: r.MilliCPU - o.MilliCPU, MemoryMiB: r.MemoryMiB - o.MemoryMiB}
}

// String reads like a pod spec: "940m CPU, 2780Mi memory".
func (r Resources) String() string {
	return fmt.Sprintf("%dm CPU, %dMi memory", r.MilliCPU, r.MemoryMiB)
}

// Allocatable is what the kubelet of a GKE node of this shape offers pods:
// capacity less GKE's CPU and memory reservations and the 100 MiB
// eviction threshold. Source: cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes
// ("Memory and CPU reservations"):
//   - memory: 255 MiB on machines under 1 GiB; else 25% of the first 4 GiB,
//     20% of the next 4 GiB, 10% of the next 8 GiB, 6% of the next 112 GiB
//     and 2% of anything above 128 GiB; plus 100 MiB for eviction;
//   - CPU: 6% of the first core, 1% of the next, 0.5% of the next 2 and
//     0.25% of any cores above 4; shared-core E2 types: 1,060m in total.
//
// Reservations are rounded up to whole MiB and millicores, so the figure
// errs on the side of a pod not fitting.
func (s Shape) Allocatable() Resources {
	return Resources{
		MilliCPU:  int64(s.VCPUs)*1000 - s.reservedMilliCPU(),
		MemoryMiB: s.MemoryMiB - s.reservedMemoryMiB() - evictionMiB,
	}
}

const evictionMiB = 100

func (s Shape) reservedMilliCPU() int64 {
	if s.SharedCore {
		return 1060
	}
	return int64(math.Ceil(tiered(float64(s.VCPUs)*1000, []tier{{1000, 0.06}, {1000, 0.01}, {2000, 0.005}, {-1, 0.0025}})))
}

func (s Shape) reservedMemoryMiB() int64 {
	if s.MemoryMiB < 1024 {
		return 255
	}
	return int64(math.Ceil(tiered(float64(s.MemoryMiB), []tier{{4096, 0.25}, {4096, 0.20}, {8192, 0.10}, {112 * 1024, 0.06}, {-1, 0.02}})))
}

// tier is a band of size (negative: the rest) reserved at rate.
type tier struct {
	size, rate float64
}

func tiered(total float64, tiers []tier) float64 {
	reserved := 0.0
	for _, t := range tiers {
		band := total
		if t.size >= 0 {
			band = min(total, t.size)
		}
		reserved += band * t.rate
		total -= band
		if total <= 0 {
			break
		}
	}
	return reserved
}
