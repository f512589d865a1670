package config

import (
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/accelerator"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/schedule"
)

// ConfigNamespace is the project's config namespace: keys are written
// `gke-gpu-platform:<key>` in Pulumi.<stack>.yaml.
const ConfigNamespace = "gke-gpu-platform"

// Platforms the program can target.
const (
	// PlatformGKE creates the zonal GKE cluster, its pools and registry in Google Cloud.
	PlatformGKE = "gke"
	// PlatformLocal deploys the same apps onto an existing cluster named by a
	// kubeconfig, with no Google resources at all.
	PlatformLocal = "local"
)

// Config is everything one stack says about itself, loaded once and
// validated once by LoadConfig before any resource is registered.
type Config struct {
	// Stack is the Pulumi stack name (dev, prod, local, pr).
	Stack string `json:"-"`
	// Platform is gke (creates the cluster, its pools and registry in Google
	// Cloud) or local (deploys the same apps onto an existing kubeconfig
	// cluster, with no Google resources). Key: platform.
	Platform string `json:"-"`
	// Project is the Google Cloud project ID. Default: none, required on
	// the gke platform. Key: gcp:project.
	Project string `json:"-"`
	// Zone is the one zone of the cluster and its pools (e.g.
	// us-central1-a): the free tier covers one zonal cluster only. Default:
	// none, required on the gke platform. Key: gcp:zone.
	Zone string `json:"-"`
	// Namespace is the Kubernetes namespace the apps live in. Default: the
	// stack name, lowercased. Key: namespace.
	Namespace string `json:"-"`
	// Cluster shapes the GKE control plane. Key: cluster.
	Cluster ClusterConfig `json:"-"`
	// CPUPool is the untainted pool for system pods and web apps. Key: cpuPool.
	CPUPool CPUPoolConfig `json:"-"`
	// GPUPool is the tainted pool that scales to zero. Key: gpuPool.
	GPUPool GPUPoolConfig `json:"-"`
	// Registry is the Artifact Registry repository for built images. Key: registry.
	Registry RegistryConfig `json:"-"`
	// Apps are the workloads, one entry each. Key: apps.
	Apps []AppConfig `json:"-"`
	// Ingress is the single entry point for every app with a path. Key: ingress.
	Ingress IngressConfig `json:"-"`
	// Cost feeds the monthly estimate. Key: cost.
	Cost CostConfig `json:"-"`
	// Budget caps the stack's GPU spend: on GKE a Cloud Billing budget for
	// the stack's project, with threshold emails and every update published
	// to a topic of the stack; on both platforms the spend guard, which
	// pauses GPU scaling when a period's actual spend reaches the cap.
	// Default: none. Key: budget.
	Budget *BudgetConfig `json:"-"`
	// Alerts email what a founder must know: jobs dead-lettered, a job
	// waiting too long, a GPU node up too long, the spend guard engaged
	// (Cloud Monitoring alert policies), with a dashboard of the queues and
	// GPUs. GKE only. Default: none. Key: alerts.
	Alerts *AlertsConfig `json:"-"`
	// Local says how to reach the cluster of the local platform. Key: local.
	Local LocalConfig `json:"-"`
	// Secrets are the stack's secret values by name, set only with
	// `pulumi config set --secret --path 'gke-gpu-platform:secrets.<name>' <value>`
	// (encrypted in the stack file; a value in clear is refused); apps take
	// them through secretEnv. dev, prod and pr need enqueueToken (the
	// backend's ENQUEUE_TOKEN); review stacks too (set it on the pr template
	// stack, or give review stacks a Pulumi ESC environment that holds it).
	// On the local stack, `bin/local secret NAME` sets one. Key: secrets.
	Secrets map[string]string `json:"-"`
	// secretsInClear names secrets the stack holds unencrypted.
	secretsInClear []string
	// deploy is true when the config is loaded to deploy: the secrets apps
	// name must then be set.
	deploy bool
}

