package stacks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/accelerator"
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
	// Platform is "gke" or "local". Key: platform.
	Platform string `json:"-"`
	// Project is the Google Cloud project ID. Key: gcp:project.
	Project string `json:"-"`
	// Zone is the single zone of the cluster and its pools. Key: gcp:zone.
	Zone string `json:"-"`
	// Namespace is the Kubernetes namespace the apps live in. Key: namespace.
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
	// Local says how to reach the cluster of the local platform. Key: local.
	Local LocalConfig `json:"-"`
}

// ClusterConfig is the `cluster` key.
type ClusterConfig struct {
	// Name of the GKE cluster; also the prefix of the node service account.
	Name string `json:"name"`
	// ReleaseChannel is RAPID, REGULAR, STABLE or EXTENDED.
	ReleaseChannel string `json:"releaseChannel"`
	// DeletionProtection makes GKE refuse to delete the cluster.
	DeletionProtection bool `json:"deletionProtection"`
	// Protect sets Pulumi's protect option on the cluster: `pulumi destroy` stops.
	Protect bool `json:"protect"`
	// MaintenanceStart is the daily maintenance window start, "HH:MM" UTC.
	MaintenanceStart string `json:"maintenanceStart"`
	// Network is the VPC network name.
	Network string `json:"network"`
	// Subnetwork is the subnetwork name; empty means the network's default.
	Subnetwork string `json:"subnetwork"`
	// Regional puts the control plane in the zone's region. It is never free
	// (~$73/month): opting in is explicit, and the policy pack flags it.
	Regional bool `json:"regional"`
}

// CPUPoolConfig is the `cpuPool` key.
type CPUPoolConfig struct {
	// MachineType of every node, e.g. n1-standard-1.
	MachineType string `json:"machineType"`
	// DiskType is pd-standard, pd-balanced or pd-ssd.
	DiskType string `json:"diskType"`
	// DiskSizeGb is the boot disk size per node.
	DiskSizeGb int `json:"diskSizeGb"`
	// MinNodes is the autoscaler's lower bound.
	MinNodes int `json:"minNodes"`
	// MaxNodes is the autoscaler's upper bound.
	MaxNodes int `json:"maxNodes"`
	// Spot runs the pool on Spot VMs.
	Spot bool `json:"spot"`
}

// GPUPoolConfig is the `gpuPool` key.
type GPUPoolConfig struct {
	// Enabled creates the pool (on local: says the cluster has GPU nodes).
	Enabled bool `json:"enabled"`
	// MachineType must belong to the accelerator's family (T4 -> n1-*, L4 -> g2-*).
	MachineType string `json:"machineType"`
	// AcceleratorType is the Compute Engine GPU type, e.g. nvidia-tesla-t4.
	AcceleratorType string `json:"acceleratorType"`
	// AcceleratorCount is the GPUs per node.
	AcceleratorCount int `json:"acceleratorCount"`
	// DriverVersion is DEFAULT, LATEST or INSTALLATION_DISABLED.
	DriverVersion string `json:"driverVersion"`
	// DiskType is pd-standard, pd-balanced or pd-ssd.
	DiskType string `json:"diskType"`
	// DiskSizeGb is the boot disk size per node.
	DiskSizeGb int `json:"diskSizeGb"`
	// MinNodes is the autoscaler's lower bound; 0 is what makes idle free.
	MinNodes int `json:"minNodes"`
	// MaxNodes is the autoscaler's upper bound.
	MaxNodes int `json:"maxNodes"`
	// Spot runs GPU nodes on Spot VMs (60-91% cheaper, preemptible).
	Spot bool `json:"spot"`
	// LocationPolicy is ANY (best for scarce GPUs and Spot) or BALANCED.
	LocationPolicy string `json:"locationPolicy"`
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
	// Name of the app: Deployment, Service and ServiceAccount name.
	Name string `json:"name"`
	// Image is a prebuilt image reference. Exactly one of image and build.
	Image string `json:"image"`
	// Build is a Docker build context relative to the project root, built and
	// pushed to the stack's registry.
	Build string `json:"build"`
	// Dockerfile is relative to the build context; default Dockerfile.
	Dockerfile string `json:"dockerfile"`
	// Port the container serves HTTP on; 0 for workers with no Service.
	Port int `json:"port"`
	// Replicas is the desired pod count (the HPA's start when autoscaling).
	Replicas *int `json:"replicas"`
	// GPU is the nvidia.com/gpu count per pod; > 0 puts the pod on the GPU pool.
	GPU int `json:"gpu"`
	// Path routes this prefix on the Ingress to the app; empty for none.
	Path string `json:"path"`
	// Host overrides the Ingress host for this app's path.
	Host string `json:"host"`
	// HealthPath is the HTTP path of readiness and liveness probes.
	HealthPath string `json:"healthPath"`
	// Env is the container environment.
	Env map[string]string `json:"env"`
	// Command overrides the image entrypoint.
	Command []string `json:"command"`
	// Args overrides the image arguments.
	Args []string `json:"args"`
	// Resources are the container requests and limits.
	Resources ResourcesConfig `json:"resources"`
	// Autoscaling adds a HorizontalPodAutoscaler on CPU.
	Autoscaling *AutoscalingConfig `json:"autoscaling"`
	// MaxUnavailable, when set, adds a PodDisruptionBudget; must be >= 1 so
	// drains (and scale-down) can always proceed.
	MaxUnavailable *int `json:"maxUnavailable"`
	// GCPServiceAccount is bound through Workload Identity, if set.
	GCPServiceAccount string `json:"gcpServiceAccount"`
}

