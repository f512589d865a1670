//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gke-gpu-platform/gke-gpu-platform/loopback"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/engine"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/images"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/node"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/queue"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/storage"
)

// TestRealNodes runs the project's own apps, built into OCI images without
// Docker, in real containers: two real kubelets (one CPU node, one GPU node
// with GKE's label and taint) over containerd and runc, with kube-proxy,
// cluster DNS (CoreDNS in kube-system) and kube-network-policies enforcing
// NetworkPolicies; the local stack deployed through the real engine. Every
// container starts under the restricted security context and passes its
// probes; each routed app answers its health path with HTTP 200 on its pod
// IP (the GKE load balancer's health-check rule); the policies act (an
// allowed call by Service name works, a call no policy allows is refused,
// a pod with no allowance cannot reach the queue); requests to the
// backend's Service enqueue jobs, the real KEDA scales the real gpu-worker
// from zero onto the GPU node, where it does them against the real Redis
// and acknowledges them, and KEDA takes it back to zero.
func TestRealNodes(t *testing.T) {
	require.Zero(t, os.Getuid(), "real nodes need root: containerd, network namespaces, bridges, iptables")
	require.Empty(t, node.Missing(), "tools/build.sh node installs them (make e2e does)")
	project, err := engine.FindProjectDir(".")
	require.NoError(t, err)
	bin := os.Getenv("TOOLS_BIN")
	if bin == "" {
		bin = filepath.Join(project, ".tools", "bin")
	}
	ctx := context.Background()
	dir := t.TempDir()

	start := time.Now()
	probe := images.Spec{Name: "netcheck", Dir: filepath.Join(project, "test", "e2e", "netcheck"), Entrypoint: "/netcheck"}
	cluster, err := loopback.StartReal(ctx, loopback.RealOptions{
		BinDir: bin, Dir: filepath.Join(dir, "cluster"), Project: project, Extra: []images.Spec{probe}, WithKEDA: true,
		Progress: func(s string) { t.Log(s) },
	})
	require.NoError(t, err)
	cp, redis := cluster.ControlPlane, cluster.RedisAddress
	t.Cleanup(func() {
		raw, _ := os.ReadFile(filepath.Join(cp.Dir, "pids"))
		assert.NoError(t, loopback.StopReal(context.Background(), cp, bin))
		for _, f := range strings.Fields(string(raw)) {
			var pid int
			fmt.Sscan(f, &pid)
			assert.Error(t, syscall.Kill(pid, 0), "process %d still alive", pid)
		}
		for i := range 2 {
			assert.NoDirExists(t, "/sys/class/net/"+node.Bridge(i), "bridge removed")
		}
		for _, save := range []string{"iptables-save", "ip6tables-save"} {
			rules, err := exec.Command(save).Output()
			assert.NoError(t, err)
			assert.NotContains(t, string(rules), `name: \"ggp-`, "%s: no masquerade rule of the nodes' networks left", save)
			assert.NotContains(t, string(rules), "KUBE-", "%s: no chain of kube-proxy or the kubelets left", save)
			assert.NotContains(t, string(rules), "GGP-NETPOL", "%s: no chain of the enforcer left", save)
		}
		assert.NoFileExists(t, "/run/netns/"+queue.Netns, "the queue's network namespace removed")
		queues, err := os.ReadFile("/proc/net/netfilter/nfnetlink_queue")
		assert.NoError(t, err)
		assert.Empty(t, strings.TrimSpace(string(queues)), "no enforcer still bound to an NFQUEUE")
		mounts, err := os.ReadFile("/proc/self/mountinfo")
		assert.NoError(t, err)
		assert.NotContains(t, string(mounts), " "+dir, "no mount left under the test's directory")
	})
	t.Logf("platform on real nodes started in %s", time.Since(start).Round(100*time.Millisecond))

	work := filepath.Join(dir, "project")
	require.NoError(t, os.MkdirAll(work, 0o755))
	require.NoError(t, engine.CopyProject(project, work, "local"))
	opts := engine.Options{Stack: "local", WorkDir: work, StateDir: filepath.Join(dir, "state"), ToolsBin: bin, Kubeconfig: cp.Kubeconfig}
	stack, err := engine.Open(ctx, opts)
	require.NoError(t, err)
	// The apps' own images, as make local NODES=real sets them.
	require.Equal(t, []string{"backend", "frontend", "gpu-worker", "spend-guard"}, slices.Sorted(maps.Keys(cluster.AppImages)))
	require.NoError(t, engine.Configure(ctx, stack, opts, redis, cluster.StorageAddress, cluster.AppImages))
	require.NoError(t, storage.Client{Addr: cluster.StorageAddress}.EnsureBucket(ctx, "gpu-jobs-jobs"))
	token, err := engine.EnqueueToken(opts)
	require.NoError(t, err)
	e := &env{cp: cp, queue: queueClient(t, redis), stack: stack, opts: opts, bin: bin, project: project}
	start = time.Now()
	_, err = stack.Up(ctx, optup.ProgressStreams(testWriter{t}))
	require.NoError(t, err, "up on real nodes: every Deployment Available (containers started, readiness probes passing)")
	t.Logf("up on real nodes in %s", time.Since(start).Round(100*time.Millisecond))

	// Every pod runs in a real container on a real node, as the restricted
	// security context asks, and is Ready (its probes pass).
	for _, p := range e.pods(t) {
		assert.Equal(t, "Running", p.Status.Phase, p.Metadata.Name)
		assert.Equal(t, "cpu-0", p.Spec.NodeName, p.Metadata.Name)
		assert.NotEmpty(t, p.Status.PodIP)
		for _, c := range p.Status.ContainerStatuses {
			assert.True(t, c.Ready, "%s/%s ready", p.Metadata.Name, c.Name)
			assert.True(t, strings.HasPrefix(c.ImageID, images.Registry+"/") || strings.HasPrefix(c.ImageID, "sha256:"), c.ImageID)
		}
	}
	// The load balancer's health check: HTTP 200 on each routed app's health path, on its pod IP.
	for app, path := range map[string]string{"frontend": "/healthz", "backend": "/healthz"} {
		for _, p := range e.pods(t) {
			if p.Metadata.Labels["app.kubernetes.io/name"] != app {
				continue
			}
			resp, err := http.Get(fmt.Sprintf("http://%s:8080%s", p.Status.PodIP, path))
			require.NoError(t, err, app)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode, "%s %s: %s", app, path, body)
		}
	}

	t.Logf("memory with the stack up (RSS, MB): %s", rssByKind(dir))

	e.networkPolicies(t, cluster.Images["netcheck"], redis)
	e.gpuClass(t, cluster.Images["netcheck"])
	e.realDemandLoop(t, token)
	e.busyWorkerSurvivesScaleIn(t, token)
	e.jobsYouCanFollow(t, token)
	e.spendGuardInAPod(t, token)
	e.faults(t, token)
}

