//go:build e2e

// Package e2e deploys the local stack with the real Pulumi engine onto a
// real (loopback) Kubernetes control plane whose nodes are simulated by
// kwok, beside a real Redis and the real KEDA (operator and metrics
// adapter), and checks what mocks cannot: that the engine accepts the graph,
// that the API server accepts every object, that Deployments become
// Available, that the real scheduler puts GPU work on the GPU node and
// nothing else there, and that queued work scales the GPU worker from zero
// and back. Run with `make e2e` (it builds the tools first).
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/graphtest"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/kedaschema"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/controlplane"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/engine"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/queue"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/storage"
	"github.com/gke-gpu-platform/gke-gpu-platform/stacks"
)

const namespace = "platform" // Pulumi.local.yaml

type env struct {
	cp    *controlplane.ControlPlane
	queue *redis.Client
	stack auto.Stack
	opts  engine.Options
	bin   string
	pack  string
	// project is the repository's project directory (the shipped files).
	project string
	// deadBefore are the dead letters in the queue before the fault steps.
	deadBefore int64
	// deploymentsEnv are the PULUMI_OPTION_* variables set by deploymentsPolicyEnv.
	deploymentsEnv map[string]string
}

// deploymentsPolicyEnv sets the PULUMI_OPTION_* variables of the review
// stacks' Deployments settings on the workspace, and puts the pack where
// their pre-run command builds it, relative to the project directory.
func (e *env) deploymentsPolicyEnv(t *testing.T) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(e.project, ".ci", "deployments", "pr.json"))
	require.NoError(t, err)
	var settings struct {
		OperationContext struct {
			EnvironmentVariables map[string]string `json:"environmentVariables"`
		} `json:"operationContext"`
	}
	require.NoError(t, json.Unmarshal(raw, &settings))
	e.deploymentsEnv = map[string]string{}
	for k, v := range settings.OperationContext.EnvironmentVariables {
		if strings.HasPrefix(k, "PULUMI_OPTION_") {
			e.deploymentsEnv[k] = v
		}
	}
	pack := e.deploymentsEnv["PULUMI_OPTION_POLICY_PACK"]
	require.NotEmpty(t, pack)
	// The policy config it names, at the same path in the project.
	config := e.deploymentsEnv["PULUMI_OPTION_POLICY_PACK_CONFIG"]
	require.NotEmpty(t, config)
	raw, err = os.ReadFile(filepath.Join(e.project, config))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(e.opts.WorkDir, filepath.Dir(config)), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(e.opts.WorkDir, config), raw, 0o644))
	require.False(t, filepath.IsAbs(pack), "a path in the repository, as Deployments checks it out")
	data, err := os.ReadFile(e.pack)
	require.NoError(t, err)
	dst := filepath.Join(e.opts.WorkDir, pack)
	require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
	require.NoError(t, os.WriteFile(dst, data, 0o755))
	require.NoError(t, e.stack.Workspace().SetEnvVars(e.deploymentsEnv))
}