// ClusterConfig is the `cluster` key.
type ClusterConfig struct {
	// Name of the GKE cluster, at most 24 characters (the node service
	// account is <name>-nodes); also the prefix of the KEDA and app Google
	// service accounts and the Pub/Sub topics. Derived from the stack so
	// review stacks sharing a project never collide; a stack name that does
	// not fit becomes platform-<8 hex of its hash>.
	Name string `json:"name"`
	// ReleaseChannel is RAPID, REGULAR, STABLE or EXTENDED.
	ReleaseChannel string `json:"releaseChannel"`
	// DeletionProtection makes GKE refuse to delete the cluster.
	DeletionProtection bool `json:"deletionProtection"`
	// Protect sets Pulumi's protect option on the cluster: `pulumi destroy` stops.
	Protect bool `json:"protect"`
	// MaintenanceStart is the daily maintenance window start, "HH:MM" UTC.
	MaintenanceStart string `json:"maintenanceStart"`
	// Network is the VPC network's name.
	Network string `json:"network"`
	// Subnetwork is the nodes' subnetwork in the cluster's region. With
	// private nodes the Cloud NAT serves this subnetwork only, and it must
	// have Private Google Access on. Default: the network's name (an
	// auto-mode network, such as default, has a subnet so named in every
	// region).
	Subnetwork string `json:"subnetwork"`
	// DataplaneV2 enforces the apps' NetworkPolicies (GKE Dataplane V2, no
	// extra charge). Set only at creation: changing it replaces the cluster,
	// so an existing cluster created without it keeps false.
	DataplaneV2 bool `json:"dataplaneV2"`
	// AutoscalingProfile is the cluster autoscaler's profile:
	// OPTIMIZE_UTILIZATION removes idle nodes sooner (a GPU node stops
	// billing earlier; GKE recommends it for batch work, dev and pr use it),
	// BALANCED keeps them longer (prod, serving). Updatable in place.
	// https://cloud.google.com/kubernetes-engine/docs/concepts/cluster-autoscaler#autoscaling_profiles
	AutoscalingProfile string `json:"autoscalingProfile"`
	// PrivateNodes gives every node an internal address only (no $0.005/h
	// external IPv4 each, the CIS GKE Benchmark's private-nodes
	// recommendation): a Cloud Router and a Cloud NAT gateway scoped to the
	// cluster's subnetwork carry their internet traffic, and Private Google
	// Access (checked on the subnetwork at deploy time) their Google API and
	// Artifact Registry traffic. Two stacks of one project cannot put a NAT
	// on the same subnetwork. Set per node pool, so an existing cluster turns
	// it on in place (the cluster-level switch would replace the cluster).
	PrivateNodes bool `json:"privateNodes"`
	// MinVersion is the lowest GKE version the control plane may run
	// (minMasterVersion; the release channel upgrades past it): the GPU
	// options' features are checked against it (ComputeClasses need
	// 1.30.3-gke.1451000, a flexStart option 1.33.3-gke.1136000). GKE's
	// release notes list each channel's current versions:
	// https://cloud.google.com/kubernetes-engine/docs/release-notes
	MinVersion string `json:"minVersion"`
	// GPUMetrics turns on GKE's managed DCGM metrics of the GPU nodes (GPU
	// utilisation, memory) through Managed Service for Prometheus, which
	// bills its samples: off unless asked. Needs gpuPool.driverVersion
	// DEFAULT or LATEST (GKE-managed drivers).
	// https://cloud.google.com/kubernetes-engine/docs/how-to/dcgm-metrics
	GPUMetrics bool `json:"gpuMetrics"`
	// CostAllocation turns on GKE cost allocation: the billing export to
	// BigQuery splits the cluster's cost by namespace and workload
	// (labels), so the GPU worker's share is its own. Updatable in place.
	// https://cloud.google.com/kubernetes-engine/docs/how-to/cost-allocations
	CostAllocation bool `json:"costAllocation"`
	// Regional puts the control plane in the zone's region. It is never free
	// (about $73/month): opting in is explicit, and the policy pack flags it.
	Regional bool `json:"regional"`
}

// CPUPoolConfig is the `cpuPool` key.
type CPUPoolConfig struct {
	// MachineType of every node, e.g. n1-standard-1 (the seed's 3 vCPU /
	// 11.25 GB pool is 3 of them).
	MachineType string `json:"machineType"`
	// DiskType is pd-standard, pd-balanced or pd-ssd.
	DiskType string `json:"diskType"`
	// DiskSizeGb is the boot disk size per node.
	DiskSizeGb int `json:"diskSizeGb"`
	// MinNodes is the autoscaler's lower bound, at least 1: system pods need
	// a node.
	MinNodes int `json:"minNodes"`
	// MaxNodes is the autoscaler's upper bound, at least minNodes.
	MaxNodes int `json:"maxNodes"`
	// Spot runs the pool on Spot VMs (60-91% cheaper, preemptible).
	Spot bool `json:"spot"`
}

