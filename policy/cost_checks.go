package main

import (
	"fmt"
	"regexp"
	"strings"
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

func checkBudget(r Resource, stack Stack, cfg map[string]any, _ *runState) []string {
	if stack.Estimate == nil {
		return nil
	}
	budget, _ := cfg["monthlyBudget"].(float64)
	source := "policy config monthlyBudget"
	if budget <= 0 && stack.Config != nil {
		budget, source = stack.Config.Cost.MonthlyBudget, "stack config cost.monthlyBudget"
	}
	if budget <= 0 || stack.Estimate.BusyMonthly <= budget {
		return nil
	}
	return []string{fmt.Sprintf("stack %q is estimated at $%.2f/month when busy (idle $%.2f), over its budget of $%.2f (%s): shrink pool sizes or busy hours, use Spot, or raise the budget. `make cost STACK=%s` shows the lines.",
		stack.Name, stack.Estimate.BusyMonthly, stack.Estimate.IdleMonthly, budget, source, stack.Name)}
}
