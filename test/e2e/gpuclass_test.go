//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/gpuclass"
)

// gpuClass proves the worker's placement with the real scheduler: the
// worker's pods select the GPU ComputeClass as on GKE, the GPU node carries
// the class's label and taint (as GKE makes a node of the class's first
// pool), and a pod of the class cannot land on a CPU node: with gpu-0
// cordoned it waits, the scheduler naming the CPU node as not matching;
// uncordoned, it runs on gpu-0. GKE's fallback between options is its
// autoscaler's and is not reproduced here.
func (e *env) gpuClass(t *testing.T, image string) {
	t.Run("gpuClass", func(t *testing.T) {
		var tpl struct {
			NodeSelector map[string]string   `json:"nodeSelector"`
			Tolerations  []map[string]string `json:"tolerations"`
		}
		raw := e.kubectl(t, "get", "deployment", "gpu-worker", "-n", namespace, "-o", "jsonpath={.spec.template.spec}")
		require.NoError(t, json.Unmarshal([]byte(raw), &tpl))
		assert.Equal(t, map[string]string{gpuclass.Label: gpuclass.Name}, tpl.NodeSelector, "the worker selects the class and nothing else")
		assert.Contains(t, tpl.Tolerations, map[string]string{"key": gpuclass.Label, "operator": "Equal", "value": gpuclass.Name, "effect": "NoSchedule"})
		assert.Equal(t, gpuclass.Name, e.kubectl(t, "get", "node", "gpu-0", "-o", `jsonpath={.metadata.labels.cloud\.google\.com/compute-class}`))
		assert.Contains(t, e.kubectl(t, "get", "node", "gpu-0", "-o", "jsonpath={.spec.taints}"), `"key":"cloud.google.com/compute-class"`)
		assert.Empty(t, e.kubectl(t, "get", "node", "cpu-0", "-o", `jsonpath={.metadata.labels.cloud\.google\.com/compute-class}`))

		const name = "gpu-class-probe"
		e.kubectl(t, "cordon", "gpu-0")
		t.Cleanup(func() {
			e.kubectl(t, "uncordon", "gpu-0")
			e.kubectl(t, "delete", "pod", name, "-n", namespace, "--ignore-not-found", "--wait=true")
		})
		// The worker's placement, on a pod that asks for no GPU, so nothing
		// but the selector and the taints decides where it may go.
		manifest := fmt.Sprintf(`{"apiVersion": "v1", "kind": "Pod",
  "metadata": {"name": %q, "namespace": %q, "labels": {"app.kubernetes.io/name": %q}},
  "spec": {"restartPolicy": "Never", "automountServiceAccountToken": false,
    "nodeSelector": %s, "tolerations": %s,
    "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [{"name": "probe", "image": %q, "args": ["sleep:1s"],
      "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}},
      "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}}}]}}`,
			name, namespace, name, toJSON(t, tpl.NodeSelector), toJSON(t, tpl.Tolerations), image)
		_, err := e.cp.KubectlStdin(context.Background(), manifest, "apply", "-f", "-")
		require.NoError(t, err)
		var why string
		eventually(t, time.Minute, "the scheduler's verdict on the class's pod with gpu-0 cordoned", func() bool {
			why = e.unschedulable(t, name)
			return why != ""
		})
		t.Logf("gpu-0 cordoned: %s", why)
		assert.Empty(t, e.kubectl(t, "get", "pod", name, "-n", namespace, "-o", "jsonpath={.spec.nodeName}"), "not on a CPU node")
		assert.Contains(t, why, "didn't match Pod's node affinity/selector", "the CPU node is not the class's")
		assert.True(t, strings.Contains(why, "unschedulable"), "gpu-0 is cordoned: %s", why)

		e.kubectl(t, "uncordon", "gpu-0")
		took := eventually(t, 2*time.Minute, "the class's pod run on gpu-0", func() bool {
			phase := e.kubectl(t, "get", "pod", name, "-n", namespace, "-o", "jsonpath={.status.phase}")
			return phase == "Succeeded" || phase == "Failed"
		})
		assert.Equal(t, "gpu-0", e.kubectl(t, "get", "pod", name, "-n", namespace, "-o", "jsonpath={.spec.nodeName}"))
		assert.Equal(t, "Succeeded", e.kubectl(t, "get", "pod", name, "-n", namespace, "-o", "jsonpath={.status.phase}"))
		t.Logf("uncordoned: the class's pod ran on gpu-0, done %s later", took.Round(100*time.Millisecond))
	})
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
