package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/gpuclass"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/machine"
)

// nodePool is what the fit rule reads of a GKE node pool in the graph.
type nodePool struct {
	name   string
	shape  machine.Shape
	known  bool // the machine type is in internal/machine's table
	gpu    bool
	labels map[string]any
	taints []map[string]any
}

func nodePools(resources []Resource) []nodePool {
	var pools []nodePool
	for _, r := range resources {
		if r.Type != nodePoolType {
			continue
		}
		p := nodePool{name: r.Name, labels: asMap(r.Get("nodeConfig.labels")), gpu: len(asList(r.Get("nodeConfig.guestAccelerators"))) > 0}
		p.shape, p.known = machine.Lookup(asString(r.Get("nodeConfig.machineType")))
		for _, t := range asList(r.Get("nodeConfig.taints")) {
			p.taints = append(p.taints, asMap(t))
		}
		pools = append(pools, p)
	}
	// The engine registers resources in no fixed order: name order, so a
	// message lists the pools the same way every time.
	slices.SortFunc(pools, func(a, b nodePool) int { return strings.Compare(a.name, b.name) })
	return append(pools, classPools(resources)...)
}

// classPools are the GPU pools a ComputeClass has GKE create (a rule that
// names a machine type rather than pools): labelled and tainted as GKE
// does for the class, with GKE's GPU taint.
// https://cloud.google.com/kubernetes-engine/docs/concepts/about-custom-compute-classes
func classPools(resources []Resource) []nodePool {
	var pools []nodePool
	for _, r := range resources {
		if r.Type != computeClassType {
			continue
		}
		class := asString(r.Get("metadata.name"))
		for k, rule := range asList(r.Get("spec.priorities")) {
			machineType := asString(get(rule, "machineType"))
			if machineType == "" {
				continue
			}
			p := nodePool{
				name: fmt.Sprintf("%s (ComputeClass %s, rule %d)", machineType, class, k+1), gpu: get(rule, "gpu") != nil,
				labels: map[string]any{gpuclass.Label: class},
				taints: []map[string]any{{"key": gpuclass.Label, "value": class, "effect": "NO_SCHEDULE"}},
			}
			if p.gpu {
				p.taints = append(p.taints, map[string]any{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"})
			}
			p.shape, p.known = machine.Lookup(machineType)
			pools = append(pools, p)
		}
	}
	return pools
}

// selects reports whether a pod with this nodeSelector may land on the
// pool. Labels GKE sets itself (cloud.google.com/*, kubernetes.io/*) are not
// in the graph: a selector on them is given the benefit of the doubt.
func (p nodePool) selects(selector map[string]any) bool {
	for k, v := range selector {
		if have, ok := p.labels[k]; ok {
			if have != v && !isUnknown(have) && !isUnknown(v) {
				return false
			}
			continue
		}
		if !strings.Contains(k, "kubernetes.io/") && !strings.HasPrefix(k, "cloud.google.com/") {
			return false
		}
	}
	return true
}

// tolerates reports whether the pod may land on the pool's taints. A pod
// that requests nvidia.com/gpu tolerates the GPU taint on GKE without
// saying so (the ExtendedResourceToleration admission plugin adds it).
func (p nodePool) tolerates(pod map[string]any, gpu bool) bool {
	for _, taint := range p.taints {
		key, effect := asString(taint["key"]), kubernetesEffect(asString(taint["effect"]))
		if gpu && key == "nvidia.com/gpu" {
			continue
		}
		if !slices.ContainsFunc(asList(pod["tolerations"]), func(t any) bool {
			m := asMap(t)
			if e := asString(m["effect"]); e != "" && e != effect {
				return false
			}
			if asString(m["operator"]) == "Exists" {
				return asString(m["key"]) == "" || asString(m["key"]) == key
			}
			return asString(m["key"]) == key && asString(m["value"]) == asString(taint["value"])
		}) {
			return false
		}
	}
	return true
}

// kubernetesEffect spells a GKE API taint effect (NO_SCHEDULE) the way pods do (NoSchedule).
func kubernetesEffect(e string) string {
	switch e {
	case "NO_SCHEDULE":
		return "NoSchedule"
	case "PREFER_NO_SCHEDULE":
		return "PreferNoSchedule"
	case "NO_EXECUTE":
		return "NoExecute"
	}
	return e
}

// podRequests sums a pod's CPU and memory requests the way the scheduler
// does: the containers together, or the largest init container if larger.
// ok is false when a request is not a literal quantity.
func podRequests(pod map[string]any) (machine.Resources, bool) {
	var sum, initMax machine.Resources
	for _, key := range []string{"containers", "initContainers"} {
		for _, c := range asList(pod[key]) {
			req := asMap(get(c, "resources.requests"))
			r, err := machine.ParseRequests(asString(req["cpu"]), asString(req["memory"]))
			if err != nil || isUnknown(req["cpu"]) || isUnknown(req["memory"]) {
				return machine.Resources{}, false
			}
			if key == "containers" {
				sum = sum.Add(r)
			} else {
				initMax = initMax.Max(r)
			}
		}
	}
	return sum.Max(initMax), true
}

// checkPodsFitPools finds workloads whose pods fit no node of any pool in
// the graph they may land on: such a pod never triggers a scale-up.
func checkPodsFitPools(resources []Resource) []string {
	pools := nodePools(resources)
	if len(pools) == 0 {
		return nil // not GKE, or pools made elsewhere: nothing to size against
	}
	var v []string
	for _, r := range resources {
		pod := podSpec(r)
		if pod == nil {
			continue
		}
		req, ok := podRequests(pod)
		if !ok {
			continue
		}
		gpu := requestsGPU(pod)
		selector := asMap(pod["nodeSelector"])
		// A pod of a ComputeClass gets whichever option GKE can find: it
		// must fit each one. Any other pod needs one pool it fits.
		_, class := selector[gpuclass.Label]
		var misfits []string
		fits, candidates := false, 0
		for _, p := range pools {
			if (gpu && !p.gpu) || !p.selects(selector) || !p.tolerates(pod, gpu) {
				continue
			}
			candidates++
			if !p.known || req.Fits(p.shape.ForPods(p.gpu)) {
				fits = true
				continue
			}
			misfits = append(misfits, fmt.Sprintf("pool %q (%s) leaves %s", p.name, p.shape.Type, p.shape.ForPods(p.gpu)))
		}
		switch {
		case len(misfits) == 0:
		case class:
			v = append(v, fmt.Sprintf("%s %q requests %s per pod, more than one node of a GPU option its ComputeClass %q may give it leaves for pods: %s "+
				"(allocatable less GKE's per-node pods, internal/machine). On that option it would stay Pending: the cluster autoscaler never adds "+
				"a node the pod would not fit. Request less, or use a larger machine type for that option.",
				kindOf(r), r.Name, req, asString(selector[gpuclass.Label]), strings.Join(misfits, "; ")))
		case !fits && candidates > 0:
			v = append(v, fmt.Sprintf("%s %q requests %s per pod, more than one node of any pool it may land on leaves for pods: %s "+
				"(allocatable less GKE's per-node pods, internal/machine). It would stay Pending: the cluster autoscaler never adds "+
				"a node the pod would not fit. Request less, or use a larger machine type.",
				kindOf(r), r.Name, req, strings.Join(misfits, "; ")))
		}
	}
	return v
}