// networkPolicies runs the netcheck probe as pods under chosen apps'
// labels, so those apps' NetworkPolicies (enforced by kube-network-policies)
// apply to them. Every refused target is reached by another probe that is
// allowed to, so a refusal is the policy's, not a broken network's.
func (e *env) networkPolicies(t *testing.T, image, redis string) {
	backend := "backend." + namespace + ".svc.cluster.local"
	cases := []struct {
		as     string
		checks []string
	}{
		// frontend -> backend is declared (connectsTo): allowed, by Service name.
		{"frontend", []string{"dns:" + backend, "http:http://" + backend + "/healthz", "refused:" + redis}},
		// The worker may reach the queue, and nothing else of the namespace's.
		{"gpu-worker", []string{"open:" + redis, "refused:" + backend + ":80"}},
		// An app with no allowance at all: DNS only.
		{"intruder", []string{"dns:kubernetes.default.svc.cluster.local", "refused:" + redis, "refused:" + backend + ":80"}},
	}
	for _, c := range cases {
		start := time.Now()
		phase, logs := e.runProbe(t, image, c.as, c.checks)
		if !assert.Equal(t, "Succeeded", phase, "netcheck as %s:\n%s", c.as, logs) {
			logTails(t, filepath.Join(e.cp.Dir, "logs", "network-policies.log"), 60)
		}
		t.Logf("netcheck as %s (%s):\n%s", c.as, time.Since(start).Round(100*time.Millisecond), strings.TrimSpace(logs))
	}
}

