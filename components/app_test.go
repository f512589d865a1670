package components

import (
	"testing"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/gpuclass"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/graphtest"
)

var testGPUScheduling = GPUSchedulingArgs{
	NodeSelector: map[string]string{gpuclass.Label: gpuclass.Name},
	Tolerate: []TaintArgs{
		{Key: GPUTaintKey, Value: GPUTaintValue, Effect: "NoSchedule"},
		{Key: gpuclass.Label, Value: gpuclass.Name, Effect: gpuclass.TaintEffect},
	},
}

func TestApp(t *testing.T) {
	one := 1
	resources := ResourceArgs{CPURequest: "250m", MemoryRequest: "256Mi", CPULimit: "1", MemoryLimit: "1Gi",
		EphemeralStorageRequest: "100Mi", EphemeralStorageLimit: "2Gi"}
	tests := []struct {
		name      string
		args      AppArgs
		wantTypes []string
		check     func(t *testing.T, pod, container map[string]any)
	}{
		{
			name: "web",
			args: AppArgs{Image: "nginx:1.27", Port: 8080, Replicas: 2, HealthPath: "/ready", Resources: resources,
				Env: map[string]string{"B": "2", "A": "1"}, GPUScheduling: testGPUScheduling},
			wantTypes: []string{"kubernetes:core/v1:ServiceAccount", "kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service"},
			check: func(t *testing.T, pod, c map[string]any) {
				assert.Nil(t, pod["tolerations"], "CPU apps never tolerate the GPU taint")
				assert.Nil(t, pod["nodeSelector"])
				assert.Equal(t, "nginx:1.27", c["image"])
				assert.Equal(t, []any{map[string]any{"name": "http", "containerPort": 8080.0, "protocol": "TCP"}}, c["ports"])
				assert.Equal(t, "/ready", c["readinessProbe"].(map[string]any)["httpGet"].(map[string]any)["path"])
				assert.Equal(t, "/ready", c["startupProbe"].(map[string]any)["httpGet"].(map[string]any)["path"])
				// Liveness is not readiness: a busy pod is not restarted.
				assert.Equal(t, map[string]any{"port": "http"}, c["livenessProbe"].(map[string]any)["tcpSocket"])
				assert.Nil(t, c["livenessProbe"].(map[string]any)["httpGet"])
				assert.Equal(t, 30.0, c["startupProbe"].(map[string]any)["failureThreshold"])
				// Two replicas spread over nodes and zones, softly.
				assert.Equal(t, []any{
					map[string]any{"maxSkew": 1.0, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
						"labelSelector": map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/name": "web"}}},
					map[string]any{"maxSkew": 1.0, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
						"labelSelector": map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/name": "web"}}},
				}, pod["topologySpreadConstraints"])
				// Sorted, so map order never shows up as a diff.
				assert.Equal(t, []any{map[string]any{"name": "A", "value": "1"}, map[string]any{"name": "B", "value": "2"}}, c["env"])
				assert.Equal(t, map[string]any{
					"requests": map[string]any{"cpu": "250m", "memory": "256Mi", "ephemeral-storage": "100Mi"},
					"limits":   map[string]any{"cpu": "1", "memory": "1Gi", "ephemeral-storage": "2Gi"},
				}, c["resources"])
			},
		},
		{
			name: "trainer",
			args: AppArgs{Image: "trainer:3", GPU: 2, Replicas: 1, Resources: resources, GPUScheduling: testGPUScheduling,
				Command: []string{"python"}, Args: []string{"train.py"}},
			wantTypes: []string{"kubernetes:core/v1:ServiceAccount", "kubernetes:apps/v1:Deployment"},
			check: func(t *testing.T, pod, c map[string]any) {
				assert.Equal(t, []any{
					map[string]any{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"},
					map[string]any{"key": "cloud.google.com/compute-class", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"},
				}, pod["tolerations"])
				assert.Equal(t, map[string]any{"cloud.google.com/compute-class": "gpu"}, pod["nodeSelector"])
				assert.Equal(t, "2", c["resources"].(map[string]any)["limits"].(map[string]any)["nvidia.com/gpu"])
				assert.Nil(t, c["ports"])
				assert.Nil(t, c["readinessProbe"], "a worker serves nothing to probe")
				assert.Equal(t, []any{"python"}, c["command"])
				assert.Equal(t, []any{"train.py"}, c["args"])
			},
		},
		{
			name: "api",
			args: AppArgs{Image: "api:1", Port: 80, Resources: resources, HealthPath: "/",
				Autoscaling: &AutoscalingArgs{MinReplicas: 2, MaxReplicas: 5, CPUUtilization: 60}, MaxUnavailable: &one,
				GCPServiceAccount: pulumi.String("api@p.iam.gserviceaccount.com"), GPUScheduling: testGPUScheduling},
			wantTypes: []string{"kubernetes:core/v1:ServiceAccount", "kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service",
				"kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "kubernetes:policy/v1:PodDisruptionBudget"},
			check: func(t *testing.T, pod, c map[string]any) {
				assert.Equal(t, true, pod["automountServiceAccountToken"], "Workload Identity needs the token")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := run(t, func(ctx *pulumi.Context) error {
				args := tt.args
				args.Namespace = pulumi.String("team")
				_, err := NewApp(ctx, tt.name, &args)
				return err
			})
			requireParented(t, g, "gke-gpu-platform:index:App")
			var types []string
			for _, r := range g.Resources {
				if r.Custom {
					types = append(types, r.Type)
					assert.Equal(t, tt.name, r.Plain("metadata.name"))
					assert.Equal(t, "team", r.Plain("metadata.namespace"))
					assert.Equal(t, "gke-gpu-platform", r.Plain("metadata.labels").(map[string]any)["app.kubernetes.io/part-of"])
				}
			}
			assert.ElementsMatch(t, tt.wantTypes, types)

			d := g.One(t, "kubernetes:apps/v1:Deployment")
			assert.Equal(t, map[string]any{"pulumi.com/patchForce": "true"}, d.Plain("metadata.annotations"),
				"pulumi up must win back fields a hand edit took (server-side apply)")
			pod := d.Plain("spec.template.spec").(map[string]any)
			c := pod["containers"].([]any)[0].(map[string]any)
			assert.Equal(t, map[string]any{
				"runAsNonRoot": true, "runAsUser": 65532.0, "runAsGroup": 65532.0, "fsGroup": 65532.0,
				"seccompProfile": map[string]any{"type": "RuntimeDefault"},
			}, pod["securityContext"])
			assert.Equal(t, false, c["securityContext"].(map[string]any)["allowPrivilegeEscalation"])
			assert.Equal(t, true, c["securityContext"].(map[string]any)["readOnlyRootFilesystem"])
			assert.Equal(t, map[string]any{"drop": []any{"ALL"}}, c["securityContext"].(map[string]any)["capabilities"])
			assert.Contains(t, pod["volumes"], map[string]any{"name": "tmp", "emptyDir": map[string]any{"sizeLimit": "64Mi"}})
			if tt.args.Autoscaling != nil {
				assert.Nil(t, d.Plain("spec.replicas"))
			} else {
				assert.Equal(t, float64(tt.args.Replicas), d.Plain("spec.replicas"))
			}
			tt.check(t, pod, c)
		})
	}
}

func TestAppBuildsAndPinsItsImage(t *testing.T) {
	g := run(t, func(ctx *pulumi.Context) error {
		_, err := NewApp(ctx, "api", &AppArgs{
			Namespace: pulumi.String("ns"), Image: "ignored:1", Port: 8080, Replicas: 1, HealthPath: "/",
			Resources: ResourceArgs{CPURequest: "1", MemoryRequest: "1Gi", CPULimit: "1", MemoryLimit: "1Gi"},
			Build: &ImageBuildArgs{
				Context: "apps/api", Dockerfile: "apps/api/Dockerfile", Platform: "linux/amd64",
				Repository: pulumi.String("europe-docker.pkg.dev/p/r"),
				Registry:   docker.RegistryArgs{Server: pulumi.String("europe-docker.pkg.dev")},
			},
		})
		return err
	})
	img := g.One(t, "docker:index/image:Image")
	assert.Equal(t, "europe-docker.pkg.dev/p/r/api:latest", img.Plain("imageName"))
	assert.Equal(t, "apps/api/Dockerfile", img.Plain("build.dockerfile"))
	d := g.One(t, "kubernetes:apps/v1:Deployment")
	c := d.Plain("spec.template.spec.containers").([]any)[0].(map[string]any)
	assert.Equal(t, "europe-docker.pkg.dev/p/r/api@sha256:0123456789abcdef", c["image"])
	require.Len(t, g.OfType("kubernetes:core/v1:Service"), 1)
}

// A queue hands the scale to KEDA: a ScaledObject on the Deployment (worker
// mode, replicas left to KEDA after the start) or a ScaledJob instead of it.
func TestAppQueueScaling(t *testing.T) {
	resources := ResourceArgs{CPURequest: "1", MemoryRequest: "1Gi", CPULimit: "1", MemoryLimit: "1Gi"}
	trigger := TriggerArgs{Type: "redis", Metadata: map[string]pulumi.StringInput{
		"address": pulumi.String("127.0.0.1:6379"), "listName": pulumi.String("jobs"),
	}}
	tests := []struct {
		name  string
		mode  string
		check func(t *testing.T, g *graphtest.Graph)
	}{
		{name: "worker", mode: QueueModeWorker, check: func(t *testing.T, g *graphtest.Graph) {
			d := g.One(t, "kubernetes:apps/v1:Deployment")
			assert.Equal(t, 0.0, d.Plain("spec.replicas"))
			assert.Equal(t, []string{"spec.replicas"}, d.IgnoreChanges, "KEDA owns the count after the start")
			so := g.One(t, "kubernetes:keda.sh/v1alpha1:ScaledObject")
			assert.Equal(t, "gpu", so.Plain("spec.scaleTargetRef.name"))
			assert.Equal(t, 3.0, so.Plain("spec.maxReplicaCount"))
			assert.Equal(t, 60.0, so.Plain("spec.cooldownPeriod"))
			assert.Equal(t, []any{map[string]any{"type": "redis", "metadata": map[string]any{"address": "127.0.0.1:6379", "listName": "jobs"}}},
				so.Plain("spec.triggers"))
			assert.Empty(t, g.OfType("kubernetes:keda.sh/v1alpha1:ScaledJob"))
		}},
		{name: "job", mode: QueueModeJob, check: func(t *testing.T, g *graphtest.Graph) {
			assert.Empty(t, g.OfType("kubernetes:apps/v1:Deployment"))
			job := g.One(t, "kubernetes:keda.sh/v1alpha1:ScaledJob")
			assert.Equal(t, 3.0, job.Plain("spec.maxReplicaCount"))
			assert.Equal(t, "Never", job.Plain("spec.jobTargetRef.template.spec.restartPolicy"))
			assert.Equal(t, 65532.0, job.Plain("spec.jobTargetRef.template.spec.securityContext.runAsUser"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := run(t, func(ctx *pulumi.Context) error {
				_, err := NewApp(ctx, "gpu", &AppArgs{Namespace: pulumi.String("ns"), Image: "w:1", GPU: 1, Resources: resources,
					GPUScheduling: testGPUScheduling, SkipAwait: true,
					Queue: &QueueScalingArgs{Mode: tt.mode, MaxReplicas: 3, PollingSeconds: 5, CooldownSeconds: 60, Trigger: trigger}})
				return err
			})
			requireParented(t, g, "gke-gpu-platform:index:App")
			tt.check(t, g)
		})
	}
}

// How long `pulumi up` waits for an app's pods.
func TestAppAwait(t *testing.T) {
	resources := ResourceArgs{CPURequest: "1", MemoryRequest: "1Gi", CPULimit: "1", MemoryLimit: "1Gi"}
	tests := []struct {
		name string
		args AppArgs
		want map[string]any
	}{
		{name: "provider default", args: AppArgs{}, want: map[string]any{"pulumi.com/patchForce": "true"}},
		{name: "timeout", args: AppArgs{ReadyTimeoutSeconds: 900},
			want: map[string]any{"pulumi.com/patchForce": "true", "pulumi.com/timeoutSeconds": "900"}},
		{name: "skip", args: AppArgs{SkipAwait: true, ReadyTimeoutSeconds: 900},
			want: map[string]any{"pulumi.com/patchForce": "true", "pulumi.com/skipAwait": "true"}},
		{name: "always-on GPU", args: AppArgs{SkipAwait: true, GPU: 1, AlwaysOn: true},
			want: map[string]any{"pulumi.com/patchForce": "true", "pulumi.com/skipAwait": "true", AlwaysOnAnnotation: "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			args.Namespace, args.Image, args.Replicas, args.Resources, args.GPUScheduling = pulumi.String("ns"), "a:1", 1, resources, testGPUScheduling
			g := run(t, func(ctx *pulumi.Context) error {
				_, err := NewApp(ctx, "a", &args)
				return err
			})
			assert.Equal(t, tt.want, g.One(t, "kubernetes:apps/v1:Deployment").Plain("metadata.annotations"))
		})
	}
}
