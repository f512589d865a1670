package main

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/cost"
)

var zonePattern = regexp.MustCompile(`^[a-z]+-[a-z]+[0-9]+-[a-z]$`)

func checkZonal(r Resource, stack Stack, cfg map[string]any, _ *runState) []string {
	loc := r.Get("location")
	if isUnknown(loc) || zonePattern.MatchString(asString(loc)) {
		return nil
	}
	if isTrue(cfg["allowRegional"]) || (stack.Config != nil && stack.Config.Cluster.Regional) {
		return nil
	}
	return []string{fmt.Sprintf("cluster %q is in %q, not a zone. Set gcp:zone to a zone such as %s-a, or opt in with `cluster: {regional: true}` in the stack config.",
		r.Name, asString(loc), asString(loc))}
}

func checkGPUPool(r Resource, _ Stack, _ map[string]any, _ *runState) []string {
	accels := asList(r.Get("nodeConfig.guestAccelerators"))
	if len(accels) == 0 {
		return nil
	}
	var v []string
	auto := r.Get("autoscaling")
	switch {
	case auto == nil:
		v = append(v, fmt.Sprintf("GPU node pool %q has no autoscaling: add autoscaling {minNodeCount: 0, maxNodeCount: N}.", r.Name))
	case !isUnknown(auto):
		// minNodeCount bounds each zone; totalMinNodeCount the whole pool
		// (a pool over several zones): either above 0 keeps GPUs billed.
		for _, key := range []string{"minNodeCount", "totalMinNodeCount"} {
			if m := get(auto, key); m != nil && !isUnknown(m) && m != 0.0 {
				v = append(v, fmt.Sprintf("GPU node pool %q has autoscaling.%s = %v: set it to 0 (gpuPool.minNodes) so idle GPUs cost nothing.", r.Name, key, m))
			}
		}
	}
	if n := r.Get("initialNodeCount"); n != nil && !isUnknown(n) && n != 0.0 {
		v = append(v, fmt.Sprintf("GPU node pool %q has initialNodeCount = %v: set it to 0; the autoscaler adds nodes when GPU pods are pending.", r.Name, n))
	}
	if n := r.Get("nodeCount"); n != nil && !isUnknown(n) && n != 0.0 {
		v = append(v, fmt.Sprintf("GPU node pool %q has a fixed nodeCount = %v: remove it and let the autoscaler own the size.", r.Name, n))
	}
	taints := r.Get("nodeConfig.taints")
	if !isUnknown(taints) && !hasGPUTaint(asList(taints)) {
		v = append(v, fmt.Sprintf("GPU node pool %q lacks the taint {key: nvidia.com/gpu, value: present, effect: NO_SCHEDULE}: GKE adds it only in some cases, declare it.", r.Name))
	}
	return v
}

// checkGPUImageStreaming asks GPU pools to stream images: a burst from zero
// nodes otherwise waits minutes for a CUDA image, billed
// (cloud.google.com/kubernetes-engine/docs/how-to/image-streaming).
func checkGPUImageStreaming(r Resource, _ Stack, _ map[string]any, _ *runState) []string {
	if len(asList(r.Get("nodeConfig.guestAccelerators"))) == 0 {
		return nil
	}
	enabled := r.Get("nodeConfig.gcfsConfig.enabled")
	if isUnknown(enabled) || enabled == true {
		return nil
	}
	return []string{fmt.Sprintf("GPU node pool %q pulls whole images before a pod starts: set nodeConfig.gcfsConfig.enabled (gpuPool.imageStreaming: true) "+
		"with imageType COS_CONTAINERD and images in Artifact Registry, so a node from zero starts a multi-GB image in seconds.", r.Name)}
}

func hasGPUTaint(taints []any) bool {
	for _, t := range taints {
		m := asMap(t)
		if m["key"] == "nvidia.com/gpu" && m["value"] == "present" && m["effect"] == "NO_SCHEDULE" {
			return true
		}
	}
	return false
}

func checkNoLoadBalancer(r Resource, _ Stack, cfg map[string]any, _ *runState) []string {
	if r.Get("spec.type") != "LoadBalancer" {
		return nil
	}
	name := asString(r.Get("metadata.name"))
	for _, allowed := range asList(cfg["allowedServices"]) {
		if allowed == name && name != "" {
			return nil
		}
	}
	return []string{fmt.Sprintf("Service %q is of type LoadBalancer (a billed forwarding rule, ~$18/month): make it ClusterIP and route to it from the Ingress, or list it in allowedServices in the policy config.", r.Name)}
}