// logTails logs the last n lines of each file matching pattern.
func logTails(t *testing.T, pattern string, n int) {
	files, _ := filepath.Glob(pattern)
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		t.Logf("%s (last %d lines):\n%s", f, n, strings.Join(lines[max(0, len(lines)-n):], "\n"))
	}
}

// runProbe runs one netcheck pod labelled as app, under the namespace's
// restricted pod security, until it ends; its phase and log.
func (e *env) runProbe(t *testing.T, image, app string, checks []string) (string, string) {
	name := "netcheck-" + app
	// Without NRI the enforcer learns a pod's IP from the API server, after
	// the pod started (kubernetes#85966): the probe waits for it first.
	args, _ := json.Marshal(append([]string{"sleep:3s"}, checks...))
	manifest := fmt.Sprintf(`{"apiVersion": "v1", "kind": "Pod",
  "metadata": {"name": %q, "namespace": %q, "labels": {"app.kubernetes.io/name": %q}},
  "spec": {"restartPolicy": "Never", "automountServiceAccountToken": false,
    "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [{"name": "netcheck", "image": %q, "args": %s,
      "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}},
      "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}}}]}}`,
		name, namespace, app, image, args)
	_, err := e.cp.KubectlStdin(context.Background(), manifest, "apply", "-f", "-")
	require.NoError(t, err)
	var phase string
	eventually(t, 2*time.Minute, name+" ended", func() bool {
		phase = e.kubectl(t, "get", "pod", name, "-n", namespace, "-o", "jsonpath={.status.phase}")
		return phase == "Succeeded" || phase == "Failed"
	})
	logs := e.kubectl(t, "logs", "-n", namespace, name)
	e.kubectl(t, "delete", "pod", name, "-n", namespace, "--wait=true")
	return phase, logs
}

// rssByKind sums the resident memory of the processes the harness runs under
// dir (their command lines name it: kubelets, containerds, shims, the
// control plane, Redis, KEDA), grouped by program, in MB.
func rssByKind(dir string) string {
	sums := map[string]int{}
	total := 0
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		cmdline, err := os.ReadFile(filepath.Join(p, "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), dir) {
			continue
		}
		status, err := os.ReadFile(filepath.Join(p, "status"))
		if err != nil {
			continue
		}
		var kb int
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			}
		}
		name := filepath.Base(strings.SplitN(string(cmdline), "\x00", 2)[0])
		sums[name] += kb / 1024
		total += kb / 1024
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(sums)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, sums[k]))
	}
	return fmt.Sprintf("%d in all: %s", total, strings.Join(parts, ", "))
}