func setup(t *testing.T) *env {
	t.Helper()
	project, err := engine.FindProjectDir(".")
	require.NoError(t, err)
	bin := os.Getenv("TOOLS_BIN")
	if bin == "" {
		bin = filepath.Join(project, ".tools", "bin")
	}
	for _, tool := range []string{"pulumi", "pulumi-resource-kubernetes", "kube-apiserver", "kwok", "kwok-stages", "keda-operator", "keda-adapter"} {
		_, err := os.Stat(filepath.Join(bin, tool))
		require.NoError(t, err, "missing %s in %s: run tools/build.sh (make e2e does)", tool, bin)
	}
	pack := os.Getenv("POLICY_PACK")
	if pack == "" {
		pack = filepath.Join(project, "bin", "policy-pack")
	}
	_, err = os.Stat(pack)
	require.NoError(t, err, "missing the policy pack binary %s: go build -o bin/policy-pack ./policy (make e2e does)", pack)

	ctx := context.Background()
	dir := t.TempDir()
	start := time.Now()
	// As `make local` on a first run: KEDA's CRDs now, its operator later
	// (joinKEDA), from another control plane handle, as another process does.
	cluster, err := loopback.StartCluster(ctx, bin, filepath.Join(dir, "cluster"), false, func(s string) { t.Log(s) })
	require.NoError(t, err)
	cp := cluster.ControlPlane
	// Every process (control plane, Redis, KEDA, whoever started it) by the
	// PID recorded for it; none may be left.
	t.Cleanup(func() {
		raw, err := os.ReadFile(filepath.Join(cp.Dir, "pids"))
		assert.NoError(t, err)
		assert.NoError(t, cp.Stop())
		for _, f := range strings.Fields(string(raw)) {
			pid, err := strconv.Atoi(f)
			require.NoError(t, err)
			assert.Error(t, syscall.Kill(pid, 0), "process %d still alive after Stop", pid)
		}
	})
	t.Logf("cluster ready in %s", time.Since(start).Round(100*time.Millisecond))

	work := filepath.Join(dir, "project")
	require.NoError(t, os.MkdirAll(work, 0o755))
	require.NoError(t, engine.CopyProject(project, work, "local"))
	opts := engine.Options{
		Stack: "local", WorkDir: work, StateDir: filepath.Join(dir, "state"), ToolsBin: bin, Kubeconfig: cp.Kubeconfig,
	}
	stack, err := engine.Open(ctx, opts)
	require.NoError(t, err)
	require.NoError(t, engine.Configure(ctx, stack, opts, cluster.RedisAddress, cluster.StorageAddress, nil))
	// As `bin/local up` does: the queue's results bucket (Pulumi.local.yaml's gpu-jobs).
	require.NoError(t, storage.Client{Addr: cluster.StorageAddress}.EnsureBucket(ctx, "gpu-jobs-jobs"))
	return &env{cp: cp, queue: queueClient(t, cluster.RedisAddress), stack: stack, opts: opts, bin: bin, pack: pack, project: project}
}

// queueClient is a client on the platform's queue, with the stack's queue
// and its consumer group created, as `bin/local up` does.
func queueClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, queue.EnsureGroup(context.Background(), c, "gpu-jobs"))
	return c
}

// editStackFile replaces old with new in the test's copy of Pulumi.local.yaml.
func (e *env) editStackFile(t *testing.T, old, new string) {
	t.Helper()
	path := filepath.Join(e.opts.WorkDir, "Pulumi.local.yaml")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(raw), old)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(raw), old, new, 1)), 0o644))
}

func (e *env) kubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := e.cp.Kubectl(context.Background(), args...)
	require.NoError(t, err)
	return out
}

type pod struct {
	Metadata struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		NodeName string `json:"nodeName"`
	} `json:"spec"`
	Status struct {
		Phase string `json:"phase"`
		PodIP string `json:"podIP"`
		// ContainerStatuses are a real kubelet's (kwok's pods have none).
		ContainerStatuses []struct {
			Name    string `json:"name"`
			Ready   bool   `json:"ready"`
			ImageID string `json:"imageID"`
		} `json:"containerStatuses"`
	} `json:"status"`
}

func (e *env) pods(t *testing.T) []pod {
	t.Helper()
	var list struct {
		Items []pod `json:"items"`
	}
	require.NoError(t, json.Unmarshal([]byte(e.kubectl(t, "get", "pods", "-n", namespace, "-o", "json")), &list))
	return list.Items
}