// ResourcesConfig holds Kubernetes quantities for one container. Every
// container gets requests (what the scheduler and autoscaler size nodes by)
// and limits (so one app cannot starve the small CPU pool).
type ResourcesConfig struct {
	// CPURequest, e.g. "100m".
	CPURequest string `json:"cpuRequest"`
	// MemoryRequest, e.g. "128Mi".
	MemoryRequest string `json:"memoryRequest"`
	// CPULimit, e.g. "500m".
	CPULimit string `json:"cpuLimit"`
	// MemoryLimit, e.g. "256Mi".
	MemoryLimit string `json:"memoryLimit"`
}

// AutoscalingConfig is an app's `autoscaling` block.
type AutoscalingConfig struct {
	// MinReplicas is the HPA's lower bound (>= 1).
	MinReplicas int `json:"minReplicas"`
	// MaxReplicas is the HPA's upper bound.
	MaxReplicas int `json:"maxReplicas"`
	// CPUUtilization is the target average CPU use in percent of the request; default 70.
	CPUUtilization int `json:"cpuUtilization"`
}

// IngressConfig is the `ingress` key.
type IngressConfig struct {
	// Host is the default host of every route; empty matches any host.
	Host string `json:"host"`
	// ClassName is the ingressClassName on non-GKE clusters (e.g. nginx).
	ClassName string `json:"className"`
	// StaticIP reserves a global static IP for the GKE Ingress.
	StaticIP bool `json:"staticIp"`
	// TLS adds a Google-managed certificate for Host and redirects HTTP to HTTPS.
	TLS bool `json:"tls"`
}

// CostConfig is the `cost` key.
type CostConfig struct {
	// FreeTier says this stack's zonal cluster gets the billing account's
	// free-tier credit. Only one cluster per billing account does: set it
	// false on every other stack that shares the account.
	FreeTier bool `json:"freeTier"`
	// GPUBusyHoursPerMonth is the expected node-hours of GPU work per month.
	GPUBusyHoursPerMonth float64 `json:"gpuBusyHoursPerMonth"`
	// RegistryStorageGb is the expected image storage.
	RegistryStorageGb float64 `json:"registryStorageGb"`
	// MonthlyBudget in USD; 0 means no budget. The policy pack enforces it.
	MonthlyBudget float64 `json:"monthlyBudget"`
}

// LocalConfig is the `local` key.
type LocalConfig struct {
	// Kubeconfig is a path; empty uses $KUBECONFIG or ~/.kube/config.
	Kubeconfig string `json:"kubeconfig"`
	// Context is the kubeconfig context; empty uses the current one.
	Context string `json:"context"`
}

