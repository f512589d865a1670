package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// sizedGPUDeployment is a GPU workload added in code (no stack config names it).
func sizedGPUDeployment(name, cpu, memory string) Resource {
	return Resource{Type: "kubernetes:apps/v1:Deployment", Name: name, URN: name, Props: map[string]any{
		"spec": map[string]any{"replicas": 0.0, "template": map[string]any{"spec": map[string]any{
			"nodeSelector": map[string]any{"cloud.google.com/compute-class": "gpu"},
			"tolerations":  []any{map[string]any{"key": "cloud.google.com/compute-class", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}},
			"containers": []any{map[string]any{"name": name, "image": "render:1.0", "resources": map[string]any{
				"requests": map[string]any{"cpu": cpu, "memory": memory, "nvidia.com/gpu": "1", "ephemeral-storage": "1Gi"},
				"limits":   map[string]any{"cpu": cpu, "memory": memory, "nvidia.com/gpu": "1", "ephemeral-storage": "1Gi"},
			}}},
		}}},
	}}
}

// The pack sizes pods against the pools in the graph, whatever added them:
// code-added workloads and pools are covered, not only the stack config.
func TestPodsFitTheirPool(t *testing.T) {
	scaledJob := sizedGPUDeployment("batch", "4", "14Gi")
	scaledJob.Type = "kubernetes:keda.sh/v1alpha1:ScaledJob"
	scaledJob.Props = map[string]any{"spec": map[string]any{"jobTargetRef": map[string]any{
		"template": sizedGPUDeployment("batch", "4", "14Gi").Props["spec"].(map[string]any)["template"]}}}
	// A pod that selects a pool of its own rather than the class needs just
	// one pool it fits.
	poolSelected := sizedGPUDeployment("render", "4", "14Gi")
	poolSpec := poolSelected.Props["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	poolSpec["nodeSelector"], poolSpec["tolerations"] = map[string]any{"gke-gpu-platform/pool": "gpu"}, nil
	bigGPUPool := Resource{Type: nodePoolType, Name: "gpu-big", URN: "gpu-big", Props: map[string]any{
		"nodeConfig": map[string]any{
			"machineType":       "n1-standard-8",
			"labels":            map[string]any{"gke-gpu-platform/pool": "gpu"},
			"taints":            []any{map[string]any{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}},
			"guestAccelerators": []any{map[string]any{"type": "nvidia-tesla-t4", "count": 1.0}},
		},
	}}
	tests := []struct {
		name  string
		extra []Resource
		want  string
	}{
		{name: "a GPU Deployment bigger than every GPU option's node", extra: []Resource{sizedGPUDeployment("render", "4", "14Gi")},
			want: `pods-fit-their-pool: Deployment "render" requests 4000m CPU, 14336Mi memory per pod, more than one node of a GPU option its ComputeClass "gpu" may give it leaves for pods: ` +
				`pool "gpu" (n1-standard-4) leaves 3366m CPU, 12104Mi memory; pool "gpu-1" (g2-standard-4) leaves 3366m CPU, 13025Mi memory; pool "gpu-2" (n1-standard-4) leaves 3366m CPU, 12104Mi memory`},
		// dev's L4 option fits it, but its first and last options (T4 on
		// n1-standard-4) do not: the class may give it either.
		{name: "a GPU pod that fits one option of its ComputeClass, not all", extra: []Resource{sizedGPUDeployment("render", "3", "12500Mi")},
			want: `leaves for pods: pool "gpu" (n1-standard-4) leaves 3366m CPU, 12104Mi memory; pool "gpu-2" (n1-standard-4) leaves 3366m CPU, 12104Mi memory (`},
		{name: "a ScaledJob's pod, the same", extra: []Resource{scaledJob},
			want: `pods-fit-their-pool: ScaledJob "batch" requests 4000m CPU, 14336Mi memory per pod`},
		{name: "a pod outside the class, with a larger GPU pool added in code", extra: []Resource{poolSelected, bigGPUPool}},
		{name: "a GPU pod that fits", extra: []Resource{sizedGPUDeployment("render", "3", "11Gi")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fit []string
			for _, v := range violations(t, "dev", nil, tt.extra...) {
				if strings.HasPrefix(v, "pods-fit-their-pool:") {
					fit = append(fit, v)
				}
			}
			if tt.want == "" {
				assert.Empty(t, fit)
				return
			}
			if assert.Len(t, fit, 1) {
				assert.Contains(t, fit[0], tt.want)
			}
		})
	}
}

// A CPU workload sized for a whole n1-standard-1 fails on dev's CPU pool;
// the GPU pool is no way out, since it does not tolerate the GPU taint.
func TestCPUPodsFitTheCPUPool(t *testing.T) {
	// (The program refuses such an app in the config; the pack says the same
	// of a Deployment the config never mentions.)
	web := sizedGPUDeployment("web", "1", "128Mi")
	spec := web.Props["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	delete(spec, "nodeSelector")
	spec["containers"] = []any{map[string]any{"name": "web", "image": "nginx:1.27", "resources": map[string]any{
		"requests": map[string]any{"cpu": "1", "memory": "128Mi"}}}}
	fit := []string{}
	for _, v := range violations(t, "dev", nil, web) {
		if strings.HasPrefix(v, "pods-fit-their-pool:") {
			fit = append(fit, v)
		}
	}
	if assert.Len(t, fit, 1) {
		assert.Contains(t, fit[0], `Deployment "web" requests 1000m CPU, 128Mi memory per pod, more than one node of any pool it may land on leaves for pods: pool "cpu" (n1-standard-1) leaves 586m CPU, 2204Mi memory`)
		assert.NotContains(t, fit[0], `pool "gpu"`, "the GPU pool's taint keeps this pod off it")
	}
}

// A password in a plain env value fails; the same name as a secretKeyRef passes.
func TestNoSecretsInEnv(t *testing.T) {
	withEnv := func(env map[string]any) Resource {
		return Resource{Type: "kubernetes:apps/v1:Deployment", Name: "api", Props: map[string]any{"spec": map[string]any{"template": map[string]any{
			"spec": map[string]any{"containers": []any{map[string]any{"name": "api", "env": []any{env}}}}}}}}
	}
	plain := checkNoSecretsInEnv(withEnv(map[string]any{"name": "DB_PASSWORD", "value": "hunter2"}), Stack{}, nil, nil)
	if assert.Len(t, plain, 1) {
		assert.Contains(t, plain[0], `container "api" of Deployment "api" sets DB_PASSWORD in clear`)
		assert.NotContains(t, plain[0], "hunter2", "a violation never prints the value")
	}
	assert.Empty(t, checkNoSecretsInEnv(withEnv(map[string]any{"name": "DB_PASSWORD", "valueFrom": map[string]any{
		"secretKeyRef": map[string]any{"name": "api-env", "key": "DB_PASSWORD"}}}), Stack{}, nil, nil))
	assert.Empty(t, checkNoSecretsInEnv(withEnv(map[string]any{"name": "LOG_LEVEL", "value": "info"}), Stack{}, nil, nil))
}