// TestLocalStackLifecycle is one story, in order: each step builds on the last.
func TestLocalStackLifecycle(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	policy := optpreview.PolicyPacks(e.pack)

	// What the program registers, as the mocks record it, plus the stack itself.
	// (A subtest, so the mocks' PULUMI_CONFIG does not outlive it.)
	var want int
	t.Run("mocked graph", func(t *testing.T) {
		values, err := config.StackFileConfig(e.opts.WorkDir, "local")
		require.NoError(t, err)
		mocked, err := graphtest.Run(t, stacks.Program, "local", values)
		require.NoError(t, err)
		want = len(mocked.Resources) + 1
	})
	require.NotZero(t, want)

	// 1. Preview, with the policy pack enforcing: the shipped local stack passes.
	start := time.Now()
	prev, err := e.stack.Preview(ctx, policy)
	require.NoError(t, err, "preview of the local stack must succeed and pass the policy pack")
	assert.Equal(t, want, prev.ChangeSummary["create"], "every resource is planned: %v", prev.ChangeSummary)
	t.Logf("preview: %v in %s", prev.ChangeSummary, time.Since(start).Round(100*time.Millisecond))

	// 2. Up creates every resource; the provider waits for Deployments to be
	// Available and for the Ingress to get an address.
	start = time.Now()
	up, err := e.stack.Up(ctx, optup.PolicyPacks(e.pack))
	require.NoError(t, err)
	changes := *up.Summary.ResourceChanges
	assert.Equal(t, want, changes["create"], engine.Summary(changes))
	t.Logf("up: %s in %s", engine.Summary(changes), time.Since(start).Round(100*time.Millisecond))
	assert.Equal(t, controlplane.IngressAddress, up.Outputs["ingressAddress"].Value)
	assert.Equal(t, "http://127.0.0.1/", up.Outputs["url"].Value)
	assert.Equal(t, namespace, up.Outputs["namespace"].Value)

	// 3. Every Deployment is Available, as the API server reports it.
	for _, name := range []string{"frontend", "backend", "gpu-worker"} {
		status := e.kubectl(t, "get", "deployment", name, "-n", namespace,
			"-o", `jsonpath={.status.conditions[?(@.type=="Available")].status}`)
		assert.Equal(t, "True", status, "deployment %s Available", name)
	}

	// 4. Idle: the queue-driven GPU worker is at zero, and no pod is on the GPU node.
	pods := e.pods(t)
	require.Len(t, pods, 4, "2 frontend + 2 backend; the GPU worker idles at zero")
	for _, p := range pods {
		assert.Equal(t, "Running", p.Status.Phase, p.Metadata.Name)
		assert.True(t, strings.HasPrefix(p.Spec.NodeName, "cpu-"), "CPU pod %s landed on %q", p.Metadata.Name, p.Spec.NodeName)
	}

	// 4b. The API server validated the namespace's network policies: default
	// deny, DNS, and one allowance per app. (kwok runs no dataplane, so what
	// is proven here is their shape and acceptance, not enforcement.)
	policies := strings.Fields(e.kubectl(t, "get", "networkpolicies", "-n", namespace, "-o", "jsonpath={.items[*].metadata.name}"))
	assert.ElementsMatch(t, []string{"default-deny", "allow-dns", "allow-frontend", "allow-backend", "allow-gpu-worker"}, policies)
	assert.Equal(t, "{} Ingress Egress", strings.TrimSpace(e.kubectl(t, "get", "networkpolicy", "default-deny", "-n", namespace,
		"-o", `jsonpath={.spec.podSelector} {.spec.policyTypes[*]}`)))

	// 4c. The real scheduler spread the frontend's two replicas over both CPU nodes.
	frontendNodes := map[string]bool{}
	for _, p := range pods {
		if p.Metadata.Labels["app.kubernetes.io/name"] == "frontend" {
			frontendNodes[p.Spec.NodeName] = true
		}
	}
	assert.Equal(t, map[string]bool{"cpu-0": true, "cpu-1": true}, frontendNodes, "topology spread puts one frontend per node")

	// 4d. KEDA joins the running stack, as bin/local's background lane does
	// once its build ends: the ScaledObject applied before it ran gets its HPA.
	e.joinKEDA(t)

	// 5. Queued work turns into GPU pods by itself, and back to zero (see queueScaling).
	e.queueScaling(t, want)

	// 5a. A warm window around "now" holds a worker with an empty queue (the
	// real KEDA cron scaler); without it, back to zero.
	e.warmWindow(t, want)

	// 5b. A GPU app whose pods cannot all be placed does not fail (or hold) the update.
	e.gpuAppWaitsForCapacity(t, want)

	// 5c. The GKE flavour of the same ScaledObject validates against KEDA's
	// CRD, and so does a job-mode ScaledJob (gradual rollout).
	e.gkeScaledObjectValidates(t)

	// 5d. The triggers the API server holds pass KEDA's own scaler schema.
	e.liveTriggersMatchSchema(t)

	// 5e. The spend guard pauses GPU scaling over the budget, and resumes it.
	e.spendGuard(t)

	// 6. A replica count is an in-place update, not a replace. Config changes
	// the way a person makes them: by editing Pulumi.local.yaml.
	e.editStackFile(t, "      replicas: 2\n      path: /\n", "      replicas: 3\n      path: /\n")
	scaled, err := e.stack.Preview(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, scaled.ChangeSummary["update"], "%v", scaled.ChangeSummary)
	assert.Zero(t, scaled.ChangeSummary["replace"], "%v", scaled.ChangeSummary)
	_, err = e.stack.Up(ctx)
	require.NoError(t, err)
	assert.Equal(t, "3", e.kubectl(t, "get", "deployment", "frontend", "-n", namespace, "-o", "jsonpath={.spec.replicas}"))

	// 7. A manual edit is drift, and refresh shows it.
	e.kubectl(t, "scale", "deployment", "backend", "-n", namespace, "--replicas=4")
	refreshed, err := e.stack.Refresh(ctx)
	require.NoError(t, err)
	drift := *refreshed.Summary.ResourceChanges
	assert.Equal(t, 1, drift["update"], "refresh must show the hand-edited Deployment as changed: %s", engine.Summary(drift))
	// And the next up puts back what the config says.
	restored, err := e.stack.Up(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, (*restored.Summary.ResourceChanges)["update"], engine.Summary(*restored.Summary.ResourceChanges))
	assert.Equal(t, "2", e.kubectl(t, "get", "deployment", "backend", "-n", namespace, "-o", "jsonpath={.spec.replicas}"))

	// 8. The policy pack fails a real preview on a bad config, with its message.
	e.editStackFile(t, "hashicorp/http-echo:1.0", "hashicorp/http-echo:latest")
	_, err = e.stack.Preview(ctx, policy)
	require.Error(t, err, "the policy pack must fail the preview")
	assert.Contains(t, err.Error(), "images-pinned")
	assert.Contains(t, err.Error(), `uses image "hashicorp/http-echo:latest", which is not pinned`)
	// The same, the way Pulumi Deployments runs it: no flag, only the
	// environment of the review stacks' settings and the pack their
	// pre-run command builds, at the same relative path.
	e.deploymentsPolicyEnv(t)
	_, err = e.stack.Preview(ctx)
	require.Error(t, err, "the pack named by PULUMI_OPTION_POLICY_PACK must fail the preview")
	assert.Contains(t, err.Error(), "images-pinned")
	e.editStackFile(t, "hashicorp/http-echo:latest", "hashicorp/http-echo:1.0")
	_, err = e.stack.Preview(ctx)
	require.NoError(t, err, "and pass it once the image is pinned again")
	for k := range e.deploymentsEnv {
		e.stack.Workspace().UnsetEnvVar(k)
	}

	// 9. Destroy leaves nothing behind.
	start = time.Now()
	_, err = e.stack.Destroy(ctx, optdestroy.Remove())
	require.NoError(t, err)
	t.Logf("destroy in %s", time.Since(start).Round(100*time.Millisecond))
	_, err = e.cp.Kubectl(ctx, "get", "namespace", namespace)
	assert.ErrorContains(t, err, "NotFound", "the namespace and everything in it must be gone")
	assert.Empty(t, strings.TrimSpace(e.kubectl(t, "get", "deployments,services,ingresses,serviceaccounts,poddisruptionbudgets", "-A",
		"-l", "app.kubernetes.io/part-of=gke-gpu-platform", "-o", "name")))
}

