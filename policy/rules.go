package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/cost"
)

// Resource types the rules read.
const (
	clusterType    = "gcp:container/cluster:Cluster"
	nodePoolType   = "gcp:container/nodePool:NodePool"
	repositoryType = "gcp:artifactregistry/repository:Repository"
	serviceType    = "kubernetes:core/v1:Service"
	ingressType    = "kubernetes:networking.k8s.io/v1:Ingress"
	// computeClassType is GKE's custom ComputeClass.
	computeClassType = "kubernetes:cloud.google.com/v1:ComputeClass"
)

// workloadTypes maps each workload kind to where its pod spec lives.
var workloadTypes = map[string]string{
	"kubernetes:core/v1:Pod":                   "spec",
	"kubernetes:apps/v1:Deployment":            "spec.template.spec",
	"kubernetes:apps/v1:StatefulSet":           "spec.template.spec",
	"kubernetes:apps/v1:DaemonSet":             "spec.template.spec",
	"kubernetes:apps/v1:ReplicaSet":            "spec.template.spec",
	"kubernetes:batch/v1:Job":                  "spec.template.spec",
	"kubernetes:batch/v1:CronJob":              "spec.jobTemplate.spec.template.spec",
	"kubernetes:core/v1:ReplicationController": "spec.template.spec",
	// KEDA starts one Job per queued message from this template.
	"kubernetes:keda.sh/v1alpha1:ScaledJob": "spec.jobTargetRef.template.spec",
}

// Stack is what the pack knows of the stack under preview, from the stack
// config the engine hands it (not from any cloud API).
type Stack struct {
	// Name is the stack name.
	Name string
	// Config is the stack's validated config; nil if it did not load (the
	// program itself then fails with the reason).
	Config *config.Config
}

// costTypes are the resource types that cost money, as internal/cost reads them.
var costTypes = []string{
	clusterType, nodePoolType, ingressType, serviceType,
	"gcp:compute/globalAddress:GlobalAddress", "gcp:compute/address:Address",
	"gcp:compute/globalForwardingRule:GlobalForwardingRule", "gcp:compute/forwardingRule:ForwardingRule",
	// A NAT gateway bills per node-hour; a ScaledObject's cooldown keeps a
	// GPU node up after each burst, unless it scales a Deployment that asks
	// for no GPU.
	"gcp:compute/routerNat:RouterNat", "kubernetes:keda.sh/v1alpha1:ScaledObject", "kubernetes:apps/v1:Deployment",
	// A queue's results bucket bills operations per job.
	"gcp:storage/bucket:Bucket",
	// The GPU ComputeClass: its flex-start options are node pools GKE creates.
	computeClassType,
	// A GPU worker's ScaledJob bounds the GPU nodes of the worst month.
	"kubernetes:keda.sh/v1alpha1:ScaledJob", "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
}

// Check is a rule's logic: the violations it finds in one resource, each a
// message that names the resource and says what to change. cfg holds the
// rule's policy config, defaults applied.
type Check func(r Resource, stack Stack, cfg map[string]any, state *runState) []string

// Rule is one policy: data (name, text, level, types, config schema) and a function.
type Rule struct {
	// Name is the policy name in the pack and in the policy config file.
	Name string
	// Description is what the rule guarantees, shown with every violation.
	Description string
	// Enforcement is the default level; the policy config file may change it.
	Enforcement policyx.EnforcementLevel
	// Types are the resource types the rule reads; other types pass.
	Types []string
	// Config is the JSON schema of the rule's config properties, with defaults.
	Config map[string]map[string]any
	// Check finds violations.
	Check Check
}

// runState is what rules remember across resources within one preview or
// update: policyx's stack policies receive no policy config, so the one
// cross-resource count (Ingresses) is kept here instead.
type runState struct {
	ingresses []string
	// graph is what monthly-budget has priced so far in this operation.
	graph      []cost.Resource
	priced     map[string]bool
	overBudget bool
	prices     *cost.Prices
}