func checkIngressCount(r Resource, _ Stack, cfg map[string]any, state *runState) []string {
	state.ingresses = append(state.ingresses, r.Name)
	max := 1
	if f, ok := cfg["maxIngresses"].(float64); ok {
		max = int(f)
	}
	if len(state.ingresses) <= max {
		return nil
	}
	return []string{fmt.Sprintf("Ingress %q is Ingress number %d in this stack (%s), over maxIngresses = %d: add its paths to the existing Ingress (apps[].path) or raise maxIngresses in the policy config.",
		r.Name, len(state.ingresses), strings.Join(state.ingresses, ", "), max)}
}

func checkRegistryCleanup(r Resource, _ Stack, _ map[string]any, _ *runState) []string {
	policies := r.Get("cleanupPolicies")
	if isUnknown(policies) {
		return nil
	}
	if len(asList(policies)) == 0 {
		return []string{fmt.Sprintf("repository %q has no cleanup policy: keep the last N versions (registry.keepVersions) and delete the rest.", r.Name)}
	}
	if isTrue(r.Get("cleanupPolicyDryRun")) {
		return []string{fmt.Sprintf("repository %q runs its cleanup policy as a dry run, which deletes nothing: set cleanupPolicyDryRun to false.", r.Name)}
	}
	return nil
}

// checkBudget prices what the preview creates, resource by resource: the
// engine shows the pack one resource at a time, and costs only add up, so
// the resource that takes the running total over the budget is the one to
// report (once). The budget and the usage come from this policy's config,
// never from the stack file a pull request edits.
func checkBudget(r Resource, stack Stack, cfg map[string]any, state *runState) []string {
	budget, _ := cfg["monthlyBudget"].(float64)
	if budget <= 0 {
		return nil
	}
	if state.priced == nil {
		state.priced = map[string]bool{}
	}
	key := r.URN + "|" + r.Type + "|" + r.Name
	if !state.priced[key] {
		state.priced[key] = true
		state.graph = append(state.graph, cost.Resource{Type: r.Type, Name: r.Name, Props: r.Props})
	}
	if state.overBudget {
		return nil
	}
	busy, _ := cfg["gpuBusyHoursPerMonth"].(float64)
	storage, _ := cfg["registryStorageGb"].(float64)
	nat, _ := cfg["natGbPerMonth"].(float64)
	jobs, _ := cfg["jobsPerMonth"].(float64)
	share, ok := cfg["fallbackShare"].(float64)
	if !ok {
		share = 0.2 // the schema's default
	}
	usage := cost.Usage{FreeTier: isTrue(cfg["freeTier"]), GPUBusyHours: busy, RegistryStorageGB: storage, NATDataGB: nat, JobsPerMonth: jobs, FallbackShare: share}
	if perDay, _ := cfg["burstsPerDay"].(float64); perDay > 0 {
		work, _ := cfg["burstWorkMinutes"].(float64)
		usage.Bursts = &cost.Bursts{PerDay: perDay, WorkMinutes: work}
	}
	in, err := cost.InputFromResources(state.graph, usage)
	if err != nil {
		state.overBudget = true
		return []string{fmt.Sprintf("cannot price stack %q against its budget: %v", stack.Name, err)}
	}
	if state.prices == nil {
		// Parsed once per operation, not once per costed resource.
		if state.prices, err = cost.LoadPrices(); err != nil {
			return []string{err.Error()}
		}
	}
	if in.Region == "" {
		in.Region = state.prices.Region // nothing located seen yet
	}
	e, err := state.prices.Estimate(in)
	if err != nil {
		state.overBudget = true
		return []string{fmt.Sprintf("cannot price stack %q against its budget of $%.2f: %v", stack.Name, budget, err)}
	}
	if e.BusyMonthly <= budget {
		return nil
	}
	state.overBudget = true
	return []string{fmt.Sprintf("with %s %q the preview is estimated at $%.2f/month when busy (idle $%.2f), over the budget of $%.2f "+
		"(policy config monthly-budget.monthlyBudget): shrink pool sizes or busy hours, use Spot, or raise the budget in the policy config. "+
		"Priced: %s.", shortType(r.Type), r.Name, e.BusyMonthly, e.IdleMonthly, budget, pricedLines(e))}
}

// pricedLines lists the estimate's non-zero busy lines, biggest first.
func pricedLines(e cost.Estimate) string {
	lines := slices.Clone(e.Lines)
	slices.SortStableFunc(lines, func(a, b cost.Line) int { return cmp.Compare(b.Busy, a.Busy) })
	var parts []string
	for _, l := range lines {
		if l.Busy > 0 {
			parts = append(parts, fmt.Sprintf("%s $%.2f", l.Item, l.Busy))
		}
	}
	return strings.Join(parts, ", ")
}

// shortType is "NodePool" for "gcp:container/nodePool:NodePool".
func shortType(t string) string {
	return t[strings.LastIndex(t, ":")+1:]
}
