package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
)

func rule(t *testing.T, name string) Rule {
	t.Helper()
	for _, r := range Rules {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no rule %q", name)
	return Rule{}
}

// obj builds nested props from dotted paths: obj("a.b", 1) = {a: {b: 1}}.
func obj(kv ...any) map[string]any {
	out := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		set(out, kv[i].(string), kv[i+1])
	}
	return out
}

func set(m map[string]any, path string, v any) {
	for {
		head, rest, more := cut(path)
		if !more {
			m[head] = v
			return
		}
		next, ok := m[head].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[head] = next
		}
		m, path = next, rest
	}
}

func cut(path string) (string, string, bool) {
	for i := range path {
		if path[i] == '.' {
			return path[:i], path[i+1:], true
		}
	}
	return path, "", false
}

var (
	gpuTaint = []any{map[string]any{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}}
	t4       = []any{map[string]any{"type": "nvidia-tesla-t4", "count": 1.0}}
	goodCtr  = map[string]any{
		"name": "web", "image": "nginx:1.27",
		"resources": map[string]any{
			"requests": map[string]any{"cpu": "100m", "memory": "64Mi", "ephemeral-storage": "128Mi"},
			"limits":   map[string]any{"cpu": "1", "memory": "128Mi", "ephemeral-storage": "1Gi"},
		},
		"securityContext": map[string]any{
			"runAsNonRoot": true, "allowPrivilegeEscalation": false, "capabilities": map[string]any{"drop": []any{"ALL"}},
		},
	}
)