// Region is the zone's region (us-central1 for us-central1-a).
func (c Config) Region() string {
	if i := strings.LastIndex(c.Zone, "-"); i > 0 {
		return c.Zone[:i]
	}
	return c.Zone
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

// objectKeys are the project-namespace keys holding JSON objects or lists,
// each decoded strictly into its field.
func (c *Config) objectKeys() map[string]any {
	return map[string]any{
		"cluster":  &c.Cluster,
		"cpuPool":  &c.CPUPool,
		"gpuPool":  &c.GPUPool,
		"registry": &c.Registry,
		"apps":     &c.Apps,
		"ingress":  &c.Ingress,
		"cost":     &c.Cost,
		"local":    &c.Local,
	}
}

// scalarKeys are the project-namespace keys holding plain strings.
func (c *Config) scalarKeys() map[string]*string {
	return map[string]*string{
		"platform":  &c.Platform,
		"namespace": &c.Namespace,
	}
}

// KnownKeys lists every key of the project namespace, sorted.
func KnownKeys() []string {
	var c Config
	keys := slices.Collect(maps.Keys(c.objectKeys()))
	keys = append(keys, slices.Collect(maps.Keys(c.scalarKeys()))...)
	slices.Sort(keys)
	return keys
}

// Defaults is the one place defaults live. Stack files override field by
// field: a key present in Pulumi.<stack>.yaml replaces only what it names.
func Defaults(stack string) Config {
	return Config{
		Stack:     stack,
		Platform:  PlatformGKE,
		Namespace: stack,
		Cluster: ClusterConfig{
			Name:             "platform",
			ReleaseChannel:   "REGULAR",
			MaintenanceStart: "03:00",
			Network:          "default",
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
		},
		Registry: RegistryConfig{Name: "apps", KeepVersions: 10},
		Cost:     CostConfig{FreeTier: true, RegistryStorageGb: 1},
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
	} {
		if *d.field == "" {
			*d.field = d.value
		}
	}
	if as := a.Autoscaling; as != nil && as.CPUUtilization == 0 {
		as.CPUUtilization = 70
	}
}

// configSource is where config values come from: the engine's context, or a
// stack file read without the engine.
type configSource interface {
	GetConfig(key string) (string, bool)
}

// LoadConfig reads, defaults and validates the stack's config. It registers
// nothing; on error the program stops before any resource exists.
func LoadConfig(ctx *pulumi.Context) (Config, error) {
	return loadConfig(ctx, ctx.Stack(), stackConfigKeys())
}

// stackConfigKeys returns every config key of the stack when the language
// host passed them in PULUMI_CONFIG (the CLI, Deployments and CI do); nil
// otherwise (inline Automation API programs), where the check is skipped.
func stackConfigKeys() []string {
	raw := os.Getenv("PULUMI_CONFIG")
	if raw == "" {
		return nil
	}
	var all map[string]string
	if err := json.Unmarshal([]byte(raw), &all); err != nil {
		return nil
	}
	return slices.Collect(maps.Keys(all))
}

func loadConfig(src configSource, stack string, setKeys []string) (Config, error) {
	cfg := Defaults(stack)
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}

	known := map[string]bool{}
	for _, k := range KnownKeys() {
		known[k] = true
	}
	for _, full := range setKeys {
		ns, key, ok := strings.Cut(full, ":")
		if !ok || ns != ConfigNamespace {
			continue
		}
		// The engine passes object keys' paths as the whole object, so a
		// dotted sub-key never appears here.
		if !known[key] {
			fail("%s:%s: unknown config key; known keys are %s", ConfigNamespace, key, strings.Join(KnownKeys(), ", "))
		}
	}

	for key, field := range cfg.scalarKeys() {
		// Empty is Pulumi.yaml's declared default: keep the program's.
		if v, ok := src.GetConfig(ConfigNamespace + ":" + key); ok && v != "" {
			*field = v
		}
	}
	for key, field := range cfg.objectKeys() {
		v, ok := src.GetConfig(ConfigNamespace + ":" + key)
		if !ok {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader([]byte(v)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(field); err != nil {
			fail("%s:%s: %s", ConfigNamespace, key, describeJSONError(err))
		}
	}
	if v, ok := src.GetConfig("gcp:project"); ok {
		cfg.Project = v
	}
	if v, ok := src.GetConfig("gcp:zone"); ok {
		cfg.Zone = v
	}
	for i := range cfg.Apps {
		appDefaults(&cfg.Apps[i])
	}

	if len(errs) == 0 {
		errs = cfg.validate()
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("invalid stack config for %q:\n%w", stack, errors.Join(errs...))
	}
	return cfg, nil
}

func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Sprintf("field %q must be a %s, got %s", typeErr.Field, typeErr.Type, typeErr.Value)
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if strings.HasPrefix(msg, "unknown field") {
		return msg + " (misspelt? see README's config table)"
	}
	return msg
}

var (
	zonePattern        = regexp.MustCompile(`^[a-z]+-[a-z]+[0-9]+-[a-z]$`)
	regionPattern      = regexp.MustCompile(`^[a-z]+-[a-z]+[0-9]+$`)
	projectPattern     = regexp.MustCompile(`^[a-z][-a-z0-9]{4,28}[a-z0-9]$`)
	clusterNamePattern = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,22}[a-z0-9])?$`)
	dnsLabelPattern    = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$`)
	namespacePattern   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	quantityPattern    = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$`)
	hhmmPattern        = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	hostPattern        = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$`)
	repoIDPattern      = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)
)

