//go:build e2e

package e2e

import (
	"context"
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

	"github.com/gke-gpu-platform/gke-gpu-platform/local/controlplane"
	"github.com/gke-gpu-platform/gke-gpu-platform/local/engine"
	"github.com/gke-gpu-platform/gke-gpu-platform/local/images"
	"github.com/gke-gpu-platform/gke-gpu-platform/local/keda"
	"github.com/gke-gpu-platform/gke-gpu-platform/local/node"
	"github.com/gke-gpu-platform/gke-gpu-platform/local/queue"
)

// TestRealNodes runs the project's own apps, built into OCI images without
// Docker, in real containers: two real kubelets (one CPU node, one GPU node
// with GKE's label and taint) over containerd and runc, the local stack
// deployed through the real engine. Every container starts under the
// restricted security context and passes its probes; each routed app
// answers its health path with HTTP 200 on its pod IP (the GKE load
// balancer's health-check rule); queued jobs make the real KEDA scale the
// real gpu-worker from zero onto the GPU node, where it does them against
// the real Redis and acknowledges them, and KEDA takes it back to zero.
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
	built, err := images.BuildApps(ctx, project, filepath.Join(dir, "images"))
	require.NoError(t, err)
	var archives []string
	for _, img := range built {
		archives = append(archives, img.Archive)
	}
	t.Logf("images built in %s: %v", time.Since(start).Round(100*time.Millisecond), refs(built))

	start = time.Now()
	cp, err := controlplane.Start(ctx, controlplane.Options{BinDir: bin, Dir: filepath.Join(dir, "cluster"), NoSimulatedNodes: true})
	require.NoError(t, err)
	t.Cleanup(func() {
		assert.NoError(t, node.Drain(context.Background(), cp.Kubectl, cp.Dir))
		raw, _ := os.ReadFile(filepath.Join(cp.Dir, "pids"))
		assert.NoError(t, cp.Stop())
		assert.NoError(t, node.Cleanup(cp.Dir))
		for _, f := range strings.Fields(string(raw)) {
			var pid int
			fmt.Sscan(f, &pid)
			assert.Error(t, syscall.Kill(pid, 0), "process %d still alive", pid)
		}
		for i := range 2 {
			assert.NoDirExists(t, "/sys/class/net/"+node.Bridge(i), "bridge removed")
		}
		nat, err := exec.Command("iptables-save", "-t", "nat").Output()
		assert.NoError(t, err)
		assert.NotContains(t, string(nat), `name: \"ggp-`, "no masquerade rule of the nodes' networks left")
		mounts, err := os.ReadFile("/proc/self/mountinfo")
		assert.NoError(t, err)
		assert.NotContains(t, string(mounts), " "+dir, "no mount left under the test's directory")
	})
	zone := map[string]string{"topology.kubernetes.io/zone": "local-a", "topology.kubernetes.io/region": "local"}
	with := func(m map[string]string) map[string]string {
		for k, v := range zone {
			m[k] = v
		}
		return m
	}
	nodes := []node.Options{
		{Name: "cpu-0", Index: 0, Labels: with(map[string]string{"gke-gpu-platform/pool": "cpu"})},
		{Name: "gpu-0", Index: 1, GPUs: 1, Taints: []string{"nvidia.com/gpu=present:NoSchedule"}, Labels: with(map[string]string{
			"gke-gpu-platform/pool": "gpu", "gke-gpu-platform/accelerator": "nvidia-tesla-t4",
			"cloud.google.com/gke-accelerator": "nvidia-tesla-t4",
		})},
	}
	for _, n := range nodes {
		n.Images, n.SandboxImage = archives, built["pause"].Ref
		require.NoError(t, node.Start(ctx, cp, bin, n), n.Name)
	}
	t.Logf("control plane and 2 real nodes Ready in %s", time.Since(start).Round(100*time.Millisecond))

	redis, err := queue.Start(ctx, cp, node.Gateway(0))
	require.NoError(t, err)
	require.NoError(t, keda.Start(ctx, cp, bin))

	work := filepath.Join(dir, "project")
	require.NoError(t, os.MkdirAll(work, 0o755))
	require.NoError(t, engine.CopyProject(project, work, "local"))
	opts := engine.Options{Stack: "local", WorkDir: work, StateDir: filepath.Join(dir, "state"), ToolsBin: bin, Kubeconfig: cp.Kubeconfig}
	stack, err := engine.Open(ctx, opts)
	require.NoError(t, err)
	require.NoError(t, engine.Configure(ctx, stack, cp.Kubeconfig, redis))
	e := &env{cp: cp, queue: queue.Client{Addr: redis}, stack: stack, opts: opts, bin: bin, project: project}
	// The project's own apps instead of the stack file's third-party images.
	e.editStackFile(t, "image: nginxinc/nginx-unprivileged:1.27-alpine", "image: "+built["frontend"].Ref)
	e.editStackFile(t, "image: hashicorp/http-echo:1.0\n      args: [\"-listen=:8080\", \"-text=backend\"]", "image: "+built["backend"].Ref)
	e.editStackFile(t, "image: nvidia/cuda:12.4.1-base-ubuntu22.04\n      command: [\"sh\", \"-c\", \"nvidia-smi -L && sleep infinity\"]",
		"image: "+built["gpu-worker"].Ref)
	e.editStackFile(t, "      healthPath: /\n      connectsTo", "      healthPath: /healthz\n      connectsTo")
	e.editStackFile(t, "      healthPath: /\n      maxUnavailable", "      healthPath: /healthz\n      maxUnavailable")

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

	e.realDemandLoop(t)
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