// GPUPoolConfig is the `gpuPool` key.
type GPUPoolConfig struct {
	// Enabled creates the pool (on the local platform: says the cluster has
	// GPU nodes).
	Enabled bool `json:"enabled"`
	// MachineType must belong to the accelerator's family: T4, P4, P100 and
	// V100 attach to n1-*, L4 to g2-*, A100 to a2-*, H100 to a3-*.
	MachineType string `json:"machineType"`
	// AcceleratorType is the Compute Engine GPU type, e.g. nvidia-tesla-t4,
	// offered in every zone of nodeLocations (validated).
	AcceleratorType string `json:"acceleratorType"`
	// AcceleratorCount is the GPUs per node, checked against the machine type.
	AcceleratorCount int `json:"acceleratorCount"`
	// DriverVersion is DEFAULT, LATEST or INSTALLATION_DISABLED; a change
	// replaces the pool (new before old).
	DriverVersion string `json:"driverVersion"`
	// DiskType is pd-standard, pd-balanced or pd-ssd.
	DiskType string `json:"diskType"`
	// DiskSizeGb is the boot disk size per node.
	DiskSizeGb int `json:"diskSizeGb"`
	// MinNodes is the autoscaler's lower bound; 0 is what makes idle free,
	// and the policy pack enforces it.
	MinNodes int `json:"minNodes"`
	// MaxNodes is the autoscaler's upper bound.
	MaxNodes int `json:"maxNodes"`
	// Spot runs GPU nodes on Spot VMs (60-91% cheaper, preemptible).
	Spot bool `json:"spot"`
	// LocationPolicy is ANY (suits scarce GPUs and Spot) or BALANCED.
	LocationPolicy string `json:"locationPolicy"`
	// NodeLocations are zones of the cluster's region the GPU nodes may run
	// in, each offering AcceleratorType: Spot GPUs run out zone by zone. The
	// control plane stays zonal (and free); MinNodes and MaxNodes then bound
	// the pool's total. Empty: the cluster's zone.
	NodeLocations []string `json:"nodeLocations"`
	// ImageStreaming turns on GKE image streaming (gcfsConfig) on the GPU
	// pool: a new node starts a multi-GB CUDA image from Artifact Registry
	// in seconds instead of minutes, so a burst bills fewer idle minutes. It
	// needs a COS_CONTAINERD image, and the node service account gets
	// roles/serviceusage.serviceUsageConsumer, which GKE asks of a custom
	// node account. Turning it on or off replaces the GPU pool (new before
	// old; an idle pool has no nodes). GKE only.
	ImageStreaming bool `json:"imageStreaming"`
	// Sharing lets several pods share each GPU of the pool's own option
	// (GKE GPU time-sharing): for small models. Every GPU
	// app then asks for gpu: 1, which is one share. Default: none.
	Sharing *GPUSharingConfig `json:"sharing"`
	// Fallbacks are the GPU options tried, in order, when the pool's own
	// cannot be had (a GPU type, a zone or Spot capacity runs out): one
	// node pool each (a flexStart option: one GKE creates), all listed
	// after the pool's own in the stack's ComputeClass, whose priorities
	// the cluster autoscaler tries in order. Default: none (the single
	// pool). GKE only.
	// https://cloud.google.com/kubernetes-engine/docs/concepts/about-custom-compute-classes
	Fallbacks []GPUFallbackConfig `json:"fallbacks"`
	// WhenUnsatisfiable is what the autoscaler does when no option can be
	// had: DoNotScaleUp (the pods wait Pending, the queue keeps the jobs)
	// or ScaleUpAnyway (a node outside the class's priorities). Set
	// explicitly because GKE's default changed in 1.33.
	// https://cloud.google.com/kubernetes-engine/docs/reference/crds/computeclass
	WhenUnsatisfiable string `json:"whenUnsatisfiable"`
	// OptimizeRulePriority is the class's active migration: when an
	// earlier option can be had again, GKE moves pods back to it. A busy
	// queue worker is never moved (its pods are not safe to evict). Off
	// unless asked.
	OptimizeRulePriority bool `json:"optimizeRulePriority"`
}

