package components

import (
	"fmt"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	autoscalingv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/autoscaling/v2"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Kubernetes names the platform writes on pods.
const (
	// GPUResource is the extended resource the NVIDIA device plugin advertises.
	GPUResource = "nvidia.com/gpu"
	// SafeToEvictAnnotation tells the cluster autoscaler it may move the pod,
	// so the node under it can be removed when idle.
	SafeToEvictAnnotation = "cluster-autoscaler.kubernetes.io/safe-to-evict"
	// AlwaysOnAnnotation marks a GPU Deployment meant to run with no queue
	// behind it; the policy pack refuses other GPU Deployments above zero.
	AlwaysOnAnnotation = "gke-gpu-platform/always-on"
	// WorkloadIdentityAnnotation binds a Kubernetes service account to a Google one.
	WorkloadIdentityAnnotation = "iam.gke.io/gcp-service-account"
	// nonRootUID is the "nonroot" user of distroless images; any image works
	// as long as its files are readable by it.
	nonRootUID = 65532
)

// ResourceArgs are one container's requests and limits, as Kubernetes quantities.
type ResourceArgs struct {
	// CPURequest, e.g. "100m".
	CPURequest string
	// MemoryRequest, e.g. "128Mi".
	MemoryRequest string
	// CPULimit, e.g. "500m".
	CPULimit string
	// MemoryLimit, e.g. "256Mi".
	MemoryLimit string
	// EphemeralStorageRequest and EphemeralStorageLimit bound the node disk
	// the pod uses (logs, /tmp): a pod filling the disk is evicted itself,
	// instead of getting its neighbours evicted. Empty: not set.
	EphemeralStorageRequest, EphemeralStorageLimit string
}

// AutoscalingArgs adds a HorizontalPodAutoscaler on CPU utilisation.
type AutoscalingArgs struct {
	// MinReplicas is the HPA's lower bound.
	MinReplicas int
	// MaxReplicas is the HPA's upper bound.
	MaxReplicas int
	// CPUUtilization is the target average CPU use, in percent of the request.
	CPUUtilization int
}

// ImageBuildArgs builds the app's image and pushes it to a registry.
type ImageBuildArgs struct {
	// Context is the Docker build context directory.
	Context string
	// Dockerfile is the Dockerfile path, relative to the working directory.
	Dockerfile string
	// Repository is the image name prefix, e.g. us-central1-docker.pkg.dev/p/apps.
	Repository pulumi.StringInput
	// Registry holds the push credentials.
	Registry docker.RegistryPtrInput
	// Platform is the target platform; GKE nodes are linux/amd64.
	Platform string
}

// GPUSchedulingArgs place a pod on the GPU nodes.
type GPUSchedulingArgs struct {
	// NodeSelector selects the GPU nodes (on GKE: the ComputeClass).
	NodeSelector map[string]string
	// Tolerate are the GPU nodes' taints the pod tolerates.
	Tolerate []TaintArgs
}

// TaintArgs are a node taint, the effect in Kubernetes' spelling (NoSchedule).
type TaintArgs struct {
	// Key, Value and Effect of the taint.
	Key, Value, Effect string
}

// AppArgs configures one workload.
type AppArgs struct {
	// Namespace the app lives in.
	Namespace pulumi.StringInput
	// Image is a prebuilt image reference; ignored when Build is set.
	Image string
	// Build, when set, builds and pushes the image; the Deployment pins its digest.
	Build *ImageBuildArgs
	// Port the container serves HTTP on; 0 means a worker with no Service and no probes.
	Port int
	// Replicas is the desired pod count; with Autoscaling the HPA owns it instead.
	Replicas int
	// Env is the container environment, in clear.
	Env map[string]string
	// SecretEnv are environment variables whose values are secrets: they go
	// into a Kubernetes Secret (<name>-env) the container reads through
	// secretKeyRef; the component marks them secret, so the engine keeps
	// them encrypted.
	SecretEnv map[string]pulumi.StringInput
	// Command overrides the image entrypoint.
	Command []string
	// Args overrides the image arguments.
	Args []string
	// Resources are the container's requests and limits.
	Resources ResourceArgs
	// GPU is the nvidia.com/gpu count per pod; > 0 requires GPUScheduling.
	GPU int
	// GPUScheduling places GPU pods on GPU nodes. CPU apps ignore it and never
	// tolerate the GPU taint.
	GPUScheduling GPUSchedulingArgs
	// HealthPath is the HTTP path of the readiness and liveness probes.
	HealthPath string
	// Autoscaling, when set, adds a HorizontalPodAutoscaler.
	Autoscaling *AutoscalingArgs
	// MaxUnavailable, when set, adds a PodDisruptionBudget.
	MaxUnavailable *int
	// GCPServiceAccount, if set, is the Google service account the pods act
	// as through Workload Identity (see WorkloadIdentity for the binding).
	GCPServiceAccount pulumi.StringInput
	// ServiceAnnotations go on the Service (e.g. GKE's NEG annotation).
	ServiceAnnotations map[string]string
	// LoadBalancerHealthCheck, when set (GKE only: the CRD is GKE's),
	// declares the Google Cloud health check of the app's load-balancer
	// backend instead of leaving GKE to infer it from the readiness probe.
	// Needs Port and HealthPath.
	LoadBalancerHealthCheck *LoadBalancerHealthCheckArgs
	// Labels are added to every object, beside the app.kubernetes.io/* ones.
	Labels map[string]string
	// SkipAwait makes `pulumi up` not wait for the pods to be Ready: right
	// for GPU apps, whose pods wait minutes for a GPU node from zero.
	SkipAwait bool
	// ReadyTimeoutSeconds is how long `pulumi up` waits for the pods to be
	// Ready before it fails the update; 0 is the provider's default (10 min).
	ReadyTimeoutSeconds int
	// TerminationGracePeriodSeconds is the time between SIGTERM and SIGKILL;
	// 0 leaves Kubernetes' default (30 s).
	TerminationGracePeriodSeconds int
	// AlwaysOn marks a GPU app whose pods run with no queue behind them
	// (AlwaysOnAnnotation), which keeps a GPU node up around the clock.
	AlwaysOn bool
	// KubernetesAPI mounts the service account's token: the pods call the
	// Kubernetes API (the spend guard). Otherwise only a Google identity
	// (GCPServiceAccount) mounts it.
	KubernetesAPI bool
	// Queue, when set, hands the app's scale to KEDA: a ScaledObject on the
	// Deployment (worker mode) or a ScaledJob instead of it (job mode).
	Queue *QueueScalingArgs
}

// App is a Deployment with its ServiceAccount, and optionally a ClusterIP
// Service, a HorizontalPodAutoscaler, a PodDisruptionBudget and a built image.
type App struct {
	pulumi.ResourceState

	// ServiceName is the Service's name; empty for workers.
	ServiceName pulumi.StringOutput `pulumi:"serviceName"`
	// ServicePort is the Service's port (80), 0 for workers.
	ServicePort pulumi.IntOutput `pulumi:"servicePort"`
	// Image is the image reference the pods run (a digest when built here).
	Image pulumi.StringOutput `pulumi:"image"`
}

// NewApp creates the app. Kubernetes objects use the provider passed in opts
// (pulumi.Providers), inherited by every child.
func NewApp(ctx *pulumi.Context, name string, args *AppArgs, opts ...pulumi.ResourceOption) (*App, error) {
	a := &App{}
	if err := ctx.RegisterComponentResource("gke-gpu-platform:index:App", name, a, opts...); err != nil {
		return nil, err
	}
	parent := childOf(a, opts)

	component := "web"
	if args.GPU > 0 {
		component = "gpu-worker"
	} else if args.Port == 0 {
		component = "worker"
	}
	selector := pulumi.StringMap{
		"app.kubernetes.io/name":     pulumi.String(name),
		"app.kubernetes.io/instance": pulumi.String(name),
	}
	labels := pulumi.StringMap{
		"app.kubernetes.io/part-of":    pulumi.String("gke-gpu-platform"),
		"app.kubernetes.io/managed-by": pulumi.String("pulumi"),
		"app.kubernetes.io/component":  pulumi.String(component),
	}
	for k, v := range selector {
		labels[k] = v
	}
	for k, v := range args.Labels {
		labels[k] = pulumi.String(v)
	}
	meta := func() *metav1.ObjectMetaArgs {
		return &metav1.ObjectMetaArgs{Name: pulumi.String(name), Namespace: args.Namespace, Labels: labels}
	}

	image := pulumi.String(args.Image).ToStringOutput()
	if b := args.Build; b != nil {
		built, err := docker.NewImage(ctx, name, &docker.ImageArgs{
			ImageName: pulumi.Sprintf("%s/%s:latest", b.Repository, name),
			Build: &docker.DockerBuildArgs{
				Context:    pulumi.String(b.Context),
				Dockerfile: pulumi.String(b.Dockerfile),
				Platform:   pulumi.String(b.Platform),
			},
			Registry: b.Registry,
		}, parent)
		if err != nil {
			return nil, err
		}
		// The digest, not the tag: a new build rolls the Deployment.
		image = built.RepoDigest
	}

	saMeta := meta()
	if args.GCPServiceAccount != nil {
		saMeta.Annotations = pulumi.StringMap{WorkloadIdentityAnnotation: args.GCPServiceAccount}
	}
	sa, err := corev1.NewServiceAccount(ctx, name, &corev1.ServiceAccountArgs{
		Metadata:                     saMeta,
		AutomountServiceAccountToken: pulumi.Bool(false),
	}, parent)
	if err != nil {
		return nil, err
	}

	var secretName pulumi.StringInput
	if len(args.SecretEnv) > 0 {
		secretMeta := meta()
		secretMeta.Name = pulumi.String(name + "-env")
		data := pulumi.StringMap{}
		for k, v := range args.SecretEnv {
			data[k] = pulumi.ToSecret(v).(pulumi.StringOutput)
		}
		secret, err := corev1.NewSecret(ctx, name+"-env", &corev1.SecretArgs{
			Metadata:   secretMeta,
			Type:       pulumi.String("Opaque"),
			StringData: data,
		}, parent)
		if err != nil {
			return nil, err
		}
		secretName = secret.Metadata.Name().Elem()
	}

	template := podTemplate(name, args, labels, image, sa.Metadata.Name().Elem(), secretName)
	var deployment *appsv1.Deployment
	if q := args.Queue; q != nil && q.Mode == QueueModeJob {
		// One Job per queued message, created by KEDA: no Deployment at all.
		if err := newScaledJob(ctx, name, meta(), q, template, parent); err != nil {
			return nil, err
		}
	} else {
		deploymentMeta := meta()
		// Config is the source of truth: a hand `kubectl scale` or `set image`
		// takes ownership of the field under server-side apply, and without
		// force the next `pulumi up` fails with a field conflict instead of
		// putting the config back (seen in the e2e test).
		annotations := pulumi.StringMap{"pulumi.com/patchForce": pulumi.String("true")}
		switch {
		case args.SkipAwait:
			annotations["pulumi.com/skipAwait"] = pulumi.String("true")
		case args.ReadyTimeoutSeconds > 0:
			annotations["pulumi.com/timeoutSeconds"] = pulumi.String(fmt.Sprint(args.ReadyTimeoutSeconds))
		}
		if args.AlwaysOn {
			annotations[AlwaysOnAnnotation] = pulumi.String("true")
		}
		deploymentMeta.Annotations = annotations
		deploymentOpts := []pulumi.ResourceOption{parent}
		if args.Queue != nil {
			// KEDA owns the replica count; the program sets only the start.
			deploymentOpts = append(deploymentOpts, pulumi.IgnoreChanges([]string{"spec.replicas"}))
		}
		deployment, err = appsv1.NewDeployment(ctx, name, &appsv1.DeploymentArgs{
			Metadata: deploymentMeta,
			Spec:     deploymentSpec(args, selector, template),
		}, deploymentOpts...)
		if err != nil {
			return nil, err
		}
		if args.Queue != nil {
			if err := newScaledObject(ctx, name, meta(), args.Queue, deployment.Metadata.Name().Elem(), parent); err != nil {
				return nil, err
			}
		}
	}
	if args.SkipAwait && args.GPU > 0 && deployment != nil {
		_ = ctx.Log.Info("`pulumi up` does not wait for its GPU pods (readyTimeoutSeconds: 0): "+
			"each waits for a GPU node, which the cluster autoscaler adds from zero in minutes", &pulumi.LogArgs{Resource: a})
	}

	a.Image = image
	a.ServiceName = pulumi.String("").ToStringOutput()
	a.ServicePort = pulumi.Int(0).ToIntOutput()
	if args.Port > 0 {
		svcMeta := meta()
		svcAnnotations := pulumi.ToStringMap(args.ServiceAnnotations)
		svcOpts := []pulumi.ResourceOption{parent}
		if hc := args.LoadBalancerHealthCheck; hc != nil {
			// Declared, not inferred: GKE infers the check from the readiness
			// probe only under conditions, and keeps the inferred one when the
			// probe later changes; the load balancer then answers 502.
			bc, err := newBackendConfig(ctx, name, meta(), *hc, args.HealthPath, args.Port, parent)
			if err != nil {
				return nil, err
			}
			svcAnnotations[BackendConfigAnnotation] = pulumi.Sprintf(`{"default": "%s"}`, bc.Metadata.Name().Elem())
			svcOpts = append(svcOpts, pulumi.DependsOn([]pulumi.Resource{bc}))
		}
		svcMeta.Annotations = svcAnnotations
		svc, err := corev1.NewService(ctx, name, &corev1.ServiceArgs{
			Metadata: svcMeta,
			Spec: &corev1.ServiceSpecArgs{
				// ClusterIP only: traffic enters through the one Ingress; a
				// LoadBalancer Service would be a billed forwarding rule each.
				Type:     pulumi.String("ClusterIP"),
				Selector: selector,
				Ports: corev1.ServicePortArray{&corev1.ServicePortArgs{
					Name:       pulumi.String("http"),
					Port:       pulumi.Int(80),
					TargetPort: pulumi.String("http"),
					Protocol:   pulumi.String("TCP"),
				}},
			},
		}, svcOpts...)
		if err != nil {
			return nil, err
		}
		a.ServiceName = svc.Metadata.Name().Elem()
		a.ServicePort = pulumi.Int(80).ToIntOutput()
	}

	if as := args.Autoscaling; as != nil && deployment != nil {
		if _, err := autoscalingv2.NewHorizontalPodAutoscaler(ctx, name, &autoscalingv2.HorizontalPodAutoscalerArgs{
			Metadata: meta(),
			Spec: &autoscalingv2.HorizontalPodAutoscalerSpecArgs{
				ScaleTargetRef: &autoscalingv2.CrossVersionObjectReferenceArgs{
					ApiVersion: pulumi.String("apps/v1"),
					Kind:       pulumi.String("Deployment"),
					Name:       deployment.Metadata.Name().Elem(),
				},
				MinReplicas: pulumi.Int(as.MinReplicas),
				MaxReplicas: pulumi.Int(as.MaxReplicas),
				Metrics: autoscalingv2.MetricSpecArray{&autoscalingv2.MetricSpecArgs{
					Type: pulumi.String("Resource"),
					Resource: &autoscalingv2.ResourceMetricSourceArgs{
						Name: pulumi.String("cpu"),
						Target: &autoscalingv2.MetricTargetArgs{
							Type:               pulumi.String("Utilization"),
							AverageUtilization: pulumi.Int(as.CPUUtilization),
						},
					},
				}},
			},
		}, parent); err != nil {
			return nil, err
		}
	}

	if mu := args.MaxUnavailable; mu != nil {
		if _, err := policyv1.NewPodDisruptionBudget(ctx, name, &policyv1.PodDisruptionBudgetArgs{
			Metadata: meta(),
			Spec: &policyv1.PodDisruptionBudgetSpecArgs{
				MaxUnavailable: pulumi.Int(*mu),
				Selector:       &metav1.LabelSelectorArgs{MatchLabels: selector},
			},
		}, parent); err != nil {
			return nil, err
		}
	}

	return a, ctx.RegisterResourceOutputs(a, pulumi.Map{
		"serviceName": a.ServiceName,
		"servicePort": a.ServicePort,
		"image":       a.Image,
	})
}

// deploymentSpec wraps the pod template: replicas (unless an HPA or KEDA
// owns them) and a rollout that never needs an extra GPU node.
func deploymentSpec(args *AppArgs, selector pulumi.StringMap, template *corev1.PodTemplateSpecArgs) *appsv1.DeploymentSpecArgs {
	strategy := &appsv1.DeploymentStrategyArgs{Type: pulumi.String("RollingUpdate")}
	if args.GPU > 0 {
		// A surge pod would need one more GPU node; replace in place instead.
		strategy.RollingUpdate = &appsv1.RollingUpdateDeploymentArgs{
			MaxSurge: pulumi.Int(0), MaxUnavailable: pulumi.Int(1),
		}
	}
	spec := &appsv1.DeploymentSpecArgs{
		Selector: &metav1.LabelSelectorArgs{MatchLabels: selector},
		Strategy: strategy,
		Template: template,
	}
	switch {
	case args.Queue != nil:
		// The start only (ignoreChanges): from then on KEDA scales it, and a
		// later `pulumi up` leaves KEDA's count alone.
		spec.Replicas = pulumi.Int(args.Queue.MinReplicas)
	case args.Autoscaling == nil:
		// With an HPA the replica count is the HPA's: leaving it unset keeps
		// every `pulumi up` from resetting what the HPA chose.
		spec.Replicas = pulumi.Int(args.Replicas)
	}
	return spec
}