// Rules is the pack, in the order `pulumi preview` lists them.
var Rules = []Rule{
	// Cost.
	{
		Name:        "gke-cluster-zonal",
		Description: "The GKE control plane is zonal: the free tier pays for one zonal cluster; a regional one costs ~$73/month.",
		Enforcement: policyx.EnforcementLevelMandatory,
		Types:       []string{clusterType},
		Config:      map[string]map[string]any{"allowRegional": {"type": "boolean", "default": false}},
		Check:       checkZonal,
	},
	{
		Name:        "gpu-pool-scales-to-zero",
		Description: "GPU node pools autoscale from 0, start at 0 and carry the nvidia.com/gpu=present:NO_SCHEDULE taint, so idle GPUs cost nothing and only GPU pods land there.",
		Enforcement: policyx.EnforcementLevelMandatory,
		Types:       []string{nodePoolType},
		Check:       checkGPUPool,
	},
	{
		Name: "gpu-pools-stream-images",
		Description: "GPU node pools use GKE image streaming (nodeConfig.gcfsConfig.enabled on a COS_CONTAINERD image), so a node from zero " +
			"starts a multi-GB CUDA image in seconds and a burst bills fewer idle GPU minutes.",
		Enforcement: policyx.EnforcementLevelMandatory,
		Types:       []string{nodePoolType},
		Check:       checkGPUImageStreaming,
	},
	{
		Name:        "no-loadbalancer-services",
		Description: "Services are not of type LoadBalancer: each is a billed forwarding rule; traffic enters through the one Ingress.",
		Enforcement: policyx.EnforcementLevelMandatory,
		Types:       []string{serviceType},
		Config: map[string]map[string]any{"allowedServices": {
			"type": "array", "items": map[string]any{"type": "string"}, "default": []any{},
			"description": "Service names (metadata.name) allowed to be LoadBalancers.",
		}},
		Check: checkNoLoadBalancer,
	},
	{
		Name:        "one-ingress",
		Description: "A stack has at most one Ingress: on GKE each one is its own load balancer and forwarding rule.",
		Enforcement: policyx.EnforcementLevelMandatory,
		Types:       []string{ingressType},
		Config:      map[string]map[string]any{"maxIngresses": {"type": "integer", "minimum": 0, "default": 1}},
		Check:       checkIngressCount,
	},
	{
		Name:        "registry-cleanup-policy",
		Description: "Artifact Registry repositories have an active cleanup policy: image storage is billed per GB-month.",
		Enforcement: policyx.EnforcementLevelMandatory,
		Types:       []string{repositoryType},
		Check:       checkRegistryCleanup,
	},
	{
		Name: "monthly-budget",
		Description: "What the preview will create (clusters, node pools with their machine types, bounds, zones, GPUs and disks, " +
			"forwarding rules, static addresses), priced by internal/cost, stays within the budget in this policy's config: " +
			"never the stack file a pull request edits.",
		Enforcement: policyx.EnforcementLevelMandatory,
		Types:       costTypes,
		Config: map[string]map[string]any{
			"monthlyBudget": {"type": "number", "minimum": 0, "default": 0,
				"description": "USD per month, busy; 0 means no budget."},
			"freeTier": {"type": "boolean", "default": false,
				"description": "This stack's zonal cluster gets the billing account's free-tier credit."},
			"gpuBusyHoursPerMonth": {"type": "number", "minimum": 0, "default": 730,
				"description": "Expected GPU node-hours per month, per GPU pool (default: one GPU node all month); ignored when burstsPerDay is set."},
			"burstsPerDay": {"type": "number", "minimum": 0, "default": 0,
				"description": "Bursts of GPU work a day, each from zero GPU nodes; above 0 the busy GPU node-hours are the bursts' billed node time (node start to scale-down)."},
			"burstWorkMinutes": {"type": "number", "minimum": 0, "default": 10,
				"description": "Minutes of work in one burst."},
			"natGbPerMonth": {"type": "number", "minimum": 0, "default": 1,
				"description": "Traffic through Cloud NAT per month, in GB (private nodes)."},
			"registryStorageGb": {"type": "number", "minimum": 0, "default": 0,
				"description": "Expected Artifact Registry storage."},
			"jobsPerMonth": {"type": "number", "minimum": 0, "default": 0,
				"description": "Jobs per month across the queues, each with a record in a results bucket."},
			"fallbackShare": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.2,
				"description": "The chance a GPU option cannot supply a node when asked, so the next option of the GPU ComputeClass serves (cost.fallbackShare)."},
		},
		Check: checkBudget,
	},
	// Security.
	{
		Name:        "gke-cluster-hardened",
		Description: "GKE clusters use Workload Identity and shielded nodes, with legacy ABAC, client certificates and basic auth off.",
		Enforcement: policyx.EnforcementLevelMandatory,
		Types:       []string{clusterType},
		Check:       checkClusterHardened,
	},
	{
		Name:        "node-pool-hardened",
		Description: "Node pools run as a dedicated service account (never the Compute Engine default) with auto-repair and auto-upgrade on.",
		Enforcement: policyx.EnforcementLevelMandatory,
		Types:       []string{nodePoolType, clusterType},
		Check:       checkNodePoolHardened,
	},
	{
		Name:        "pod-security",
		Description: "Every container sets CPU and memory requests and limits, runs as non-root without privilege escalation, drops ALL capabilities and is not privileged; no pod uses hostPath, hostNetwork, hostPID or hostIPC.",
		Enforcement: policyx.EnforcementLevelMandatory,
		Types:       workloadTypeList(),
		Check:       checkPodSecurity,
	},
	{
		Name:        "gpu-toleration-only-for-gpu-workloads",
		Description: "Only pods that request nvidia.com/gpu tolerate the GPU taint: anything else on a GPU node keeps it (and its bill) up.",
		Enforcement: policyx.EnforcementLevelMandatory,
		Types:       workloadTypeList(),
		Check:       checkGPUToleration,
	},
	{
		Name: "ephemeral-storage-bounded",
		Description: "Every container requests and limits ephemeral-storage: a pod that fills its node's disk is evicted " +
			"itself instead of getting its neighbours evicted.",
		Enforcement: policyx.EnforcementLevelMandatory,
		Types:       workloadTypeList(),
		Check:       checkEphemeralStorage,
	},
	{
		Name: "gpu-workloads-idle-at-zero",
		Description: "A Deployment that requests nvidia.com/gpu starts at zero replicas (queue-driven: KEDA scales it with the backlog) " +
			"unless it is marked always-on (apps[].alwaysOn): a GPU pod that never ends keeps a GPU node billed around the clock.",
		Enforcement: policyx.EnforcementLevelMandatory,
		Types:       []string{"kubernetes:apps/v1:Deployment"},
		Check:       checkGPUIdleAtZero,
	},
	{
		Name: "no-secrets-in-env",
		Description: "No container sets a plain env value under a name that says it is a secret (PASSWORD, TOKEN, SECRET, API_KEY...): " +
			"such values come from a Kubernetes Secret (apps[].secretEnv, from the stack's encrypted secrets).",
		Enforcement: policyx.EnforcementLevelMandatory,
		Types:       workloadTypeList(),
		Check:       checkNoSecretsInEnv,
	},
	{
		Name:        "images-pinned",
		Description: "Container images are pinned to a version tag or a digest, never :latest or untagged, so a re-run deploys what was reviewed.",
		Enforcement: policyx.EnforcementLevelMandatory,
		Types:       workloadTypeList(),
		Check:       checkImagesPinned,
	},
	{
		Name:        "prod-deletion-protection",
		Description: "Production clusters have GKE deletion protection on.",
		Enforcement: policyx.EnforcementLevelMandatory,
		Types:       []string{clusterType},
		Config: map[string]map[string]any{"protectedStacks": {
			"type": "array", "items": map[string]any{"type": "string"}, "default": []any{"prod"},
			"description": "Stacks whose clusters must have deletion protection.",
		}},
		Check: checkDeletionProtection,
	},
}

func workloadTypeList() []string {
	out := make([]string, 0, len(workloadTypes))
	for t := range workloadTypes {
		out = append(out, t)
	}
	return out
}

// withDefaults returns the rule's config with schema defaults filled in.
func (r Rule) withDefaults(cfg map[string]any) map[string]any {
	out := map[string]any{}
	for k, schema := range r.Config {
		if d, ok := schema["default"]; ok {
			out[k] = d
		}
	}
	for k, v := range cfg {
		out[k] = v
	}
	return out
}

// applies reports whether the rule reads this resource type.
func (r Rule) applies(typ string) bool {
	for _, t := range r.Types {
		if t == typ {
			return true
		}
	}
	return false
}

// Evaluate runs one rule against one resource.
func (r Rule) Evaluate(res Resource, stack Stack, cfg map[string]any, state *runState) []string {
	if !r.applies(res.Type) {
		return nil
	}
	return r.Check(res, stack, r.withDefaults(cfg), state)
}