// joinKEDA starts KEDA's operator and adapter through a second handle on the
// cluster (controlplane.Open, the way bin/local keda-join does from another
// process), then checks that they were recorded with the cluster's PIDs and
// that the operator reconciled the ScaledObject that was applied before it.
func (e *env) joinKEDA(t *testing.T) {
	ctx := context.Background()
	assert.Empty(t, strings.TrimSpace(e.kubectl(t, "get", "hpa", "-n", namespace, "-o", "name")),
		"no HPA before the operator runs")
	before, err := os.ReadFile(filepath.Join(e.cp.Dir, "pids"))
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, loopback.JoinKEDA(ctx, e.bin, e.cp.Dir))
	after, err := os.ReadFile(filepath.Join(e.cp.Dir, "pids"))
	require.NoError(t, err)
	assert.Len(t, strings.Fields(string(after)), len(strings.Fields(string(before)))+2, "operator and adapter join the PIDs file")
	took := eventually(t, time.Minute, "the ScaledObject Ready, with its HPA", func() bool {
		out, _ := e.cp.Kubectl(ctx, "get", "scaledobject", "gpu-worker", "-n", namespace,
			"-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.hpaName}`)
		return strings.HasPrefix(out, "True keda-hpa-")
	})
	t.Logf("KEDA joined the running cluster: metrics API Available, then the ScaledObject Ready %s later (%s in all)",
		took.Round(100*time.Millisecond), time.Since(start).Round(100*time.Millisecond))
}