// GPUFallbackConfig is one entry of `gpuPool.fallbacks`: a GPU shape and
// how it is bought. It shares the pool's disk, driver, image streaming,
// location policy and minNodes (0).
type GPUFallbackConfig struct {
	// MachineType of the option's nodes, of the accelerator's family.
	// Default: none, required.
	MachineType string `json:"machineType"`
	// AcceleratorType is the Compute Engine GPU type, offered in every
	// zone of nodeLocations. Default: none, required.
	AcceleratorType string `json:"acceleratorType"`
	// AcceleratorCount is the GPUs per node. Default: 1.
	AcceleratorCount int `json:"acceleratorCount"`
	// Spot buys the option's nodes as Spot VMs; else on demand (or flex-start).
	// Default: false.
	Spot bool `json:"spot"`
	// FlexStart buys them with flex-start (Dynamic Workload Scheduler):
	// discounted GPUs obtained when capacity frees up, each node deleted
	// after maxRunDurationSeconds. GKE creates the option's node pool
	// itself (the class's node pool auto-creation): pulumi-gcp v7.38.0's
	// NodePool has no flexStart field. Not with spot or sharing.
	// Default: false.
	// https://cloud.google.com/kubernetes-engine/docs/concepts/dws
	FlexStart bool `json:"flexStart"`
	// MaxRunDurationSeconds is how long a flex-start node lives: at least
	// every GPU queue's maxJobSeconds, at most 604800 (7 days, GKE's
	// limit). Default: 604800 on a flexStart option.
	MaxRunDurationSeconds int `json:"maxRunDurationSeconds"`
	// NodeLocations are the zones the option's nodes may run in. Default:
	// gpuPool.nodeLocations.
	NodeLocations []string `json:"nodeLocations"`
	// MaxNodes is the option's autoscaler upper bound. Default:
	// gpuPool.maxNodes (a flexStart option cannot set it: GKE creates its
	// pool with no bound; it is counted at gpuPool.maxNodes for capacity
	// and cost).
	MaxNodes int `json:"maxNodes"`
	// DiskType is the option's boot disk: pd-standard, pd-balanced or
	// pd-ssd, one its machine family boots from (G2 and A3: not
	// pd-standard). Default: gpuPool.diskType.
	DiskType string `json:"diskType"`
	// Sharing lets several pods share each of the option's GPUs. Default: none.
	Sharing *GPUSharingConfig `json:"sharing"`
}

// GPUSharingConfig is a GPU option's `sharing` block: GKE's
// gpuSharingConfig.
// https://cloud.google.com/kubernetes-engine/docs/concepts/timesharing-gpus
type GPUSharingConfig struct {
	// Strategy is TIME_SHARING (MPS is not offered: what an MPS client pod
	// needs on GKE is not checked here). Default: TIME_SHARING.
	Strategy string `json:"strategy"`
	// MaxClientsPerGpu is how many containers share one GPU, 2 to 48.
	// Default: none, required.
	MaxClientsPerGpu int `json:"maxClientsPerGpu"`
}

// RegistryConfig is the `registry` key.
type RegistryConfig struct {
	// Name is the Artifact Registry repository ID.
	Name string `json:"name"`
	// KeepVersions is how many recent versions of each image the cleanup policy keeps.
	KeepVersions int `json:"keepVersions"`
}

