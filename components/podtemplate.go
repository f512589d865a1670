package components

import (
	"fmt"
	"maps"
	"slices"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// podTemplate is the pod every app gets: requests and limits, probes when it
// serves, a locked-down security context, and GPU placement only for GPU apps.
func podTemplate(name string, args *AppArgs, labels pulumi.StringMap, image, serviceAccount, secretName pulumi.StringInput) *corev1.PodTemplateSpecArgs {
	requests := pulumi.StringMap{
		"cpu":    pulumi.String(args.Resources.CPURequest),
		"memory": pulumi.String(args.Resources.MemoryRequest),
	}
	limits := pulumi.StringMap{
		"cpu":    pulumi.String(args.Resources.CPULimit),
		"memory": pulumi.String(args.Resources.MemoryLimit),
	}
	if r := args.Resources.EphemeralStorageRequest; r != "" {
		requests["ephemeral-storage"] = pulumi.String(r)
	}
	if l := args.Resources.EphemeralStorageLimit; l != "" {
		limits["ephemeral-storage"] = pulumi.String(l)
	}
	env := envVars(args.Env, slices.Sorted(maps.Keys(args.SecretEnv)), secretName)
	if args.Queue != nil {
		// A queue worker records where each job ran: its pod (HOSTNAME) and
		// its node, from the downward API.
		env = append(env, &corev1.EnvVarArgs{Name: pulumi.String(EnvNodeName), ValueFrom: &corev1.EnvVarSourceArgs{
			FieldRef: &corev1.ObjectFieldSelectorArgs{FieldPath: pulumi.String("spec.nodeName")},
		}})
	}
	container := &corev1.ContainerArgs{
		Name:            pulumi.String(name),
		Image:           image,
		ImagePullPolicy: pulumi.String("IfNotPresent"),
		Command:         pulumi.ToStringArray(args.Command),
		Args:            pulumi.ToStringArray(args.Args),
		Env:             env,
		Resources:       &corev1.ResourceRequirementsArgs{Requests: requests, Limits: limits},
		SecurityContext: &corev1.SecurityContextArgs{
			AllowPrivilegeEscalation: pulumi.Bool(false),
			Privileged:               pulumi.Bool(false),
			RunAsNonRoot:             pulumi.Bool(true),
			ReadOnlyRootFilesystem:   pulumi.Bool(true),
			Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.StringArray{pulumi.String("ALL")}},
		},
		VolumeMounts: corev1.VolumeMountArray{&corev1.VolumeMountArgs{
			Name: pulumi.String("tmp"), MountPath: pulumi.String("/tmp"),
		}},
	}
	if args.Port > 0 {
		container.Ports = corev1.ContainerPortArray{&corev1.ContainerPortArgs{
			Name: pulumi.String("http"), ContainerPort: pulumi.Int(args.Port), Protocol: pulumi.String("TCP"),
		}}
		health := &corev1.HTTPGetActionArgs{Path: pulumi.String(args.HealthPath), Port: pulumi.String("http")}
		// Readiness decides traffic: a busy pod that fails it just stops
		// getting requests for a while.
		container.ReadinessProbe = &corev1.ProbeArgs{
			HttpGet: health, PeriodSeconds: pulumi.Int(5), TimeoutSeconds: pulumi.Int(2), FailureThreshold: pulumi.Int(3),
		}
		// A slow start gets up to 60 s before anything else is checked.
		container.StartupProbe = &corev1.ProbeArgs{
			HttpGet: health, PeriodSeconds: pulumi.Int(2), TimeoutSeconds: pulumi.Int(2), FailureThreshold: pulumi.Int(30),
		}
		// Liveness restarts the container, so it asks less than readiness:
		// is the process still accepting connections (a busy pod is), for a
		// full minute.
		container.LivenessProbe = &corev1.ProbeArgs{
			TcpSocket:     &corev1.TCPSocketActionArgs{Port: pulumi.String("http")},
			PeriodSeconds: pulumi.Int(20), TimeoutSeconds: pulumi.Int(5), FailureThreshold: pulumi.Int(3),
		}
	}

	pod := &corev1.PodSpecArgs{
		ServiceAccountName:           serviceAccount,
		AutomountServiceAccountToken: pulumi.Bool(args.GCPServiceAccount != nil || args.KubernetesAPI),
		SecurityContext: &corev1.PodSecurityContextArgs{
			RunAsNonRoot:   pulumi.Bool(true),
			RunAsUser:      pulumi.Int(nonRootUID),
			RunAsGroup:     pulumi.Int(nonRootUID),
			FsGroup:        pulumi.Int(nonRootUID),
			SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
		},
		Containers: corev1.ContainerArray{container},
		Volumes: corev1.VolumeArray{&corev1.VolumeArgs{
			Name:     pulumi.String("tmp"),
			EmptyDir: &corev1.EmptyDirVolumeSourceArgs{SizeLimit: pulumi.String("64Mi")},
		}},
	}
	if g := args.TerminationGracePeriodSeconds; g > 0 {
		pod.TerminationGracePeriodSeconds = pulumi.Int(g)
	}
	if q := args.Queue; q != nil && q.Mode == QueueModeJob {
		// A Job's pod runs to completion: a failed message is retried by a new Job.
		pod.RestartPolicy = pulumi.String("Never")
	}
	if spreads(args) {
		// Replicas on different nodes (and zones, where a pool spans several),
		// so one node going away does not take them all. ScheduleAnyway: a
		// one-node dev pool still runs them all.
		selector := &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"app.kubernetes.io/name": pulumi.String(name)}}
		spread := corev1.TopologySpreadConstraintArray{}
		for _, key := range []string{"kubernetes.io/hostname", "topology.kubernetes.io/zone"} {
			spread = append(spread, &corev1.TopologySpreadConstraintArgs{
				MaxSkew: pulumi.Int(1), TopologyKey: pulumi.String(key),
				WhenUnsatisfiable: pulumi.String("ScheduleAnyway"), LabelSelector: selector,
			})
		}
		pod.TopologySpreadConstraints = spread
	}
	// Every pod may be moved, so no node is pinned up by it; but a GPU
	// queue worker holds a job: the autoscaler's consolidation or the
	// ComputeClass's active migration moving it would run the job again
	// from the start on another GPU. It is gone once KEDA scales the
	// worker in, so it pins its node no longer than its queue has work.
	// https://cloud.google.com/kubernetes-engine/docs/concepts/about-custom-compute-classes#active-migration
	evict := "true"
	if args.GPU > 0 && args.Queue != nil {
		evict = "false"
	}
	annotations := pulumi.StringMap{SafeToEvictAnnotation: pulumi.String(evict)}

	if args.GPU > 0 {
		gpu := pulumi.String(fmt.Sprint(args.GPU))
		requests[GPUResource] = gpu
		limits[GPUResource] = gpu
		pod.NodeSelector = pulumi.ToStringMap(args.GPUScheduling.NodeSelector)
		// GKE adds a toleration for pods that request nvidia.com/gpu
		// (ExtendedResourceToleration); other clusters do not, so write them out.
		tolerations := corev1.TolerationArray{}
		for _, t := range args.GPUScheduling.Tolerate {
			tolerations = append(tolerations, &corev1.TolerationArgs{
				Key: pulumi.String(t.Key), Operator: pulumi.String("Equal"), Value: pulumi.String(t.Value), Effect: pulumi.String(t.Effect),
			})
		}
		pod.Tolerations = tolerations
	}
	return &corev1.PodTemplateSpecArgs{
		Metadata: &metav1.ObjectMetaArgs{Labels: labels, Annotations: annotations},
		Spec:     pod,
	}
}

// spreads reports whether the app can run more than one pod at once.
func spreads(args *AppArgs) bool {
	switch {
	case args.Queue != nil:
		return args.Queue.MaxReplicas > 1
	case args.Autoscaling != nil:
		return args.Autoscaling.MaxReplicas > 1
	}
	return args.Replicas > 1
}

// EnvNodeName is a queue worker's node, from the downward API.
const EnvNodeName = "NODE_NAME"

// envVars returns the environment in a stable (sorted) order, so a map's
// iteration order never shows up as a diff: the clear values, then each
// secret one as a reference to its key in the Secret secretName.
func envVars(env map[string]string, secretKeys []string, secretName pulumi.StringInput) corev1.EnvVarArray {
	out := corev1.EnvVarArray{}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, &corev1.EnvVarArgs{Name: pulumi.String(k), Value: pulumi.String(env[k])})
	}
	for _, k := range secretKeys {
		out = append(out, &corev1.EnvVarArgs{Name: pulumi.String(k), ValueFrom: &corev1.EnvVarSourceArgs{
			SecretKeyRef: &corev1.SecretKeySelectorArgs{Name: secretName, Key: pulumi.String(k)},
		}})
	}
	return out
}