// gpuWorkers returns the GPU worker's pods: where each is and why not, if Pending.
func (e *env) gpuWorkers(t *testing.T, app string) (running map[string]string, pending []string) {
	t.Helper()
	running = map[string]string{}
	for _, p := range e.pods(t) {
		if p.Metadata.Labels["app.kubernetes.io/name"] != app {
			continue
		}
		if p.Spec.NodeName != "" {
			running[p.Metadata.Name] = p.Spec.NodeName
		} else {
			pending = append(pending, p.Metadata.Name)
		}
	}
	return running, pending
}

// unschedulable is the scheduler's reason for a Pending pod.
func (e *env) unschedulable(t *testing.T, pod string) string {
	t.Helper()
	return e.kubectl(t, "get", "pod", pod, "-n", namespace,
		"-o", `jsonpath={.status.conditions[?(@.type=="PodScheduled")].message}`)
}

// eventually polls cond every 250 ms until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
	return time.Since(start)
}

// queueScaling: N messages on the real Redis list make the real KEDA operator
// activate the worker (0 -> 1) and the real HPA controller, reading KEDA's
// external metric through the aggregation layer, take it to min(N, max);
// the real scheduler puts one pod on the one GPU node and leaves the next
// Pending for lack of a GPU, which is what GKE's cluster autoscaler adds a
// node for. Emptying the queue brings it back to zero after the cooldown,
// and a `pulumi up` afterwards changes nothing: config does not fight KEDA.
func (e *env) queueScaling(t *testing.T, want int) {
	ctx := context.Background()
	const n, maxReplicas = 3, 2 // Pulumi.local.yaml: queue.maxReplicas
	replicas := func() string {
		return e.kubectl(t, "get", "deployment", "gpu-worker", "-n", namespace, "-o", "jsonpath={.spec.replicas}")
	}
	require.Equal(t, "0", replicas())

	var jobs []string
	for i := range n {
		jobs = append(jobs, fmt.Sprintf(`{"id":"e2e-%d"}`, i))
	}
	require.NoError(t, queue.Add(ctx, e.queue, "gpu-jobs", jobs...))
	start := time.Now()
	first := eventually(t, 2*time.Minute, "a GPU worker pod scheduled", func() bool {
		running, _ := e.gpuWorkers(t, "gpu-worker")
		return len(running) > 0
	})
	eventually(t, 2*time.Minute, fmt.Sprintf("%d GPU worker replicas", maxReplicas), func() bool {
		_, pending := e.gpuWorkers(t, "gpu-worker")
		return replicas() == fmt.Sprint(maxReplicas) && len(pending) == maxReplicas-1
	})
	all := time.Since(start)
	running, pending := e.gpuWorkers(t, "gpu-worker")
	for pod, node := range running {
		assert.Equal(t, "gpu-0", node, "GPU worker %s must run on the GPU node", pod)
	}
	require.Len(t, pending, 1)
	assert.Contains(t, e.unschedulable(t, pending[0]), "Insufficient nvidia.com/gpu",
		"the replica beyond the GPU nodes waits for a GPU: the cluster autoscaler's signal")
	t.Logf("enqueue %d -> first GPU pod scheduled in %s, %d replicas (1 Running on gpu-0, 1 Pending: Insufficient nvidia.com/gpu) in %s",
		n, first.Round(100*time.Millisecond), maxReplicas, all.Round(100*time.Millisecond))

	// While KEDA holds the worker at 2, config must not fight it.
	busy, err := e.stack.Up(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"same": want}, *busy.Summary.ResourceChanges, "an up while KEDA scaled the worker must change nothing")
	assert.Equal(t, fmt.Sprint(maxReplicas), replicas(), "and must leave KEDA's replica count alone")

	// The work is done: empty the queue (kwok runs no container to consume it).
	require.NoError(t, e.queue.Del(ctx, "gpu-jobs").Err())
	require.NoError(t, queue.EnsureGroup(ctx, e.queue, "gpu-jobs"))
	drained := eventually(t, 2*time.Minute, "the GPU worker back at zero", func() bool {
		running, pending := e.gpuWorkers(t, "gpu-worker")
		return replicas() == "0" && len(running)+len(pending) == 0
	})
	t.Logf("queue drained -> 0 replicas, no GPU pod, in %s (cooldown 15 s, polling 2 s)", drained.Round(100*time.Millisecond))

	again, err := e.stack.Up(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"same": want}, *again.Summary.ResourceChanges, "a second up must be a no-op")
}