// AppConfig is one entry of the `apps` list.
type AppConfig struct {
	// Name of the app: Deployment, Service and ServiceAccount name. Default:
	// none, required.
	Name string `json:"name"`
	// Image is a prebuilt image reference. Exactly one of image and build is
	// required.
	Image string `json:"image"`
	// Build is a Docker build context relative to the project root, built and
	// pushed to the stack's registry.
	Build string `json:"build"`
	// Dockerfile is relative to the build context. Default: Dockerfile when
	// build is set.
	Dockerfile string `json:"dockerfile"`
	// Port the container serves HTTP on; 0 means a worker: no Service, no
	// probes.
	Port int `json:"port"`
	// Replicas is the desired pod count (the HPA's start when autoscaling).
	// Default: 1.
	Replicas *int `json:"replicas"`
	// GPU is the nvidia.com/gpu count per pod; above 0 schedules the pod on
	// the GPU pool only.
	GPU int `json:"gpu"`
	// Path routes this prefix on the Ingress to the app; empty for none.
	Path string `json:"path"`
	// Host overrides the Ingress host for this app's path. Default: ingress.host.
	Host string `json:"host"`
	// HealthPath is the HTTP path of the readiness and startup probes; on
	// GKE also the load balancer's health check of a routed app, which counts
	// only HTTP 200 as healthy.
	HealthPath string `json:"healthPath"`
	// Env is the container environment, in clear: never a password, token
	// or key (validation refuses names that say so); those go in SecretEnv.
	Env map[string]string `json:"env"`
	// SecretEnv maps an environment variable to the name of one of the
	// stack's secrets (gke-gpu-platform:secrets.<name>): rendered as a
	// Kubernetes Secret and a secretKeyRef, never shown in a preview.
	SecretEnv map[string]string `json:"secretEnv"`
	// Command overrides the image entrypoint.
	Command []string `json:"command"`
	// Args overrides the image arguments.
	Args []string `json:"args"`
	// Resources are the container requests and limits, each checked to fit
	// one node of the app's pool.
	Resources ResourcesConfig `json:"resources"`
	// Autoscaling adds a HorizontalPodAutoscaler on CPU.
	Autoscaling *AutoscalingConfig `json:"autoscaling"`
	// MaxUnavailable, when set, adds a PodDisruptionBudget; must be >= 1 so
	// drains (and scale-down) can always proceed; never on GPU apps (a
	// budget there pins a GPU node up). Default: 1 for web apps with 2 or
	// more replicas, else none.
	MaxUnavailable *int `json:"maxUnavailable"`
	// GCPServiceAccount is a Google service account the app acts as through
	// Workload Identity (the binding annotation), if set.
	GCPServiceAccount string `json:"gcpServiceAccount"`
	// ReadyTimeoutSeconds is how long `pulumi up` waits for the app's pods
	// to be Ready before it fails; 0 means it does not wait: on GKE a GPU
	// node comes from zero (autoscaler, boot, driver install) in several
	// minutes, and an update must not fail for it. Default: 600; 0 for GPU
	// apps.
	ReadyTimeoutSeconds *int `json:"readyTimeoutSeconds"`
	// Queue makes the app queue-driven: KEDA scales it from the backlog of
	// its queue, from zero and back to zero. Such an app sets no port,
	// replicas or autoscaling.
	Queue *QueueConfig `json:"queue"`
	// Publishes names the queues (of queue-driven apps) this app enqueues
	// to: it gets QUEUE_TOPIC in its environment and, on GKE,
	// roles/pubsub.publisher on that topic only.
	Publishes []string `json:"publishes"`
	// ConnectsTo names the apps this app calls; the network policy lets
	// exactly these connections through (default deny otherwise).
	ConnectsTo []string `json:"connectsTo"`
	// TerminationGracePeriodSeconds is how long a pod has between SIGTERM
	// and SIGKILL: a queue worker finishes the job in hand within it, or
	// hands the message back (less 2 s). On a Spot pool 15 is what GKE gives
	// pods when it reclaims a Spot VM. Default: 15 on a Spot pool, else 30.
	TerminationGracePeriodSeconds *int `json:"terminationGracePeriodSeconds"`
	// AlwaysOn lets a GPU app keep pods running with no queue behind them,
	// which keeps a GPU node (and its bill) up around the clock. The policy
	// pack refuses such an app unless this says it is meant.
	AlwaysOn bool `json:"alwaysOn"`
}

// QueueConfig is an app's `queue` block.
type QueueConfig struct {
	// Name of the queue: the Pub/Sub topic and subscription <cluster>-<name>
	// on GKE, the Redis stream on the local platform. Default: the app's name.
	Name string `json:"name"`
	// Mode is worker (a Deployment KEDA scales: a ScaledObject) or job (one
	// Job per message: a ScaledJob, rolled out gradually); the container
	// gets it as QUEUE_MODE.
	Mode string `json:"mode"`
	// MinReplicas is the floor; 0 (the default) lets the GPU pool reach zero.
	MinReplicas int `json:"minReplicas"`
	// MaxReplicas is the ceiling; maxReplicas x gpu must fit gpuPool.maxNodes
	// x acceleratorCount.
	MaxReplicas int `json:"maxReplicas"`
	// TargetBacklog is the messages per replica KEDA aims for.
	TargetBacklog int `json:"targetBacklog"`
	// CooldownSeconds is how long the queue must stay empty before the
	// workers go back to zero.
	CooldownSeconds int `json:"cooldownSeconds"`
	// PollingSeconds is how often KEDA reads the backlog.
	PollingSeconds int `json:"pollingSeconds"`
	// MaxDeliveryAttempts is how often a job is delivered before it goes to
	// the dead letters (Pub/Sub's dead-letter topic; <queue>:dead on Redis)
	// instead of keeping a GPU worker busy with it; 5 to 100 (Pub/Sub's
	// bounds).
	MaxDeliveryAttempts int `json:"maxDeliveryAttempts"`
	// MaxJobSeconds is the longest one job may run: the worker keeps the
	// message leased that long, so a long job is delivered once.
	MaxJobSeconds int `json:"maxJobSeconds"`
	// LeaseSeconds bounds how long a job whose worker died (SIGKILL, an OOM
	// kill, a lost node) waits before it is delivered again: the worker
	// renews the lease while it works, up to maxJobSeconds. The Pub/Sub
	// subscription's ack deadline and the client's longest extension on
	// GKE, a Redis Streams pending entry's idle time locally. 10 to 600
	// (Pub/Sub's ack deadline bounds), at most maxJobSeconds.
	LeaseSeconds int `json:"leaseSeconds"`
	// LeaseRenewSeconds is how often the local worker renews its lease: at
	// most half of leaseSeconds, so one missed renewal (Redis restarting)
	// keeps it. On GKE the Pub/Sub client renews on its own schedule.
	LeaseRenewSeconds int `json:"leaseRenewSeconds"`
	// Results are where the queue's jobs are recorded: their state and
	// result, for GET /api/jobs/{id}.
	Results ResultsConfig `json:"results"`
	// Warm are time windows in which workers (and so GPU nodes) are kept
	// ready with or without work: KEDA cron triggers beside the queue's.
	// Worker mode only. Priced in the estimate as idle GPU node-hours.
	Warm []WarmWindowConfig `json:"warm"`
}

