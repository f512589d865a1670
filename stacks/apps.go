package stacks

import (
	"slices"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/gke-gpu-platform/gke-gpu-platform/components"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
)

// negAnnotation makes GKE load-balance straight to pod IPs (container-native
// load balancing), which a ClusterIP Service behind a GKE Ingress needs.
var negAnnotation = map[string]string{"cloud.google.com/neg": `{"ingress": true}`}

// deployApps creates the stack's namespace, one App per config entry, and
// the single Ingress in front of them.
func deployApps(ctx *pulumi.Context, cfg config.Config, t *target) error {
	k8s := pulumi.Provider(t.provider)
	queues := newLocalQueueing(cfg)
	if t.gke {
		var err error
		if queues, err = newGKEQueueing(ctx, cfg, t); err != nil {
			return err
		}
	}
	// Waiting for the pools here orders everything after: every app object
	// takes its namespace from this resource's output.
	ns, err := corev1.NewNamespace(ctx, cfg.Namespace, &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String(cfg.Namespace),
			Labels: pulumi.StringMap{
				"app.kubernetes.io/part-of": pulumi.String("gke-gpu-platform"),
				// Enforce what every pod spec already does.
				"pod-security.kubernetes.io/enforce": pulumi.String("restricted"),
			},
		},
	}, k8s, pulumi.DependsOn(t.pools))
	if err != nil {
		return err
	}
	namespace := ns.Metadata.Name().Elem()
	ctx.Export("namespace", namespace)
	if _, err := components.NewNetworkPolicies(ctx, "network", &components.NetworkPolicyArgs{
		Namespace: namespace, IngressFrom: ingressSource(cfg, t.gke), Apps: appTraffic(cfg, t.gke, queues),
	}, k8s); err != nil {
		return err
	}

	images := pulumi.StringMap{}
	var routes []components.IngressRoute
	for _, a := range cfg.Apps {
		args := &components.AppArgs{
			Namespace:                     namespace,
			Image:                         a.Image,
			Port:                          a.Port,
			Replicas:                      a.ReplicaCount(),
			Env:                           mergeEnv(queues.env[a.Name], a.Env),
			SecretEnv:                     secretEnv(cfg, a),
			Command:                       a.Command,
			Args:                          a.Args,
			GPU:                           a.GPU,
			GPUScheduling:                 gpuScheduling,
			HealthPath:                    a.HealthPath,
			MaxUnavailable:                a.MaxUnavailable,
			GCPServiceAccount:             queues.identity[a.Name],
			SkipAwait:                     a.ReadyTimeout() == 0,
			AlwaysOn:                      a.AlwaysOn,
			ReadyTimeoutSeconds:           a.ReadyTimeout(),
			TerminationGracePeriodSeconds: cfg.TerminationGrace(a),
			Resources: components.ResourceArgs{
				CPURequest: a.Resources.CPURequest, MemoryRequest: a.Resources.MemoryRequest,
				CPULimit: a.Resources.CPULimit, MemoryLimit: a.Resources.MemoryLimit,
				EphemeralStorageRequest: a.Resources.EphemeralStorageRequest, EphemeralStorageLimit: a.Resources.EphemeralStorageLimit,
			},
			Labels: map[string]string{"gke-gpu-platform/stack": config.LabelValue(cfg.Stack)},
		}
		if as := a.Autoscaling; as != nil {
			args.Autoscaling = &components.AutoscalingArgs{
				MinReplicas: as.MinReplicas, MaxReplicas: as.MaxReplicas, CPUUtilization: as.CPUUtilization,
			}
		}
		if t.gke {
			args.ServiceAnnotations = negAnnotation
			if a.Path != "" {
				// The load balancer's own check, on the path the probes use:
				// GKE counts only HTTP 200 there as healthy.
				args.LoadBalancerHealthCheck = &components.LoadBalancerHealthCheckArgs{}
			}
		}
		appOpts := []pulumi.ResourceOption{pulumi.Providers(t.provider)}
		if q := a.Queue; q != nil {
			args.Queue = &components.QueueScalingArgs{
				Mode: q.Mode, MinReplicas: q.MinReplicas, MaxReplicas: q.MaxReplicas,
				PollingSeconds: q.PollingSeconds, CooldownSeconds: q.CooldownSeconds,
				Trigger: queues.trigger(a), TargetBacklog: q.TargetBacklog,
			}
			for _, w := range q.Warm {
				args.Queue.Warm = append(args.Queue.Warm, components.WarmWindowArgs{
					Start: w.Start, End: w.End, Timezone: w.Timezone, Replicas: w.Replicas,
				})
			}
			appOpts = append(appOpts, pulumi.DependsOn(queues.keda))
		}
		if a.Build != "" {
			args.Build = &components.ImageBuildArgs{
				Context:    a.Build,
				Dockerfile: a.Build + "/" + a.Dockerfile,
				Repository: t.registry.URL,
				Registry:   t.registry.DockerRegistry(ctx),
				Platform:   "linux/amd64",
			}
		}
		app, err := components.NewApp(ctx, a.Name, args, appOpts...)
		if err != nil {
			return err
		}
		images[a.Name] = app.Image
		if a.Path != "" {
			routes = append(routes, components.IngressRoute{
				Host: cfg.RouteHost(a), Path: a.Path, ServiceName: app.ServiceName, ServicePort: 80,
			})
		}
	}
	ctx.Export("images", images)
	if err := deploySpendGuard(ctx, cfg, t, namespace); err != nil {
		return err
	}
	if err := deployAlerts(ctx, cfg, t); err != nil {
		return err
	}

	if len(routes) == 0 {
		return nil
	}
	ingressArgs := &components.IngressArgs{
		Namespace: namespace,
		Routes:    routes,
		ClassName: cfg.Ingress.ClassName,
	}
	if t.gke {
		ingressArgs.GKE = &components.GKEIngressArgs{
			Project: cfg.Project, StaticIP: cfg.Ingress.StaticIP, StaticIPName: cfg.Ingress.StaticIPName,
		}
		if cfg.Ingress.TLS {
			// One certificate for every host a route answers on.
			for _, r := range routes {
				if !slices.Contains(ingressArgs.GKE.CertificateDomains, r.Host) {
					ingressArgs.GKE.CertificateDomains = append(ingressArgs.GKE.CertificateDomains, r.Host)
				}
			}
		}
	}
	ingress, err := components.NewIngress(ctx, "ingress", ingressArgs, pulumi.Providers(t.provider))
	if err != nil {
		return err
	}
	ctx.Export("ingressAddress", ingress.Address)
	scheme := "http"
	if cfg.Ingress.TLS {
		scheme = "https"
	}
	if cfg.Ingress.Host != "" {
		ctx.Export("url", pulumi.Sprintf("%s://%s/", scheme, cfg.Ingress.Host))
	} else {
		ctx.Export("url", pulumi.Sprintf("%s://%s/", scheme, ingress.Address))
	}
	return nil
}

// secretEnv resolves an app's secretEnv to the stack's secret values; the
// App component marks them secret, so the engine encrypts them and no
// preview shows them.
func secretEnv(c config.Config, a config.AppConfig) map[string]pulumi.StringInput {
	out := map[string]pulumi.StringInput{}
	for env, secret := range a.SecretEnv {
		out[env] = pulumi.String(c.Secrets[secret])
	}
	return out
}