// gpuAppWaitsForCapacity: an always-on GPU app with two replicas and one GPU
// node. `pulumi up` succeeds without waiting for the pod that cannot be
// placed (readyTimeoutSeconds defaults to 0 for GPU apps), and that pod is
// Pending with "Insufficient nvidia.com/gpu".
func (e *env) gpuAppWaitsForCapacity(t *testing.T, want int) {
	ctx := context.Background()
	const app = `    - name: gpu-inference
      image: nvidia/cuda:12.4.1-base-ubuntu22.04
      command: ["sleep", "infinity"]
      gpu: 1
      replicas: 2
      alwaysOn: true
`
	e.editStackFile(t, "  gke-gpu-platform:ingress:\n", app+"  gke-gpu-platform:ingress:\n")
	start := time.Now()
	up, err := e.stack.Up(ctx, optup.PolicyPacks(e.pack))
	require.NoError(t, err, "a GPU app waiting for a GPU node must not fail the update")
	took := time.Since(start)
	assert.Equal(t, 3, (*up.Summary.ResourceChanges)["create"], "App, ServiceAccount, Deployment: %s", engine.Summary(*up.Summary.ResourceChanges))
	running, pending := e.gpuWorkers(t, "gpu-inference")
	require.Len(t, running, 1)
	require.Len(t, pending, 1, "the second GPU pod has no GPU to go to")
	assert.Contains(t, e.unschedulable(t, pending[0]), "Insufficient nvidia.com/gpu")
	assert.Contains(t, up.StdOut, "does not wait for its GPU pods", "the update says it did not wait")
	t.Logf("up with a GPU pod Pending took %s (not the 10 min await)", took.Round(100*time.Millisecond))

	e.editStackFile(t, app, "")
	down, err := e.stack.Up(ctx)
	require.NoError(t, err)
	assert.Equal(t, want, (*down.Summary.ResourceChanges)["same"], engine.Summary(*down.Summary.ResourceChanges))
}

// gkeScaledObjectValidates renders the ScaledObject and TriggerAuthentication
// the dev (GKE) stack would create, and the ScaledJob of a job-mode app, as
// the mocks record them, and has the real API server validate them against
// KEDA's CRDs (server-side dry run).
func (e *env) gkeScaledObjectValidates(t *testing.T) {
	project, err := engine.FindProjectDir(".")
	require.NoError(t, err)
	values, err := config.StackFileConfig(project, "dev")
	require.NoError(t, err)
	// The enqueue token a user sets once, encrypted (a stack file holds it so).
	values["gke-gpu-platform:secrets"] = `{"enqueueToken": "[secret]"}`
	dev, err := graphtest.Run(t, stacks.Program, "dev", values)
	require.NoError(t, err)
	values["gke-gpu-platform:apps"] = `[{"name": "render", "image": "render:1.0", "gpu": 1, "queue": {"mode": "job"}}]`
	jobs, err := graphtest.Run(t, stacks.Program, "dev", values)
	require.NoError(t, err)
	schema, err := kedaschema.Load()
	require.NoError(t, err)
	for _, r := range []graphtest.Resource{
		dev.One(t, "kubernetes:keda.sh/v1alpha1:TriggerAuthentication"),
		dev.One(t, "kubernetes:keda.sh/v1alpha1:ScaledObject"),
		jobs.One(t, "kubernetes:keda.sh/v1alpha1:ScaledJob"),
	} {
		typ := r.Type
		obj := r.Inputs.Mappable()
		if typ != "kubernetes:keda.sh/v1alpha1:TriggerAuthentication" {
			triggers, err := kedaschema.Triggers(obj["spec"].(map[string]any))
			require.NoError(t, err)
			for _, tr := range triggers {
				problems, notes := schema.Check(tr)
				assert.Empty(t, problems, "GKE %s against KEDA %s's scaler schema", typ, schema.Module)
				assert.Empty(t, notes, "GKE %s: a scaler KEDA %s retires", typ, schema.Module)
			}
		}
		obj["metadata"].(map[string]any)["namespace"] = namespace
		if typ == "kubernetes:keda.sh/v1alpha1:ScaledObject" {
			trigger := obj["spec"].(map[string]any)["triggers"].([]any)[0].(map[string]any)
			assert.Equal(t, "prometheus", trigger["type"], "not the gcp-pubsub scaler KEDA retires")
			assert.NotEmpty(t, trigger["authenticationRef"], "Cloud Monitoring is read as KEDA's workload identity")
		}
		raw, err := json.Marshal(obj)
		require.NoError(t, err)
		out, err := e.cp.KubectlStdin(context.Background(), string(raw), "apply", "--dry-run=server", "-f", "-")
		require.NoError(t, err, "the API server must accept the GKE %s: %s", typ, raw)
		t.Logf("server-side dry run: %s", strings.TrimSpace(out))
	}
}

