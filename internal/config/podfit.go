package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/keda"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/machine"
)

// validatePodFit checks that every pod the stack runs on GKE fits one node
// of the pool it lands on: a pod that cannot never triggers a scale-up and
// stays Pending (while KEDA, for a queue-driven app, keeps asking for it).
// GPU apps land on the GPU pool, everything else on the CPU pool, KEDA too.
func (c Config) validatePodFit(fail failFunc) {
	if c.Platform != PlatformGKE {
		return // a kubeconfig cluster's node sizes are not in the config
	}
	cpuShape, cpuKnown := c.poolShape(fail, "cpuPool.machineType", c.CPUPool.MachineType)
	type pool struct {
		key   string
		shape machine.Shape
	}
	var gpuPools []pool
	for _, o := range c.GPUPool.Options() {
		// A GPU pod may land on any option: it must fit each one's node.
		if shape, known := c.poolShape(fail, o.Key+".machineType", o.MachineType); known {
			gpuPools = append(gpuPools, pool{o.Key, shape})
		}
	}
	for i, a := range c.Apps {
		pools := gpuPools
		if a.GPU == 0 {
			if !cpuKnown {
				continue
			}
			pools = []pool{{"cpuPool", cpuShape}}
		}
		for _, p := range pools {
			c.checkPodFits(fail, i, a, p.key, p.shape, a.GPU > 0)
		}
	}
	if cpuKnown && c.UsesQueues() {
		room := cpuShape.ForPods(false)
		for _, pod := range slices.Sorted(maps.Keys(keda.Resources)) {
			r := keda.Resources[pod]
			req, err := machine.ParseRequests(r.CPURequest, r.MemoryRequest)
			if err == nil && !req.Fits(room) {
				fail("cpuPool.machineType", cpuShape.Type, "KEDA's %s (%s, %s) does not fit one node: %s; choose a larger machine type",
					pod, r.CPURequest, r.MemoryRequest, cpuShape.Explain(false))
			}
		}
	}
}

// checkPodFits fails when app i's requests do not fit one node of the pool
// (or GPU option) at key.
func (c Config) checkPodFits(fail failFunc, i int, a AppConfig, key string, shape machine.Shape, gpu bool) {
	room := shape.ForPods(gpu)
	req, err := machine.ParseRequests(a.Resources.CPURequest, a.Resources.MemoryRequest)
	if err != nil {
		return // a malformed quantity has its own error
	}
	misfit := func(field, value, want string) {
		fail(fmt.Sprintf("apps[%d].resources.%s", i, field), value, "app %q does not fit one node of its pool (%s.machineType %s): %s. "+
			"The cluster autoscaler never adds a node for a pod that cannot fit one: it would stay Pending. "+
			"Request at most %s, or choose a larger %s.machineType",
			a.Name, key, shape.Type, shape.Explain(gpu), want, key)
	}
	if req.MilliCPU > room.MilliCPU {
		misfit("cpuRequest", a.Resources.CPURequest, fmt.Sprintf("%dm", room.MilliCPU))
	}
	if req.MemoryMiB > room.MemoryMiB {
		misfit("memoryRequest", a.Resources.MemoryRequest, fmt.Sprintf("%dMi", room.MemoryMiB))
	}
}

// poolShape looks a pool's machine type up, failing when the table lacks it.
func (c Config) poolShape(fail failFunc, key, machineType string) (machine.Shape, bool) {
	s, ok := machine.Lookup(machineType)
	if !ok && machineType != "" {
		fail(key, machineType, "no shape (vCPUs, memory) for this machine type in internal/machine; add it with its source, or pick one of %s",
			strings.Join(machine.Types(), ", "))
	}
	return s, ok
}