// realDemandLoop: jobs on the real Redis; KEDA scales the real gpu-worker
// from zero; its pod starts on the GPU node (one GPU: the second replica
// waits, Insufficient nvidia.com/gpu), takes the jobs from Redis over the
// pod network, does them (the stand-in nvidia-smi says there is no GPU)
// and acknowledges them; the queue empties and KEDA returns it to zero.
func (e *env) realDemandLoop(t *testing.T) {
	ctx := context.Background()
	const n = 3
	replicas := func() string {
		return e.kubectl(t, "get", "deployment", "gpu-worker", "-n", namespace, "-o", "jsonpath={.spec.replicas}")
	}
	require.Equal(t, "0", replicas())
	var jobs []string
	for i := range n {
		jobs = append(jobs, fmt.Sprintf(`{"id":"real-%d"}`, i))
	}
	start := time.Now()
	require.NoError(t, e.queue.Push(ctx, "gpu-jobs", jobs...))
	firstRunning := eventually(t, 3*time.Minute, "a gpu-worker container running on gpu-0", func() bool {
		for _, p := range e.pods(t) {
			if p.Metadata.Labels["app.kubernetes.io/name"] == "gpu-worker" && p.Spec.NodeName == "gpu-0" && p.Status.Phase == "Running" {
				return true
			}
		}
		return false
	})
	eventually(t, 3*time.Minute, "every job taken and acknowledged", func() bool {
		waiting, _ := e.queue.Length(ctx, "gpu-jobs")
		working, _ := e.queue.Length(ctx, "gpu-jobs:processing")
		return waiting == 0 && working == 0
	})
	allDone := time.Since(start)
	dead, err := e.queue.Length(ctx, "gpu-jobs:dead")
	require.NoError(t, err)
	assert.Zero(t, dead, "no job failed")
	logs := e.kubectl(t, "logs", "-n", namespace, "deployment/gpu-worker")
	assert.Contains(t, logs, "no GPU on this machine", "the worker ran the stand-in nvidia-smi for its jobs")
	emptied := time.Now()
	eventually(t, 3*time.Minute, "the gpu-worker back at zero", func() bool {
		return replicas() == "0" && len(e.gpuPods(t)) == 0
	})
	t.Logf("enqueue %d -> first real gpu-worker Running on gpu-0 in %s; all done and acknowledged in %s; queue empty -> 0 replicas, no pod, in %s",
		n, firstRunning.Round(100*time.Millisecond), allDone.Round(100*time.Millisecond), time.Since(emptied).Round(100*time.Millisecond))
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

// refs lists built images' references.
func refs(built map[string]images.Image) []string {
	var out []string
	for _, img := range built {
		out = append(out, img.Ref)
	}
	return out
}

// testWriter sends the engine's output to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
