//go:build e2e

// Package e2e deploys the local stack with the real Pulumi engine onto a
// real (loopback) Kubernetes control plane whose nodes are simulated by
// kwok, and checks what mocks cannot: that the engine accepts the graph,
// that the API server accepts every object, that Deployments become
// Available, and that the real scheduler puts GPU work on the GPU node and
// nothing else there. Run with `make e2e` (it builds the tools first).
package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/controlplane"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/graphtest"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/localstack"
	"github.com/gke-gpu-platform/gke-gpu-platform/stacks"
)

const namespace = "platform" // Pulumi.local.yaml

type env struct {
	cp    *controlplane.ControlPlane
	stack auto.Stack
	opts  localstack.Options
	bin   string
	pack  string
}

func setup(t *testing.T) *env {
	t.Helper()
	project, err := localstack.FindProjectDir(".")
	require.NoError(t, err)
	bin := os.Getenv("TOOLS_BIN")
	if bin == "" {
		bin = filepath.Join(project, ".tools", "bin")
	}
	for _, tool := range []string{"pulumi", "pulumi-resource-kubernetes", "kube-apiserver", "kwok"} {
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
	cp, err := controlplane.Start(ctx, controlplane.Options{BinDir: bin, Dir: filepath.Join(dir, "cluster")})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, cp.Stop()) })
	t.Logf("control plane ready in %s", time.Since(start).Round(100*time.Millisecond))

	work := filepath.Join(dir, "project")
	require.NoError(t, os.MkdirAll(work, 0o755))
	require.NoError(t, localstack.CopyProject(project, work, "local"))
	opts := localstack.Options{
		Stack: "local", WorkDir: work, StateDir: filepath.Join(dir, "state"), ToolsBin: bin, Kubeconfig: cp.Kubeconfig,
	}
	stack, err := localstack.Open(ctx, opts)
	require.NoError(t, err)
	return &env{cp: cp, stack: stack, opts: opts, bin: bin, pack: pack}
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
		values, err := stacks.StackFileConfig(e.opts.WorkDir, "local")
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
	assert.Equal(t, want, changes["create"], localstack.Summary(changes))
	t.Logf("up: %s in %s", localstack.Summary(changes), time.Since(start).Round(100*time.Millisecond))
	assert.Equal(t, controlplane.IngressAddress, up.Outputs["ingressAddress"].Value)
	assert.Equal(t, "http://127.0.0.1/", up.Outputs["url"].Value)
	assert.Equal(t, namespace, up.Outputs["namespace"].Value)

	// 3. Every Deployment is Available, as the API server reports it.
	for _, name := range []string{"frontend", "backend", "gpu-worker"} {
		status := e.kubectl(t, "get", "deployment", name, "-n", namespace,
			"-o", `jsonpath={.status.conditions[?(@.type=="Available")].status}`)
		assert.Equal(t, "True", status, "deployment %s Available", name)
	}

	// 4. The real scheduler put GPU work on the GPU node, and nothing else there.
	pods := e.pods(t)
	require.Len(t, pods, 5, "2 frontend + 2 backend + 1 gpu-worker")
	for _, p := range pods {
		assert.Equal(t, "Running", p.Status.Phase, p.Metadata.Name)
		if p.Metadata.Labels["app.kubernetes.io/name"] == "gpu-worker" {
			assert.Equal(t, "gpu-0", p.Spec.NodeName, "GPU pod %s", p.Metadata.Name)
		} else {
			assert.True(t, strings.HasPrefix(p.Spec.NodeName, "cpu-"), "CPU pod %s landed on %q", p.Metadata.Name, p.Spec.NodeName)
		}
	}

	// 5. Nothing changed, nothing to do.
	again, err := e.stack.Up(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"same": want}, *again.Summary.ResourceChanges, "a second up must be a no-op")

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
	assert.Equal(t, 1, drift["update"], "refresh must show the hand-edited Deployment as changed: %s", localstack.Summary(drift))
	// And the next up puts back what the config says.
	restored, err := e.stack.Up(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, (*restored.Summary.ResourceChanges)["update"], localstack.Summary(*restored.Summary.ResourceChanges))
	assert.Equal(t, "2", e.kubectl(t, "get", "deployment", "backend", "-n", namespace, "-o", "jsonpath={.spec.replicas}"))

	// 8. The policy pack fails a real preview on a bad config, with its message.
	e.editStackFile(t, "hashicorp/http-echo:1.0", "hashicorp/http-echo:latest")
	_, err = e.stack.Preview(ctx, policy)
	require.Error(t, err, "the policy pack must fail the preview")
	assert.Contains(t, err.Error(), "images-pinned")
	assert.Contains(t, err.Error(), `uses image "hashicorp/http-echo:latest", which is not pinned`)
	e.editStackFile(t, "hashicorp/http-echo:latest", "hashicorp/http-echo:1.0")

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