// ResultsConfig is an app's `queue.results` block: on GKE a Cloud Storage
// bucket per queue (<project>-<cluster>-<queue>, in the cluster's region,
// uniform access, public access prevented) holding jobs/<id>.json and
// what each job produced under jobs/<id>/; locally a bucket <queue>-jobs
// on the platform's GCS-compatible server.
type ResultsConfig struct {
	// KeepDays is how long a job's record and result are kept: a lifecycle
	// rule deletes objects older than that; 1 to 3650.
	KeepDays int `json:"keepDays"`
}

// WarmWindowConfig is one entry of an app's `queue.warm` list.
type WarmWindowConfig struct {
	// Start is a 5-field cron expression, as KEDA's cron scaler reads it:
	// the window opens at each start, e.g. "0 8 * * 1-5". Default: none,
	// required.
	Start string `json:"start"`
	// End is a 5-field cron expression: the window closes at the next end
	// after start, e.g. "0 18 * * 1-5". Default: none, required.
	End string `json:"end"`
	// Timezone is an IANA zone name.
	Timezone string `json:"timezone"`
	// Replicas are the workers held in the window.
	Replicas int `json:"replicas"`
}

// window is the schedule KEDA's cron scaler reads from this entry.
func (w WarmWindowConfig) window() schedule.Window {
	return schedule.Window{Start: w.Start, End: w.End, Timezone: w.Timezone}
}

// minReplicas is the fewest pods the app runs while it runs at all.
func (a AppConfig) minReplicas() int {
	if a.Autoscaling != nil {
		return a.Autoscaling.MinReplicas
	}
	return a.ReplicaCount()
}

// UsesQueue reports whether the app consumes a queue or publishes to one.
func (a AppConfig) UsesQueue() bool {
	return a.Queue != nil || len(a.Publishes) > 0
}

// ReadyTimeout is how long `pulumi up` waits for the app's pods, in seconds; 0: it does not wait.
func (a AppConfig) ReadyTimeout() int {
	if a.ReadyTimeoutSeconds == nil {
		return 600
	}
	return *a.ReadyTimeoutSeconds
}

// ResourcesConfig holds Kubernetes quantities for one container. Every
// container gets requests (what the scheduler and autoscaler size nodes by)
// and limits (so one app cannot starve the small CPU pool).
type ResourcesConfig struct {
	// CPURequest is what the scheduler and autoscaler size nodes by, e.g. "100m".
	CPURequest string `json:"cpuRequest"`
	// MemoryRequest, e.g. "128Mi"; at most memoryLimit.
	MemoryRequest string `json:"memoryRequest"`
	// CPULimit, so one app cannot starve the small CPU pool, e.g. "500m".
	CPULimit string `json:"cpuLimit"`
	// MemoryLimit, e.g. "256Mi".
	MemoryLimit string `json:"memoryLimit"`
	// EphemeralStorageRequest is the node disk the pod is scheduled for (logs, /tmp).
	EphemeralStorageRequest string `json:"ephemeralStorageRequest"`
	// EphemeralStorageLimit evicts this pod, not its neighbours, when it fills the disk.
	EphemeralStorageLimit string `json:"ephemeralStorageLimit"`
}

