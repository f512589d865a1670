package machine

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"
)

// ParseRequests reads a pod's CPU and memory requests, as Kubernetes
// quantities ("250m", "1", "512Mi", "2Gi"); empty means none. Memory is
// rounded up to whole MiB.
func ParseRequests(cpu, memory string) (Resources, error) {
	var r Resources
	if cpu != "" {
		q, err := resource.ParseQuantity(cpu)
		if err != nil {
			return Resources{}, fmt.Errorf("cpu %q: %w", cpu, err)
		}
		r.MilliCPU = q.MilliValue()
	}
	if memory != "" {
		q, err := resource.ParseQuantity(memory)
		if err != nil {
			return Resources{}, fmt.Errorf("memory %q: %w", memory, err)
		}
		r.MemoryMiB = (q.Value() + (1<<20 - 1)) >> 20
	}
	return r, nil
}

// Add is r plus o.
func (r Resources) Add(o Resources) Resources {
	return Resources{MilliCPU: r.MilliCPU + o.MilliCPU, MemoryMiB: r.MemoryMiB + o.MemoryMiB}
}

// Max is the larger of r and o in each dimension (an init container's
// requests count only while it runs, before the others start).
func (r Resources) Max(o Resources) Resources {
	return Resources{MilliCPU: max(r.MilliCPU, o.MilliCPU), MemoryMiB: max(r.MemoryMiB, o.MemoryMiB)}
}

// Explain is the sentence an error gives about one node of this shape.
func (s Shape) Explain(gpu bool) string {
	kind := "CPU"
	if gpu {
		kind = "GPU"
	}
	return fmt.Sprintf("one %s node (%d vCPU, %dMi) leaves %s for pods: allocatable %s (GKE's reservations, "+
		"cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes) less GKE's per-node %s-node pods %s (internal/machine/systempods.go)",
		s.Type, s.VCPUs, s.MemoryMiB, s.ForPods(gpu), s.Allocatable(), kind, PerNode(gpu))
}