func withCtr(changes map[string]any) map[string]any {
	c := map[string]any{}
	for k, v := range goodCtr {
		c[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// gpuDeployment is a GPU worker Deployment with the given replicas (nil: unset) and annotations.
func gpuDeployment(replicas any, annotations map[string]any) Resource {
	props := obj("spec.template.spec", map[string]any{"containers": []any{withCtr(map[string]any{
		"resources": map[string]any{"limits": map[string]any{"nvidia.com/gpu": "1", "cpu": "1", "memory": "1Gi"},
			"requests": map[string]any{"cpu": "1", "memory": "1Gi"}}})}})
	if replicas != nil {
		set(props, "spec.replicas", replicas)
	}
	if annotations != nil {
		set(props, "metadata.annotations", annotations)
	}
	return Resource{Type: "kubernetes:apps/v1:Deployment", Name: "gpu", Props: props}
}

func deployment(pod map[string]any) Resource {
	return Resource{Type: "kubernetes:apps/v1:Deployment", Name: "web", Props: obj("spec.template.spec", pod)}
}

func devStack(t *testing.T) Stack {
	t.Helper()
	cfg, err := config.LoadStackFile("..", "dev")
	require.NoError(t, err)
	return Stack{Name: "dev", Config: &cfg}
}

func TestRules(t *testing.T) {
	dev := devStack(t)
	regional := dev
	regionalCfg := *dev.Config
	regionalCfg.Cluster.Regional = true
	regional.Config = &regionalCfg
	// 4 x n1-standard-8 on demand all month: 4 x 0.38 x 730 x 0.7 (N1 sustained use) = $776.72,
	// + 4 x 50 GB pd-standard = $8.00, + 4 node IPs x 0.005 x 730 = $14.60: $799.32.
	bigPool := Resource{Type: nodePoolType, Name: "batch", Props: obj("location", "us-central1-a",
		"nodeConfig.machineType", "n1-standard-8", "nodeConfig.diskType", "pd-standard", "nodeConfig.diskSizeGb", 50.0,
		"autoscaling.minNodeCount", 4.0, "autoscaling.maxNodeCount", 4.0)}

	tests := []struct {
		rule  string
		name  string
		res   Resource
		stack Stack
		cfg   map[string]any
		want  string // "" means it passes
	}{
		{rule: "gke-cluster-zonal", name: "zonal passes",
			res: Resource{Type: clusterType, Name: "c", Props: obj("location", "us-central1-a")}, stack: dev},
		{rule: "gke-cluster-zonal", name: "regional fails",
			res: Resource{Type: clusterType, Name: "c", Props: obj("location", "us-central1")}, stack: dev,
			want: `cluster "c" is in "us-central1", not a zone`},
		{rule: "gke-cluster-zonal", name: "regional opted in by stack config",
			res: Resource{Type: clusterType, Name: "c", Props: obj("location", "us-central1")}, stack: regional},
		{rule: "gke-cluster-zonal", name: "regional allowed by policy config",
			res: Resource{Type: clusterType, Name: "c", Props: obj("location", "us-central1")}, stack: dev, cfg: map[string]any{"allowRegional": true}},

		{rule: "gpu-pool-scales-to-zero", name: "good gpu pool passes",
			res: Resource{Type: nodePoolType, Name: "gpu", Props: obj("nodeConfig.guestAccelerators", t4, "nodeConfig.taints", gpuTaint,
				"autoscaling.minNodeCount", 0.0, "autoscaling.maxNodeCount", 2.0, "initialNodeCount", 0.0)}},
		{rule: "gpu-pool-scales-to-zero", name: "min above zero fails",
			res: Resource{Type: nodePoolType, Name: "gpu", Props: obj("nodeConfig.guestAccelerators", t4, "nodeConfig.taints", gpuTaint,
				"autoscaling.minNodeCount", 1.0, "initialNodeCount", 0.0)},
			want: `GPU node pool "gpu" has autoscaling.minNodeCount = 1: set it to 0`},
		{rule: "gpu-pool-scales-to-zero", name: "multi-zone pool at zero in total passes",
			res: Resource{Type: nodePoolType, Name: "gpu", Props: obj("nodeConfig.guestAccelerators", t4, "nodeConfig.taints", gpuTaint,
				"autoscaling.totalMinNodeCount", 0.0, "autoscaling.totalMaxNodeCount", 2.0, "initialNodeCount", 0.0)}},
		{rule: "gpu-pool-scales-to-zero", name: "multi-zone pool total min above zero fails",
			res: Resource{Type: nodePoolType, Name: "gpu", Props: obj("nodeConfig.guestAccelerators", t4, "nodeConfig.taints", gpuTaint,
				"autoscaling.totalMinNodeCount", 1.0, "initialNodeCount", 0.0)},
			want: `GPU node pool "gpu" has autoscaling.totalMinNodeCount = 1: set it to 0`},
		{rule: "gpu-pool-scales-to-zero", name: "missing taint fails",
			res: Resource{Type: nodePoolType, Name: "gpu", Props: obj("nodeConfig.guestAccelerators", t4,
				"autoscaling.minNodeCount", 0.0, "initialNodeCount", 0.0)},
			want: `GPU node pool "gpu" lacks the taint {key: nvidia.com/gpu, value: present, effect: NO_SCHEDULE}`},
		{rule: "gpu-pool-scales-to-zero", name: "no autoscaling fails",
			res:  Resource{Type: nodePoolType, Name: "gpu", Props: obj("nodeConfig.guestAccelerators", t4, "nodeConfig.taints", gpuTaint)},
			want: `GPU node pool "gpu" has no autoscaling`},
		{rule: "gpu-pool-scales-to-zero", name: "initial count above zero fails",
			res: Resource{Type: nodePoolType, Name: "gpu", Props: obj("nodeConfig.guestAccelerators", t4, "nodeConfig.taints", gpuTaint,
				"autoscaling.minNodeCount", 0.0, "initialNodeCount", 1.0)},
			want: `initialNodeCount = 1: set it to 0`},
		{rule: "gpu-pool-scales-to-zero", name: "cpu pool is not its business",
			res: Resource{Type: nodePoolType, Name: "cpu", Props: obj("autoscaling.minNodeCount", 3.0, "initialNodeCount", 3.0)}},

		{rule: "gpu-pools-stream-images", name: "streaming GPU pool passes",
			res: Resource{Type: nodePoolType, Name: "gpu", Props: obj("nodeConfig.guestAccelerators", t4, "nodeConfig.gcfsConfig.enabled", true)}},
		{rule: "gpu-pools-stream-images", name: "pulling GPU pool fails",
			res:  Resource{Type: nodePoolType, Name: "gpu", Props: obj("nodeConfig.guestAccelerators", t4)},
			want: `GPU node pool "gpu" pulls whole images before a pod starts: set nodeConfig.gcfsConfig.enabled`},
		{rule: "gpu-pools-stream-images", name: "streaming turned off fails",
			res:  Resource{Type: nodePoolType, Name: "gpu", Props: obj("nodeConfig.guestAccelerators", t4, "nodeConfig.gcfsConfig.enabled", false)},
			want: `GPU node pool "gpu" pulls whole images`},
		{rule: "gpu-pools-stream-images", name: "cpu pool is not its business",
			res: Resource{Type: nodePoolType, Name: "cpu", Props: obj("autoscaling.minNodeCount", 3.0)}},

		{rule: "no-loadbalancer-services", name: "ClusterIP passes",
			res: Resource{Type: serviceType, Name: "web", Props: obj("spec.type", "ClusterIP")}},
		{rule: "no-loadbalancer-services", name: "LoadBalancer fails",
			res:  Resource{Type: serviceType, Name: "web", Props: obj("spec.type", "LoadBalancer", "metadata.name", "web")},
			want: `Service "web" is of type LoadBalancer`},
		{rule: "no-loadbalancer-services", name: "allowed LoadBalancer passes",
			res: Resource{Type: serviceType, Name: "web", Props: obj("spec.type", "LoadBalancer", "metadata.name", "web")},
			cfg: map[string]any{"allowedServices": []any{"web"}}},

		{rule: "registry-cleanup-policy", name: "cleanup passes",
			res: Resource{Type: repositoryType, Name: "r", Props: obj("cleanupPolicies", []any{map[string]any{"id": "keep"}}, "cleanupPolicyDryRun", false)}},
		{rule: "registry-cleanup-policy", name: "no cleanup fails",
			res:  Resource{Type: repositoryType, Name: "r", Props: obj("format", "DOCKER")},
			want: `repository "r" has no cleanup policy`},
		{rule: "registry-cleanup-policy", name: "dry run fails",
			res:  Resource{Type: repositoryType, Name: "r", Props: obj("cleanupPolicies", []any{map[string]any{"id": "keep"}}, "cleanupPolicyDryRun", true)},
			want: `runs its cleanup policy as a dry run`},

		{rule: "monthly-budget", name: "no budget in the policy config passes",
			res: bigPool, stack: dev},
		{rule: "monthly-budget", name: "within the policy config budget passes",
			res: bigPool, stack: dev, cfg: map[string]any{"monthlyBudget": 900.0}},
		{rule: "monthly-budget", name: "over the policy config budget fails",
			res: bigPool, stack: dev, cfg: map[string]any{"monthlyBudget": 500.0},
			want: `with NodePool "batch" the preview is estimated at $799.32/month when busy (idle $799.32), over the budget of $500.00 (policy config monthly-budget.monthlyBudget)`},
		{rule: "monthly-budget", name: "a region without prices fails",
			res:   Resource{Type: clusterType, Name: "c", Props: obj("location", "europe-west4-a", "removeDefaultNodePool", true)},
			stack: dev, cfg: map[string]any{"monthlyBudget": 500.0},
			want: `cannot price stack "dev" against its budget of $500.00: no prices for region "europe-west4": internal/cost/prices.json holds us-central1 only`},

		{rule: "gke-cluster-hardened", name: "hardened passes",
			res: Resource{Type: clusterType, Name: "c", Props: obj("workloadIdentityConfig.workloadPool", "p.svc.id.goog", "enableShieldedNodes", true,
				"enableLegacyAbac", false, "masterAuth.clientCertificateConfig.issueClientCertificate", false)}},
		{rule: "gke-cluster-hardened", name: "no workload identity fails",
			res:  Resource{Type: clusterType, Name: "c", Props: obj("enableShieldedNodes", true)},
			want: `cluster "c" has no Workload Identity`},
		{rule: "gke-cluster-hardened", name: "legacy abac fails",
			res:  Resource{Type: clusterType, Name: "c", Props: obj("workloadIdentityConfig.workloadPool", "p.svc.id.goog", "enableLegacyAbac", true)},
			want: `cluster "c" enables legacy ABAC`},
		{rule: "gke-cluster-hardened", name: "client certificate fails",
			res:  Resource{Type: clusterType, Name: "c", Props: obj("workloadIdentityConfig.workloadPool", "p.svc.id.goog", "masterAuth.clientCertificateConfig.issueClientCertificate", true)},
			want: `cluster "c" issues a client certificate`},
		{rule: "gke-cluster-hardened", name: "shielded nodes off fails",
			res:  Resource{Type: clusterType, Name: "c", Props: obj("workloadIdentityConfig.workloadPool", "p.svc.id.goog", "enableShieldedNodes", false)},
			want: `turns shielded nodes off`},

		{rule: "node-pool-hardened", name: "dedicated account passes",
			res: Resource{Type: nodePoolType, Name: "cpu", Props: obj("nodeConfig.serviceAccount", "nodes@p.iam.gserviceaccount.com",
				"management.autoRepair", true, "management.autoUpgrade", true)}},
		{rule: "node-pool-hardened", name: "account created in the stack passes at preview",
			res: Resource{Type: nodePoolType, Name: "cpu", Props: obj("nodeConfig.serviceAccount", Unknown{},
				"management.autoRepair", true, "management.autoUpgrade", true)}},
		{rule: "node-pool-hardened", name: "default compute account fails",
			res: Resource{Type: nodePoolType, Name: "cpu", Props: obj("nodeConfig.serviceAccount", "123456-compute@developer.gserviceaccount.com",
				"management.autoRepair", true, "management.autoUpgrade", true)},
			want: `node pool "cpu" runs its nodes as the Compute Engine default service account`},
		{rule: "node-pool-hardened", name: "no account at all fails",
			res:  Resource{Type: nodePoolType, Name: "cpu", Props: obj("management.autoRepair", true, "management.autoUpgrade", true)},
			want: `Compute Engine default service account`},
		{rule: "node-pool-hardened", name: "auto-upgrade off fails",
			res: Resource{Type: nodePoolType, Name: "cpu", Props: obj("nodeConfig.serviceAccount", "nodes@p.iam.gserviceaccount.com",
				"management.autoRepair", true, "management.autoUpgrade", false)},
			want: `node pool "cpu" has auto-upgrade off`},

		{rule: "pod-security", name: "locked-down pod passes",
			res: deployment(map[string]any{"containers": []any{goodCtr}})},
		{rule: "pod-security", name: "no limits fails",
			res: deployment(map[string]any{"containers": []any{withCtr(map[string]any{"resources": map[string]any{
				"requests": map[string]any{"cpu": "1", "memory": "1Gi"}}})}}),
			want: `container "web" of Deployment "web" has no cpu/memory limits`},
		{rule: "pod-security", name: "root fails",
			res: deployment(map[string]any{"containers": []any{withCtr(map[string]any{"securityContext": map[string]any{
				"allowPrivilegeEscalation": false, "capabilities": map[string]any{"drop": []any{"ALL"}}}})}}),
			want: `may run as root`},
		{rule: "pod-security", name: "pod-level non-root is enough",
			res: deployment(map[string]any{"securityContext": map[string]any{"runAsNonRoot": true}, "containers": []any{withCtr(map[string]any{"securityContext": map[string]any{
				"allowPrivilegeEscalation": false, "capabilities": map[string]any{"drop": []any{"ALL"}}}})}})},
		{rule: "pod-security", name: "privilege escalation fails",
			res: deployment(map[string]any{"containers": []any{withCtr(map[string]any{"securityContext": map[string]any{
				"runAsNonRoot": true, "capabilities": map[string]any{"drop": []any{"ALL"}}}})}}),
			want: `allows privilege escalation`},
		{rule: "pod-security", name: "privileged fails",
			res: deployment(map[string]any{"containers": []any{withCtr(map[string]any{"securityContext": map[string]any{
				"runAsNonRoot": true, "allowPrivilegeEscalation": false, "privileged": true, "capabilities": map[string]any{"drop": []any{"ALL"}}}})}}),
			want: `is privileged`},
		{rule: "pod-security", name: "capabilities kept fails",
			res: deployment(map[string]any{"containers": []any{withCtr(map[string]any{"securityContext": map[string]any{
				"runAsNonRoot": true, "allowPrivilegeEscalation": false}})}}),
			want: `keeps Linux capabilities`},
		{rule: "pod-security", name: "hostPath fails",
			res:  deployment(map[string]any{"containers": []any{goodCtr}, "volumes": []any{map[string]any{"name": "docker", "hostPath": map[string]any{"path": "/var/run"}}}}),
			want: `mounts hostPath volume "docker"`},
		{rule: "pod-security", name: "hostNetwork fails",
			res:  deployment(map[string]any{"containers": []any{goodCtr}, "hostNetwork": true}),
			want: `sets hostNetwork`},
		{rule: "pod-security", name: "hostPID fails",
			res:  Resource{Type: "kubernetes:core/v1:Pod", Name: "p", Props: obj("spec", map[string]any{"containers": []any{goodCtr}, "hostPID": true})},
			want: `Pod "p" sets hostPID`},

		{rule: "gpu-toleration-only-for-gpu-workloads", name: "gpu pod with toleration passes",
			res: deployment(map[string]any{
				"tolerations": []any{map[string]any{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}},
				"containers":  []any{withCtr(map[string]any{"resources": map[string]any{"limits": map[string]any{"nvidia.com/gpu": "1"}}})}})},
		{rule: "gpu-toleration-only-for-gpu-workloads", name: "cpu pod with toleration fails",
			res: deployment(map[string]any{
				"tolerations": []any{map[string]any{"key": "nvidia.com/gpu", "operator": "Exists"}},
				"containers":  []any{goodCtr}}),
			want: `Deployment "web" tolerates the nvidia.com/gpu taint but requests no GPU`},
		{rule: "gpu-toleration-only-for-gpu-workloads", name: "tolerate-everything fails",
			res: deployment(map[string]any{
				"tolerations": []any{map[string]any{"operator": "Exists"}},
				"containers":  []any{goodCtr}}),
			want: `tolerates the nvidia.com/gpu taint`},

		{rule: "gpu-workloads-idle-at-zero", name: "queue-driven gpu worker at zero passes",
			res: gpuDeployment(0.0, nil)},
		{rule: "gpu-workloads-idle-at-zero", name: "cpu app with replicas passes",
			res: Resource{Type: "kubernetes:apps/v1:Deployment", Name: "web", Props: obj("spec.replicas", 3.0, "spec.template.spec", map[string]any{"containers": []any{goodCtr}})}},
		{rule: "gpu-workloads-idle-at-zero", name: "always-on gpu app passes",
			res: gpuDeployment(1.0, map[string]any{alwaysOnAnnotation: "true"})},
		{rule: "gpu-workloads-idle-at-zero", name: "gpu app with a replica fails",
			res:  gpuDeployment(1.0, nil),
			want: `Deployment "gpu" requests nvidia.com/gpu and runs 1 replica(s) with no queue behind it`},
		{rule: "gpu-workloads-idle-at-zero", name: "gpu app under an HPA (replicas unset) fails",
			res:  gpuDeployment(nil, nil),
			want: `runs 1 replica(s)`},
		{rule: "pod-security", name: "ScaledJob pod template is checked",
			res: Resource{Type: "kubernetes:keda.sh/v1alpha1:ScaledJob", Name: "batch",
				Props: obj("spec.jobTargetRef.template.spec", map[string]any{"containers": []any{withCtr(map[string]any{"securityContext": nil})}})},
			want: `ScaledJob "batch"`},

		{rule: "ephemeral-storage-bounded", name: "requests and limits pass",
			res: deployment(map[string]any{"containers": []any{goodCtr}})},
		{rule: "ephemeral-storage-bounded", name: "no limit fails",
			res: deployment(map[string]any{"containers": []any{withCtr(map[string]any{"resources": map[string]any{
				"requests": map[string]any{"cpu": "1", "memory": "1Gi", "ephemeral-storage": "1Gi"},
				"limits":   map[string]any{"cpu": "1", "memory": "1Gi"}}})}}),
			want: `container "web" of Deployment "web" does not request and limit ephemeral-storage`},

		{rule: "no-secrets-in-env", name: "a secretKeyRef passes",
			res: deployment(map[string]any{"containers": []any{withCtr(map[string]any{"env": []any{map[string]any{"name": "API_KEY",
				"valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "web-env", "key": "API_KEY"}}}}})}})},
		{rule: "no-secrets-in-env", name: "a plain API key fails",
			res:  deployment(map[string]any{"containers": []any{withCtr(map[string]any{"env": []any{map[string]any{"name": "API_KEY", "value": "k"}}})}}),
			want: `container "web" of Deployment "web" sets API_KEY in clear`},

		{rule: "images-pinned", name: "tag passes",
			res: deployment(map[string]any{"containers": []any{withCtr(map[string]any{"image": "registry.local:5000/team/web:1.2.3"})}})},
		{rule: "images-pinned", name: "digest passes",
			res: deployment(map[string]any{"containers": []any{withCtr(map[string]any{"image": "us-docker.pkg.dev/p/r/web@sha256:abc123"})}})},
		{rule: "images-pinned", name: "image built in the stack passes at preview",
			res: deployment(map[string]any{"containers": []any{withCtr(map[string]any{"image": Unknown{}})}})},
		{rule: "images-pinned", name: "latest fails",
			res:  deployment(map[string]any{"containers": []any{withCtr(map[string]any{"image": "nginx:latest"})}}),
			want: `uses image "nginx:latest", which is not pinned`},
		{rule: "images-pinned", name: "untagged behind a registry port fails",
			res:  deployment(map[string]any{"containers": []any{withCtr(map[string]any{"image": "registry.local:5000/web"})}}),
			want: `uses image "registry.local:5000/web", which is not pinned`},

		{rule: "prod-deletion-protection", name: "prod with protection passes",
			res: Resource{Type: clusterType, Name: "c", Props: obj("deletionProtection", true)}, stack: Stack{Name: "prod"}},
		{rule: "prod-deletion-protection", name: "prod without protection fails",
			res: Resource{Type: clusterType, Name: "c", Props: obj("deletionProtection", false)}, stack: Stack{Name: "prod"},
			want: `cluster "c" of stack "prod" has deletion protection off`},
		{rule: "prod-deletion-protection", name: "dev without protection passes",
			res: Resource{Type: clusterType, Name: "c", Props: obj("deletionProtection", false)}, stack: Stack{Name: "dev"}},
		{rule: "prod-deletion-protection", name: "configured stacks",
			res: Resource{Type: clusterType, Name: "c", Props: obj("deletionProtection", false)}, stack: Stack{Name: "staging"},
			cfg: map[string]any{"protectedStacks": []any{"staging"}}, want: `of stack "staging" has deletion protection off`},
	}
	for _, tt := range tests {
		t.Run(tt.rule+"/"+tt.name, func(t *testing.T) {
			got := rule(t, tt.rule).Evaluate(tt.res, tt.stack, tt.cfg, &runState{})
			if tt.want == "" {
				assert.Empty(t, got)
				return
			}
			require.NotEmpty(t, got, "the rule must fail")
			assert.Contains(t, got[0], tt.want)
		})
	}
}

func TestOneIngressCountsAcrossResources(t *testing.T) {
	r := rule(t, "one-ingress")
	state := &runState{}
	ing := func(name string) Resource { return Resource{Type: ingressType, Name: name} }
	assert.Empty(t, r.Evaluate(ing("ingress"), Stack{}, nil, state))
	got := r.Evaluate(ing("second"), Stack{}, nil, state)
	require.Len(t, got, 1)
	assert.Contains(t, got[0], `Ingress "second" is Ingress number 2 in this stack (ingress, second), over maxIngresses = 1`)
	// Policy config can allow more.
	assert.Empty(t, r.Evaluate(ing("third"), Stack{}, map[string]any{"maxIngresses": 3.0}, state))
}

func TestEveryRuleHasAFailingCase(t *testing.T) {
	// Keeps TestRules honest as rules are added: each needs a row that fails.
	failing := map[string]bool{"one-ingress": true}
	for _, tt := range []string{"gke-cluster-zonal", "gpu-pool-scales-to-zero", "no-loadbalancer-services", "registry-cleanup-policy",
		"monthly-budget", "gke-cluster-hardened", "node-pool-hardened", "pod-security", "gpu-toleration-only-for-gpu-workloads",
		"images-pinned", "prod-deletion-protection", "gpu-workloads-idle-at-zero", "ephemeral-storage-bounded", "no-secrets-in-env",
		"gpu-pools-stream-images"} {
		failing[tt] = true
	}
	for _, r := range Rules {
		assert.True(t, failing[r.Name], "rule %s has no failing case in TestRules", r.Name)
		assert.NotEmpty(t, r.Description, r.Name)
		assert.NotEmpty(t, r.Types, r.Name)
	}
	assert.Len(t, failing, len(Rules))
}

func TestStackRules(t *testing.T) {
	ns := func(name string) Resource {
		return Resource{Type: namespaceType, Name: name, Props: obj("metadata.name", name,
			"metadata.labels", map[string]any{"app.kubernetes.io/part-of": "gke-gpu-platform"})}
	}
	policy := func(namespace any, spec map[string]any) Resource {
		props := map[string]any{"spec": spec}
		set(props, "metadata.namespace", namespace)
		return Resource{Type: networkPolicyType, Name: "p", Props: props}
	}
	deny := map[string]any{"podSelector": map[string]any{}, "policyTypes": []any{"Ingress", "Egress"}}
	tests := []struct {
		name      string
		resources []Resource
		want      string
	}{
		{name: "default deny passes", resources: []Resource{ns("dev"), policy("dev", deny)}},
		{name: "namespace name unknown at first preview passes", resources: []Resource{ns("dev"), policy(Unknown{}, deny)}},
		{name: "no policy fails", resources: []Resource{ns("dev")}, want: `namespace "dev" has no default-deny NetworkPolicy`},
		{name: "deny in another namespace fails", resources: []Resource{ns("dev"), policy("prod", deny)}, want: `namespace "dev"`},
		{name: "an allow policy is not a default deny", resources: []Resource{ns("dev"), policy("dev", map[string]any{
			"podSelector": map[string]any{}, "policyTypes": []any{"Ingress", "Egress"}, "egress": []any{map[string]any{}}})},
			want: `namespace "dev"`},
		{name: "ingress-only deny fails", resources: []Resource{ns("dev"), policy("dev", map[string]any{
			"podSelector": map[string]any{}, "policyTypes": []any{"Ingress"}})}, want: `namespace "dev"`},
		{name: "namespaces the platform does not own pass", resources: []Resource{{Type: namespaceType, Name: "x", Props: obj("metadata.name", "x")}}},
	}
	require.Equal(t, "namespace-default-deny", StackRules[0].Name)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := StackRules[0].Check(tt.resources)
			if tt.want == "" {
				assert.Empty(t, got)
				return
			}
			require.Len(t, got, 1)
			assert.Contains(t, got[0], tt.want)
		})
	}
}