// AutoscalingConfig is an app's `autoscaling` block.
type AutoscalingConfig struct {
	// MinReplicas is the HPA's lower bound (>= 1). Default: none, required.
	MinReplicas int `json:"minReplicas"`
	// MaxReplicas is the HPA's upper bound. Default: none, required.
	MaxReplicas int `json:"maxReplicas"`
	// CPUUtilization is the target average CPU use in percent of the request.
	CPUUtilization int `json:"cpuUtilization"`
}

// IngressConfig is the `ingress` key.
type IngressConfig struct {
	// Host is the default host of every route; empty matches any host.
	Host string `json:"host"`
	// ClassName is the ingressClassName off GKE (e.g. nginx).
	ClassName string `json:"className"`
	// StaticIP reserves a global static IP for the GKE Ingress.
	StaticIP bool `json:"staticIp"`
	// StaticIPName names that global address, unique in the project (prod
	// keeps ingress-ip, the name it was created with).
	StaticIPName string `json:"staticIpName"`
	// ControllerNamespace is the in-cluster ingress controller's namespace
	// off GKE; the network policy lets traffic from it reach routed apps (on
	// GKE: the load balancer and health-check ranges 35.191.0.0/16 and
	// 130.211.0.0/22).
	ControllerNamespace string `json:"controllerNamespace"`
	// TLS adds a Google-managed certificate for host and redirects HTTP to
	// HTTPS (GKE).
	TLS bool `json:"tls"`
}

// CostConfig is the `cost` key.
type CostConfig struct {
	// FreeTier says this stack's zonal cluster gets the billing account's
	// free-tier credit. Only one cluster per billing account does: set it
	// false on every other stack that shares the account (prod and pr do).
	FreeTier bool `json:"freeTier"`
	// GPUBusyHoursPerMonth is the expected node-hours of GPU work per month
	// (or bursts, not both).
	GPUBusyHoursPerMonth float64 `json:"gpuBusyHoursPerMonth"`
	// RegistryStorageGb is the expected image storage in GB.
	RegistryStorageGb float64 `json:"registryStorageGb"`
	// Bursts describes the GPU work as bursts from zero GPU nodes; when set
	// the estimate prices each burst's billed node time (node start, work,
	// cooldown, scale-down) instead of gpuBusyHoursPerMonth. dev, prod and
	// pr set it.
	Bursts *BurstsConfig `json:"bursts"`
	// NATGbPerMonth is the expected traffic through Cloud NAT (private
	// nodes only; $0.045/GB): images from registries outside Google, calls
	// to outside APIs.
	NATGbPerMonth float64 `json:"natGbPerMonth"`
	// JobsPerMonth is the expected jobs per month across the stack's
	// queues, for the job records' Cloud Storage operations (4 writes and
	// 2 reads by the apps, 3 status reads by callers, per job).
	JobsPerMonth float64 `json:"jobsPerMonth"`
	// FallbackShare is the chance that a GPU option cannot supply a node
	// when the autoscaler asks (a stockout), so the next option serves:
	// the estimate gives option k of n (1-s)·s^k of the GPU work and the
	// last s^(n-1). 0 to 1; a guess to revise from experience. Used when
	// gpuPool.fallbacks is set.
	FallbackShare float64 `json:"fallbackShare"`
	// MonthlyBudget is refused: the budget lives in the policy config
	// (policy/config/<stack>.json), out of a pull request's stack file. Kept
	// only to say so when a stack file still sets it.
	MonthlyBudget float64 `json:"monthlyBudget"`
}

// BudgetConfig is the `budget` key. On GKE: a Cloud Billing budget on the
// billing account, filtered to the stack's project, per calendar month,
// with threshold emails to the billing account's admins and every update
// published to the topic <cluster>-budget several times a day
// (https://cloud.google.com/billing/docs/how-to/budgets-programmatic-notifications).
// On both platforms: the spend guard (apps/spend-guard, in the namespace
// spend-guard) reading those updates (locally the Redis stream budget, in
// the same JSON) and pausing every GPU app's KEDA scaler.
type BudgetConfig struct {
	// Amount is the budget for each calendar month, in currency. Default:
	// none, required.
	Amount float64 `json:"amount"`
	// Currency is the billing account's currency (ISO 4217). Default: USD.
	Currency string `json:"currency"`
	// Thresholds are the shares of the amount, of actual spend, at which
	// the billing account's admins get an email. Default: [0.5, 0.9, 1].
	Thresholds []float64 `json:"thresholds"`
	// CapPercent is the share of the amount, in percent (1 to 1000), of a
	// period's actual spend at which the spend guard pauses GPU scaling.
	// Default: 100.
	CapPercent int `json:"capPercent"`
	// BillingAccount is the billing account's ID (XXXXXX-XXXXXX-XXXXXX);
	// creating the budget needs Billing Account Costs Manager on it.
	// Default: none, required on GKE.
	BillingAccount string `json:"billingAccount"`
}