// liveTriggersMatchSchema reads the local stack's ScaledObject back from the
// API server and checks its triggers against KEDA's scaler schema.
func (e *env) liveTriggersMatchSchema(t *testing.T) {
	schema, err := kedaschema.Load()
	require.NoError(t, err)
	var so struct {
		Spec map[string]any `json:"spec"`
	}
	require.NoError(t, json.Unmarshal([]byte(e.kubectl(t, "get", "scaledobject", "gpu-worker", "-n", namespace, "-o", "json")), &so))
	triggers, err := kedaschema.Triggers(so.Spec)
	require.NoError(t, err)
	for _, tr := range triggers {
		problems, _ := schema.Check(tr)
		assert.Empty(t, problems, "the live %s trigger against KEDA %s's scaler schema", tr.Type, schema.Module)
	}
}

// warmWindow adds a queue.warm window that opened two minutes ago and closes
// in thirty (UTC) to the GPU worker: the real KEDA cron scaler holds one
// worker up with nothing queued. Removing it brings the worker back to zero.
func (e *env) warmWindow(t *testing.T, want int) {
	ctx := context.Background()
	replicas := func() string {
		return e.kubectl(t, "get", "deployment", "gpu-worker", "-n", namespace, "-o", "jsonpath={.spec.replicas}")
	}
	require.Equal(t, "0", replicas())
	now := time.Now().UTC()
	at := func(t time.Time) string { return fmt.Sprintf("%d %d * * *", t.Minute(), t.Hour()) }
	const plain = "        cooldownSeconds: 15\n"
	window := fmt.Sprintf("        cooldownSeconds: 15\n        warm:\n          - {start: %q, end: %q, timezone: UTC, replicas: 1}\n",
		at(now.Add(-2*time.Minute)), at(now.Add(30*time.Minute)))
	e.editStackFile(t, plain, window)
	up, err := e.stack.Up(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, (*up.Summary.ResourceChanges)["update"], "only the ScaledObject changes: %s", engine.Summary(*up.Summary.ResourceChanges))
	held := eventually(t, 2*time.Minute, "the warm window's worker", func() bool {
		running, _ := e.gpuWorkers(t, "gpu-worker")
		return replicas() == "1" && len(running) == 1
	})
	n, err := queue.Count(ctx, e.queue, "gpu-jobs")
	require.NoError(t, err)
	assert.Zero(t, n.Waiting+n.InFlight, "nothing is queued: the window alone holds the worker")
	t.Logf("warm window (%s .. %s UTC) -> 1 worker on an empty queue in %s", at(now.Add(-2*time.Minute)), at(now.Add(30*time.Minute)), held.Round(100*time.Millisecond))

	e.editStackFile(t, window, plain)
	_, err = e.stack.Up(ctx)
	require.NoError(t, err)
	back := eventually(t, 2*time.Minute, "no window: the worker back at zero", func() bool {
		running, pending := e.gpuWorkers(t, "gpu-worker")
		return replicas() == "0" && len(running)+len(pending) == 0
	})
	t.Logf("window removed -> 0 workers in %s", back.Round(100*time.Millisecond))
	again, err := e.stack.Up(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"same": want}, *again.Summary.ResourceChanges)
}