// realDemandLoop: requests to the backend's Service (POST /api/jobs, with
// the enqueue token) put jobs on the real Redis; KEDA scales the real
// gpu-worker from zero; its pod starts on the GPU node, takes the jobs from
// Redis over the pod network, does them (the stand-in nvidia-smi says there
// is no GPU; each job holds the GPU a few seconds) and acknowledges them.
// While the one GPU is busy, the second replica KEDA asks for waits with
// "Insufficient nvidia.com/gpu", the cluster autoscaler's signal. The queue
// empties and KEDA returns it to zero.
func (e *env) realDemandLoop(t *testing.T, token string) {
	ctx := context.Background()
	// Pulumi.local.yaml: queue.maxReplicas 2, targetBacklog 1. The HPA
	// controller reads KEDA's metric every 15 s (its default sync period),
	// so the backlog stays at 2 or more for 20 s: 4 jobs of 10 s, one at a
	// time on the one GPU.
	const n, maxReplicas, hold = 4, 2, 10
	replicas := func() string {
		return e.kubectl(t, "get", "deployment", "gpu-worker", "-n", namespace, "-o", "jsonpath={.spec.replicas}")
	}
	require.Equal(t, "0", replicas())
	// Through kube-proxy: the Service's ClusterIP, as the Ingress's backend would be.
	url := "http://" + e.kubectl(t, "get", "service", "backend", "-n", namespace, "-o", "jsonpath={.spec.clusterIP}") + "/api/jobs"
	start := time.Now()
	for i := range n {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(fmt.Sprintf(`{"n":%d,"seconds":%d}`, i, hold)))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusAccepted, resp.StatusCode, "POST %s: %s", url, body)
	}
	firstRunning := eventually(t, 3*time.Minute, "a gpu-worker container running on gpu-0", func() bool {
		for _, p := range e.pods(t) {
			if p.Metadata.Labels["app.kubernetes.io/name"] == "gpu-worker" && p.Spec.NodeName == "gpu-0" && p.Status.Phase == "Running" {
				return true
			}
		}
		return false
	})
	eventually(t, 2*time.Minute, fmt.Sprintf("%d gpu-worker replicas, one waiting for a GPU", maxReplicas), func() bool {
		_, pending := e.gpuWorkers(t, "gpu-worker")
		return replicas() == fmt.Sprint(maxReplicas) && len(pending) == 1
	})
	scaled := time.Since(start)
	running, pending := e.gpuWorkers(t, "gpu-worker")
	require.Len(t, running, 1, "one GPU: one worker runs")
	for _, node := range running {
		assert.Equal(t, "gpu-0", node)
	}
	assert.Contains(t, e.unschedulable(t, pending[0]), "Insufficient nvidia.com/gpu",
		"the replica beyond the GPU nodes waits for a GPU, on real nodes too")
	eventually(t, 3*time.Minute, "every job taken and acknowledged", func() bool {
		n, err := queue.Count(ctx, e.queue, "gpu-jobs")
		return err == nil && n.Waiting == 0 && n.InFlight == 0
	})
	allDone := time.Since(start)
	counts, err := queue.Count(ctx, e.queue, "gpu-jobs")
	require.NoError(t, err)
	assert.Zero(t, counts.Dead, "no job failed")
	logs := e.kubectl(t, "logs", "-n", namespace, "deployment/gpu-worker")
	assert.Contains(t, logs, "no GPU on this machine", "the worker ran the stand-in nvidia-smi for its jobs")
	emptied := time.Now()
	eventually(t, 3*time.Minute, "the gpu-worker back at zero", func() bool {
		return replicas() == "0" && len(e.gpuPods(t)) == 0
	})
	t.Logf("POST %d jobs (%d s each) to the backend -> first real gpu-worker Running on gpu-0 in %s; %d replicas, one Pending (Insufficient nvidia.com/gpu), in %s; all done and acknowledged in %s; then 0 replicas, no pod, in %s (the 15 s cooldown runs from the last job done)",
		n, hold, firstRunning.Round(100*time.Millisecond), maxReplicas, scaled.Round(100*time.Millisecond),
		allDone.Round(100*time.Millisecond), time.Since(emptied).Round(100*time.Millisecond))
}