var (
	releaseChannels = []string{"RAPID", "REGULAR", "STABLE", "EXTENDED"}
	diskTypes       = []string{"pd-standard", "pd-balanced", "pd-ssd"}
	driverVersions  = []string{"DEFAULT", "LATEST", "INSTALLATION_DISABLED"}
	locationPolicys = []string{"ANY", "BALANCED"}
	platforms       = []string{PlatformGKE, PlatformLocal}
)

func oneOf(v string, allowed []string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

// validate checks every rule and returns all violations, each naming the
// key, the bad value and what is allowed.
func (c Config) validate() []error {
	var errs []error
	fail := func(key string, value any, rule string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%s = %v: %s", ConfigNamespace, key, value, fmt.Sprintf(rule, args...)))
	}
	failGCP := func(key string, value any, rule string, args ...any) {
		errs = append(errs, fmt.Errorf("gcp:%s = %q: %s", key, value, fmt.Sprintf(rule, args...)))
	}

	if !oneOf(c.Platform, platforms) {
		fail("platform", c.Platform, "must be one of %s", strings.Join(platforms, ", "))
		return errs
	}
	if !namespacePattern.MatchString(c.Namespace) {
		fail("namespace", c.Namespace, "must be a Kubernetes namespace name (lowercase letters, digits, '-', at most 63)")
	}

	gke := c.Platform == PlatformGKE
	if gke {
		switch {
		case c.Project == "":
			failGCP("project", c.Project, "must be set: `pulumi config set gcp:project <project-id>`")
		case !projectPattern.MatchString(c.Project):
			failGCP("project", c.Project, "is not a project ID (6-30 lowercase letters, digits or '-', starting with a letter)")
		}
		switch {
		case c.Zone == "":
			failGCP("zone", c.Zone, "must be set to a zone such as us-central1-a: the free tier covers one zonal cluster")
		case regionPattern.MatchString(c.Zone):
			failGCP("zone", c.Zone, "is a region; a zone is needed (e.g. %s-a): the free tier covers one zonal cluster only", c.Zone)
		case !zonePattern.MatchString(c.Zone):
			failGCP("zone", c.Zone, "is not a zone name such as us-central1-a")
		}
		c.validateCluster(fail)
		c.validateCPUPool(fail)
		if c.Registry.KeepVersions < 1 {
			fail("registry.keepVersions", c.Registry.KeepVersions, "must be >= 1 (older versions are deleted; storage is billed)")
		}
		if !repoIDPattern.MatchString(c.Registry.Name) {
			fail("registry.name", c.Registry.Name, "must be a repository ID: lowercase letters, digits and '-', starting with a letter")
		}
	}
	if c.GPUPool.Enabled {
		c.validateGPUPool(fail, gke)
	}
	c.validateApps(fail)
	c.validateIngress(fail)
	if c.Cost.GPUBusyHoursPerMonth < 0 || c.Cost.GPUBusyHoursPerMonth > 744 {
		fail("cost.gpuBusyHoursPerMonth", c.Cost.GPUBusyHoursPerMonth, "must be between 0 and 744 (hours in a month)")
	}
	if c.Cost.RegistryStorageGb < 0 {
		fail("cost.registryStorageGb", c.Cost.RegistryStorageGb, "must be >= 0")
	}
	if c.Cost.MonthlyBudget < 0 {
		fail("cost.monthlyBudget", c.Cost.MonthlyBudget, "must be >= 0 (0 means no budget)")
	}
	return errs
}

type failFunc func(key string, value any, rule string, args ...any)

func (c Config) validateCluster(fail failFunc) {
	cl := c.Cluster
	if !clusterNamePattern.MatchString(cl.Name) {
		fail("cluster.name", cl.Name, "must be 1-24 lowercase letters, digits or '-', starting with a letter (the node service account adds '-nodes')")
	}
	if !oneOf(cl.ReleaseChannel, releaseChannels) {
		fail("cluster.releaseChannel", cl.ReleaseChannel, "must be one of %s", strings.Join(releaseChannels, ", "))
	}
	if !hhmmPattern.MatchString(cl.MaintenanceStart) {
		fail("cluster.maintenanceStart", cl.MaintenanceStart, "must be HH:MM in UTC, e.g. 03:00")
	}
	if cl.Network == "" {
		fail("cluster.network", `""`, "must name a VPC network (default: default)")
	}
}

func validatePoolBounds(fail failFunc, key string, min, max int) {
	if min < 0 {
		fail(key+".minNodes", min, "must be >= 0")
	}
	if max < 1 {
		fail(key+".maxNodes", max, "must be >= 1")
	}
	if max < min {
		fail(key+".maxNodes", max, "must be >= minNodes (%d)", min)
	}
}

func validateDisk(fail failFunc, key, diskType string, sizeGb int) {
	if !oneOf(diskType, diskTypes) {
		fail(key+".diskType", diskType, "must be one of %s", strings.Join(diskTypes, ", "))
	}
	if sizeGb < 10 {
		fail(key+".diskSizeGb", sizeGb, "must be >= 10 (GKE's minimum boot disk)")
	}
}

func (c Config) validateCPUPool(fail failFunc) {
	p := c.CPUPool
	if p.MachineType == "" || accelerator.Family(p.MachineType) == p.MachineType {
		fail("cpuPool.machineType", p.MachineType, "must be a machine type such as n1-standard-1 or e2-medium")
	}
	validateDisk(fail, "cpuPool", p.DiskType, p.DiskSizeGb)
	validatePoolBounds(fail, "cpuPool", p.MinNodes, p.MaxNodes)
	if p.MinNodes < 1 {
		// A cluster cannot scale to zero: system pods need a node.
		fail("cpuPool.minNodes", p.MinNodes, "must be >= 1: kube-system pods need a node, only the GPU pool scales to 0")
	}
}

func (c Config) validateGPUPool(fail failFunc, gke bool) {
	p := c.GPUPool
	validatePoolBounds(fail, "gpuPool", p.MinNodes, p.MaxNodes)
	if !gke {
		return
	}
	acc, ok := accelerator.Lookup(p.AcceleratorType)
	if !ok {
		fail("gpuPool.acceleratorType", p.AcceleratorType, "unknown accelerator; known: %s", strings.Join(accelerator.Types(), ", "))
	} else if err := acc.CheckMachine(p.MachineType, p.AcceleratorCount); err != nil {
		fail("gpuPool", fmt.Sprintf("{machineType: %s, acceleratorCount: %d}", p.MachineType, p.AcceleratorCount), "%v", err)
	}
	if p.AcceleratorCount < 1 {
		fail("gpuPool.acceleratorCount", p.AcceleratorCount, "must be >= 1")
	}
	if !oneOf(p.DriverVersion, driverVersions) {
		fail("gpuPool.driverVersion", p.DriverVersion, "must be one of %s", strings.Join(driverVersions, ", "))
	}
	if !oneOf(p.LocationPolicy, locationPolicys) {
		fail("gpuPool.locationPolicy", p.LocationPolicy, "must be one of %s", strings.Join(locationPolicys, ", "))
	}
	validateDisk(fail, "gpuPool", p.DiskType, p.DiskSizeGb)
}

func (c Config) validateApps(fail failFunc) {
	names := map[string]int{}
	routes := map[string]string{}
	for i, a := range c.Apps {
		key := fmt.Sprintf("apps[%d]", i)
		if !dnsLabelPattern.MatchString(a.Name) {
			fail(key+".name", fmt.Sprintf("%q", a.Name), "must be 1-40 lowercase letters, digits or '-', starting with a letter")
		} else if j, dup := names[a.Name]; dup {
			fail(key+".name", a.Name, "duplicates apps[%d].name; app names must be unique", j)
		}
		names[a.Name] = i
		switch {
		case a.Image == "" && a.Build == "":
			fail(key, a.Name, "needs image (a reference) or build (a context directory)")
		case a.Image != "" && a.Build != "":
			fail(key, a.Name, "has both image and build; give exactly one")
		case a.Build != "" && c.Platform == PlatformLocal:
			fail(key+".build", a.Build, "the local platform has no registry to push to; give a prebuilt image instead")
		}
		if a.Port < 0 || a.Port > 65535 {
			fail(key+".port", a.Port, "must be 0 (no Service) or 1-65535")
		}
		if a.ReplicaCount() < 0 {
			fail(key+".replicas", a.ReplicaCount(), "must be >= 0")
		}
		if a.GPU < 0 {
			fail(key+".gpu", a.GPU, "must be >= 0")
		}
		if a.GPU > 0 && !c.GPUPool.Enabled {
			fail(key+".gpu", a.GPU, "needs a GPU pool, but gpuPool.enabled is false")
		}
		if a.GPU > 0 && c.GPUPool.Enabled && c.Platform == PlatformGKE && a.GPU > c.GPUPool.AcceleratorCount {
			fail(key+".gpu", a.GPU, "must be <= gpuPool.acceleratorCount (%d): no node has more", c.GPUPool.AcceleratorCount)
		}
		if a.Path != "" {
			if a.Port == 0 {
				fail(key+".path", a.Path, "needs a port to route to")
			}
			if !strings.HasPrefix(a.Path, "/") {
				fail(key+".path", a.Path, "must start with '/'")
			}
			host := c.RouteHost(a)
			route := host + a.Path
			if other, dup := routes[route]; dup {
				fail(key+".path", a.Path, "collides with app %q on host %q; each host+path routes to one app", other, host)
			}
			routes[route] = a.Name
		}
		if a.Host != "" && !hostPattern.MatchString(a.Host) {
			fail(key+".host", a.Host, "must be a DNS name such as app.example.com")
		}
		for field, q := range map[string]string{
			"cpuRequest": a.Resources.CPURequest, "memoryRequest": a.Resources.MemoryRequest,
			"cpuLimit": a.Resources.CPULimit, "memoryLimit": a.Resources.MemoryLimit,
		} {
			if !quantityPattern.MatchString(q) {
				fail(key+".resources."+field, q, "must be a Kubernetes quantity such as 250m, 1, 512Mi or 2Gi")
			}
		}
		if as := a.Autoscaling; as != nil {
			if as.MinReplicas < 1 {
				fail(key+".autoscaling.minReplicas", as.MinReplicas, "must be >= 1")
			}
			if as.MaxReplicas < as.MinReplicas {
				fail(key+".autoscaling.maxReplicas", as.MaxReplicas, "must be >= autoscaling.minReplicas (%d)", as.MinReplicas)
			}
			if as.CPUUtilization < 1 || as.CPUUtilization > 100 {
				fail(key+".autoscaling.cpuUtilization", as.CPUUtilization, "must be a percentage from 1 to 100")
			}
		}
		if mu := a.MaxUnavailable; mu != nil && *mu < 1 {
			// A budget that allows no disruption blocks node drains and keeps
			// the autoscaler from removing the node: a GPU node would never reach 0.
			fail(key+".maxUnavailable", *mu, "must be >= 1: a budget that allows no disruption pins nodes up")
		}
		if !strings.HasPrefix(a.HealthPath, "/") {
			fail(key+".healthPath", a.HealthPath, "must start with '/'")
		}
	}
}

func (c Config) validateIngress(fail failFunc) {
	in := c.Ingress
	if in.Host != "" && !hostPattern.MatchString(in.Host) {
		fail("ingress.host", in.Host, "must be a DNS name such as app.example.com")
	}
	if in.TLS && in.Host == "" {
		fail("ingress.tls", in.TLS, "needs ingress.host: a managed certificate is issued for a DNS name")
	}
	if c.Platform == PlatformLocal && (in.TLS || in.StaticIP) {
		fail("ingress", fmt.Sprintf("{staticIp: %v, tls: %v}", in.StaticIP, in.TLS), "static IPs and managed certificates exist only on GKE; set both false on the local platform")
	}
}