// AlertsConfig is the `alerts` key: Cloud Monitoring alert policies on
// the queues' Pub/Sub metrics, the GPU nodes' uptime and the spend guard's
// Events, each emailed to every address.
// https://cloud.google.com/monitoring/alerts
type AlertsConfig struct {
	// Emails get every alert (an email notification channel each).
	// Default: none, required.
	Emails []string `json:"emails"`
	// OldestJobMinutes alerts when a queue's oldest job has waited longer
	// (stuck, paused, or no GPU to be had), 1 to 1440. Default: 30.
	OldestJobMinutes int `json:"oldestJobMinutes"`
	// GPUNodeHours alerts when a GPU node has been up longer, 1 to 720.
	// Default: 6.
	GPUNodeHours int `json:"gpuNodeHours"`
}

// BurstsConfig is the `cost.bursts` block.
type BurstsConfig struct {
	// PerDay is how many times a day work arrives at an empty GPU pool.
	PerDay float64 `json:"perDay"`
	// WorkMinutes is how long one burst's work runs on its GPU node.
	WorkMinutes float64 `json:"workMinutes"`
}

// LocalConfig is the `local` key.
type LocalConfig struct {
	// Kubeconfig is the local platform's cluster, a path; empty uses
	// $KUBECONFIG or ~/.kube/config. `make local` sets it.
	Kubeconfig string `json:"kubeconfig"`
	// Context is the kubeconfig context; empty uses the current one.
	Context string `json:"context"`
	// RedisAddress is the local queue (host:port) as KEDA and the pods reach
	// it, e.g. 127.0.0.1:6379; required on the local platform when an app
	// uses a queue. `make local` starts a Redis and sets it.
	RedisAddress string `json:"redisAddress"`
	// StorageAddress is the local platform's GCS-compatible server
	// (fake-gcs-server, host:port) that keeps the queues' job records, as
	// the pods reach it; the apps get it as STORAGE_EMULATOR_HOST. Empty:
	// no job records locally. `make local` starts one and sets it.
	StorageAddress string `json:"storageAddress"`
	// Images maps an app's name to its own image, built from the app's
	// directory (package loopback/images) and imported into real nodes:
	// `make local NODES=real` and the e2e set it to digest references
	// (gke-gpu-platform.local/<app>@sha256:...). A named app runs that
	// image instead of its apps[].image, without the stack file's command
	// and args, which belong to the prebuilt image.
	Images map[string]string `json:"images"`
}

// useLocalImages gives each app that local.images names that image.
func (c *Config) useLocalImages() {
	if c.Platform != PlatformLocal {
		return
	}
	for i := range c.Apps {
		if ref := c.Local.Images[c.Apps[i].Name]; ref != "" {
			c.Apps[i].Image, c.Apps[i].Command, c.Apps[i].Args = ref, nil, nil
		}
	}
}

// Region is the zone's region (us-central1 for us-central1-a).
func (c Config) Region() string {
	return accelerator.Region(c.Zone)
}

// NodeSubnetwork is the subnetwork the nodes take their addresses from:
// cluster.subnetwork, or the subnet named like the network, which is what GKE
// picks in an auto-mode network when none is given.
func (c Config) NodeSubnetwork() string {
	if c.Cluster.Subnetwork != "" {
		return c.Cluster.Subnetwork
	}
	return c.Cluster.Network
}

// ClusterLocation is where the control plane lives: the zone, unless the stack opted into regional.
func (c Config) ClusterLocation() string {
	if c.Cluster.Regional {
		return c.Region()
	}
	return c.Zone
}

// RouteHost is the host an app's Ingress path answers on: its own, or the
// Ingress's default.
func (c Config) RouteHost(a AppConfig) string {
	if a.Host != "" {
		return a.Host
	}
	return c.Ingress.Host
}

// ReplicaCount is the app's desired replica count, 1 when unset.
func (a AppConfig) ReplicaCount() int {
	if a.Replicas == nil {
		return 1
	}
	return *a.Replicas
}

// UsesQueues reports whether any app consumes or publishes to a queue: the
// stack then runs KEDA and a queue backend.
func (c Config) UsesQueues() bool {
	for _, a := range c.Apps {
		if a.UsesQueue() {
			return true
		}
	}
	return false
}