// busyWorkerSurvivesScaleIn: two real workers on two GPUs take a long and a
// short job; the short one ends and the backlog falls to one, which is
// where the HPA would remove a replica of its own choosing (KEDA's
// "long-running executions"). It removes none: both replicas stay while the
// long job runs, the long job runs once and is acknowledged on its first
// delivery, and only then does KEDA take the workers to zero.
func (e *env) busyWorkerSurvivesScaleIn(t *testing.T, token string) {
	ctx := context.Background()
	const long, short = 70, 5
	e.kubectl(t, "patch", "node", "gpu-0", "--subresource=status", "--type=merge", "-p", `{"status":{"capacity":{"nvidia.com/gpu":"2"}}}`)
	t.Cleanup(func() {
		e.kubectl(t, "patch", "node", "gpu-0", "--subresource=status", "--type=merge", "-p", `{"status":{"capacity":{"nvidia.com/gpu":"1"}}}`)
	})
	eventually(t, time.Minute, "two GPUs allocatable on gpu-0", func() bool {
		return e.kubectl(t, "get", "node", "gpu-0", "-o", `jsonpath={.status.allocatable.nvidia\.com/gpu}`) == "2"
	})
	// The HPA KEDA made carries the behaviour: scale-down disabled.
	assert.Equal(t, "Disabled", e.kubectl(t, "get", "hpa", "keda-hpa-gpu-worker", "-n", namespace,
		"-o", "jsonpath={.spec.behavior.scaleDown.selectPolicy}"))

	url := "http://" + e.kubectl(t, "get", "service", "backend", "-n", namespace, "-o", "jsonpath={.spec.clusterIP}") + "/api/jobs"
	// The backend wraps what it is given as the job's input.
	longJob := fmt.Sprintf(`{"n":100,"seconds":%d}`, long)
	for _, body := range []string{longJob, fmt.Sprintf(`{"n":101,"seconds":%d}`, short)} {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusAccepted, resp.StatusCode)
	}
	working := func() int64 { n, _ := queue.Count(ctx, e.queue, "gpu-jobs"); return n.InFlight }
	eventually(t, 3*time.Minute, "two workers on gpu-0, each with a job", func() bool {
		running, _ := e.gpuWorkers(t, "gpu-worker")
		return len(running) == 2 && working() == 2
	})
	running, _ := e.gpuWorkers(t, "gpu-worker")
	workers := slices.Sorted(maps.Keys(running))
	eventually(t, time.Minute, "the short job done, the long one still running", func() bool { return working() == 1 })
	oneLeft := time.Now()
	// The backlog is 1 for the rest of the long job: at least two of the
	// HPA's 15 s syncs pass, and no replica goes.
	for working() == 1 {
		running, pending := e.gpuWorkers(t, "gpu-worker")
		require.Equal(t, workers, slices.Sorted(maps.Keys(running)), "both workers still running %s after the backlog fell to 1", time.Since(oneLeft).Round(time.Second))
		require.Empty(t, pending)
		require.Equal(t, "2", e.kubectl(t, "get", "deployment", "gpu-worker", "-n", namespace, "-o", "jsonpath={.spec.replicas}"))
		time.Sleep(2 * time.Second)
	}
	held := time.Since(oneLeft)
	assert.Greater(t, held, 30*time.Second, "the backlog stayed at 1 across two HPA syncs")
	n, err := queue.Count(ctx, e.queue, "gpu-jobs")
	require.NoError(t, err)
	assert.Zero(t, n.Waiting, "the long job was not handed back")
	var logs string
	for _, w := range workers {
		logs += e.kubectl(t, "logs", "-n", namespace, w)
	}
	assert.Equal(t, 1, strings.Count(logs, `"input":`+longJob+"} on"), "the long job ran once:\n%s", logs)
	assert.NotContains(t, logs, "handed back")
	assert.NotContains(t, logs, "taken again", "acknowledged on its first delivery")
	done := time.Now()
	eventually(t, 3*time.Minute, "the gpu-worker back at zero", func() bool {
		return e.kubectl(t, "get", "deployment", "gpu-worker", "-n", namespace, "-o", "jsonpath={.spec.replicas}") == "0"
	})
	t.Logf("jobs of %d s and %d s on two real workers: the backlog at 1 for %s with both replicas kept; the long job ran once; then 0 replicas in %s",
		long, short, held.Round(100*time.Millisecond), time.Since(done).Round(100*time.Millisecond))
}

func (e *env) gpuPods(t *testing.T) []pod {
	var out []pod
	for _, p := range e.pods(t) {
		if p.Metadata.Labels["app.kubernetes.io/name"] == "gpu-worker" {
			out = append(out, p)
		}
	}
	return out
}

// testWriter sends the engine's output to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
