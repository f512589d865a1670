package config

import (
	"slices"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/cost"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/keda"
)

// Defaults is the one place defaults live. Stack files override field by
// field: a key present in Pulumi.<stack>.yaml replaces only what it names.
func Defaults(stack string) Config {
	return Config{
		Stack:     stack,
		Platform:  PlatformGKE,
		Namespace: namespaceFor(stack),
		Cluster: ClusterConfig{
			Name:             stackScopedName("platform", stack, clusterNameMax),
			ReleaseChannel:   "REGULAR",
			MaintenanceStart: "03:00",
			// Past what the GPU ComputeClass needs (1.30.3-gke.1451000), and
			// in every release channel at the time of writing.
			MinVersion: "1.33",
			// No charge of its own: labels in the billing export.
			CostAllocation: true,
			Network:        "default",
			DataplaneV2:    true,
			// GKE's own default; stacks whose GPU work is batch choose
			// OPTIMIZE_UTILIZATION (dev and pr do).
			AutoscalingProfile: cost.ProfileBalanced,
		},
		// The seed's pool: 3 vCPU / 11.25 GB as 3 x n1-standard-1.
		CPUPool: CPUPoolConfig{
			MachineType: "n1-standard-1",
			DiskType:    "pd-standard",
			DiskSizeGb:  30,
			MinNodes:    3,
			MaxNodes:    3,
		},
		GPUPool: GPUPoolConfig{
			Enabled:          true,
			MachineType:      "n1-standard-4",
			AcceleratorType:  "nvidia-tesla-t4",
			AcceleratorCount: 1,
			DriverVersion:    "DEFAULT",
			DiskType:         "pd-standard",
			DiskSizeGb:       50,
			MinNodes:         0,
			MaxNodes:         1,
			LocationPolicy:   "ANY",
			ImageStreaming:   true,
			// Pods wait for a GPU the class lists, never a node outside it
			// (GKE's default from 1.33; set because it changed).
			WhenUnsatisfiable: "DoNotScaleUp",
		},
		Registry: RegistryConfig{Name: stackScopedName("apps", stack, resourceIDMax), KeepVersions: 10},
		Ingress: IngressConfig{
			StaticIPName:        stackScopedName("ingress", stack, resourceIDMax),
			ControllerNamespace: "ingress-nginx",
		},
		Cost: CostConfig{FreeTier: true, RegistryStorageGb: 1, NATGbPerMonth: 1, JobsPerMonth: 10000, FallbackShare: 0.2},
	}
}

// appDefaults fills one app's unset fields.
func appDefaults(a *AppConfig) {
	if a.Dockerfile == "" && a.Build != "" {
		a.Dockerfile = "Dockerfile"
	}
	if a.HealthPath == "" {
		a.HealthPath = "/healthz"
	}
	r := &a.Resources
	for _, d := range []struct {
		field *string
		value string
	}{
		{&r.CPURequest, "100m"}, {&r.MemoryRequest, "128Mi"},
		{&r.CPULimit, "500m"}, {&r.MemoryLimit, "256Mi"},
		{&r.EphemeralStorageRequest, "128Mi"}, {&r.EphemeralStorageLimit, "1Gi"},
	} {
		if *d.field == "" {
			*d.field = d.value
		}
	}
	if as := a.Autoscaling; as != nil && as.CPUUtilization == 0 {
		as.CPUUtilization = 70
	}
	// A web app with two or more replicas keeps one serving through a node
	// drain. Never on GPU apps: a budget there pins a GPU node up.
	if a.MaxUnavailable == nil && a.Port > 0 && a.GPU == 0 && a.minReplicas() >= 2 {
		one := 1
		a.MaxUnavailable = &one
	}
	if a.ReadyTimeoutSeconds == nil && a.GPU > 0 {
		none := 0
		a.ReadyTimeoutSeconds = &none
	}
	if q := a.Queue; q != nil {
		if q.Name == "" {
			q.Name = a.Name
		}
		if q.Mode == "" {
			q.Mode = keda.QueueModeWorker
		}
		if q.MaxReplicas == 0 {
			q.MaxReplicas = 1
		}
		if q.TargetBacklog == 0 {
			q.TargetBacklog = 1
		}
		if q.CooldownSeconds == 0 {
			q.CooldownSeconds = 300
		}
		if q.PollingSeconds == 0 {
			q.PollingSeconds = 15
		}
		if q.MaxDeliveryAttempts == 0 {
			q.MaxDeliveryAttempts = 5
		}
		if q.MaxJobSeconds == 0 {
			q.MaxJobSeconds = 3600
		}
		if q.Results.KeepDays == 0 {
			q.Results.KeepDays = 7
		}
		if q.LeaseSeconds == 0 {
			q.LeaseSeconds = min(60, q.MaxJobSeconds)
		}
		if q.LeaseRenewSeconds == 0 {
			q.LeaseRenewSeconds = q.LeaseSeconds / 3
		}
		for i := range q.Warm {
			if q.Warm[i].Timezone == "" {
				q.Warm[i].Timezone = "UTC"
			}
			if q.Warm[i].Replicas == 0 {
				q.Warm[i].Replicas = 1
			}
		}
	}
}

// gpuPodsPerNode is how many of a GPU app's pods one GPU node holds.
func (c Config) gpuPodsPerNode(a AppConfig) int {
	if opts := c.GPUPool.Options(); len(opts) > 0 {
		return max(opts[0].GPUsPerNode()/a.GPU, 1)
	}
	return 1
}

// TerminationGrace is an app's terminationGracePeriodSeconds: its own, or
// 15 s on a Spot pool (GKE gives a Spot VM's pods about 15 s when it
// reclaims the VM: cloud.google.com/kubernetes-engine/docs/concepts/spot-vms),
// else Kubernetes' 30 s.
func (c Config) TerminationGrace(a AppConfig) int {
	if a.TerminationGracePeriodSeconds != nil {
		return *a.TerminationGracePeriodSeconds
	}
	spot := c.CPUPool.Spot
	if a.GPU > 0 {
		// Any option may be the one the pod lands on.
		spot = slices.ContainsFunc(c.GPUPool.Options(), func(o GPUOption) bool { return o.Spot })
	}
	if spot && c.Platform == PlatformGKE {
		return 15
	}
	return 30
}
