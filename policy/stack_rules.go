package main

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// StackRule is a policy over the whole stack: what must exist alongside
// what, which no single resource shows.
type StackRule struct {
	// Name is the policy name in the pack.
	Name string
	// Description is what the rule guarantees.
	Description string
	// Enforcement is the default level.
	Enforcement policyx.EnforcementLevel
	// Check finds violations among all the stack's resources.
	Check func(resources []Resource) []string
}

// StackRules run once per preview or update, over every resource.
var StackRules = []StackRule{
	{
		Name: "namespace-default-deny",
		Description: "Every namespace the platform creates has a default-deny NetworkPolicy (all pods, ingress and egress, " +
			"no rules), so a pod reaches only what an allow policy names.",
		Enforcement: policyx.EnforcementLevelMandatory,
		Check:       checkNamespaceDefaultDeny,
	},
	{
		Name: "pods-fit-their-pool",
		Description: "Every workload's pod fits one node of a node pool it may land on (its selector, taints and GPU): " +
			"node allocatable by GKE's formula, less GKE's per-node pods. A pod that fits no node never triggers a scale-up and stays Pending.",
		Enforcement: policyx.EnforcementLevelMandatory,
		Check:       checkPodsFitPools,
	},
}

const (
	namespaceType     = "kubernetes:core/v1:Namespace"
	networkPolicyType = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
)

// isDefaultDeny reports whether a NetworkPolicy selects every pod and
// denies both directions.
func isDefaultDeny(r Resource) bool {
	selector, _ := r.Get("spec.podSelector").(map[string]any)
	if len(selector) != 0 || r.Get("spec.ingress") != nil || r.Get("spec.egress") != nil {
		return false
	}
	types := asList(r.Get("spec.policyTypes"))
	has := func(t string) bool {
		for _, v := range types {
			if v == t {
				return true
			}
		}
		return false
	}
	return has("Ingress") && has("Egress")
}

func checkNamespaceDefaultDeny(resources []Resource) []string {
	denied := map[string]bool{}
	unknown := false
	for _, r := range resources {
		if r.Type != networkPolicyType || !isDefaultDeny(r) {
			continue
		}
		ns := r.Get("metadata.namespace")
		if isUnknown(ns) {
			unknown = true // the namespace's name is an output, known after it is created
			continue
		}
		denied[asString(ns)] = true
	}
	var v []string
	for _, r := range resources {
		labels, _ := r.Get("metadata.labels").(map[string]any)
		if r.Type != namespaceType || asString(labels["app.kubernetes.io/part-of"]) != "gke-gpu-platform" {
			continue
		}
		name := r.Get("metadata.name")
		if isUnknown(name) || unknown || denied[asString(name)] {
			continue
		}
		v = append(v, fmt.Sprintf("namespace %q has no default-deny NetworkPolicy: every pod in it can reach, and be reached by, anything.", asString(name)))
	}
	return v
}
