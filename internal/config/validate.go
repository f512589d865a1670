package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/accelerator"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/cost"
)

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
	// The cluster autoscaler's profiles (GKE API ClusterAutoscaling.AutoscalingProfile).
	autoscalingProfiles = []string{cost.ProfileBalanced, cost.ProfileOptimizeUtilization}
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
		errs = append(errs, fmt.Errorf("%s:%s = %v: %s%s", ConfigNamespace, key, value, fmt.Sprintf(rule, args...), c.appNamed(key)))
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
			fail("registry.name", c.Registry.Name, "must be a repository ID: 1-63 lowercase letters, digits and '-', starting with a letter, not ending with '-'")
		}
	}
	if c.GPUPool.Enabled {
		c.validateGPUPool(fail, gke)
	}
	c.validateApps(fail)
	c.validateLocalImages(fail)
	c.validatePodFit(fail)
	c.validateIngress(fail)
	c.validateCost(fail)
	c.validateBudget(fail)
	c.validateAlerts(fail)
	for _, name := range c.secretsInClear {
		fail("secrets."+name, "(hidden)", "is stored in clear in the stack file; set it again with `pulumi config set --secret --path '%s:secrets.%s' <value>`",
			ConfigNamespace, name)
	}
	return errs
}

// secretNamePattern matches environment variable names that say they hold
// a secret.
var secretNamePattern = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)`)

// LooksSecret reports whether an environment variable's name says it holds
// a secret (a password, token, API key, private key or credential).
func LooksSecret(name string) bool { return secretNamePattern.MatchString(name) }

// envNamePattern is what Kubernetes accepts as an environment variable name
// that a shell can read too.
var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// setSecretCommand is how a person sets the stack's secret name: on the
// local stack `bin/local secret`, which keeps the value beside the stack's
// state (no Pulumi CLI, backend or passphrase to find, and nothing written
// into the tracked Pulumi.local.yaml); elsewhere the Pulumi CLI.
func (c Config) setSecretCommand(name string) string {
	if c.Platform == PlatformLocal {
		return fmt.Sprintf("`openssl rand -hex 32 | bin/local secret %s` (or echo the value it must have), then `make local`", name)
	}
	return fmt.Sprintf("`pulumi config set --secret --path '%s:secrets.%s' \"$(openssl rand -hex 32)\"` (or the value it must have)", ConfigNamespace, name)
}

// validateAppSecrets keeps secrets out of clear text: env entries whose
// names say they are secrets are refused, and every secretEnv entry names a
// secret the stack holds encrypted. Values are never part of a message.
func (c Config) validateAppSecrets(fail failFunc, key string, a AppConfig) {
	for _, name := range slices.Sorted(maps.Keys(a.Env)) {
		if LooksSecret(name) {
			fail(key+".env."+name, "(hidden)", "looks like a secret, and env is clear text in the stack file and the preview: "+
				"move it to %s.secretEnv.%s: <name>, with the value set by `pulumi config set --secret --path '%s:secrets.<name>' <value>`",
				key, name, ConfigNamespace)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(a.SecretEnv)) {
		secret := a.SecretEnv[name]
		switch _, inEnv := a.Env[name]; {
		case !envNamePattern.MatchString(name):
			fail(key+".secretEnv", name, "is not an environment variable name (letters, digits and '_', not starting with a digit)")
		case inEnv:
			fail(key+".secretEnv."+name, secret, "is set in env too; keep it in one place")
		}
		if _, ok := c.Secrets[secret]; !ok && c.deploy {
			fail(key+".secretEnv."+name, secret, "no such secret in %s:secrets; set it with %s",
				ConfigNamespace, c.setSecretCommand(secret))
		}
	}
}

// validateLocalImages: local.images names apps of this stack, each with a
// reference, and only on the local platform.
func (c Config) validateLocalImages(fail failFunc) {
	if len(c.Local.Images) > 0 && c.Platform != PlatformLocal {
		fail("local.images", fmt.Sprint(slices.Sorted(maps.Keys(c.Local.Images))), "only the local platform takes its apps' images from here; use apps[].build or apps[].image")
		return
	}
	var names []string
	for _, a := range c.Apps {
		names = append(names, a.Name)
	}
	for _, app := range slices.Sorted(maps.Keys(c.Local.Images)) {
		switch {
		case app == SpendGuardName:
			// The platform's own image, built beside the apps'.
		case !slices.Contains(names, app):
			fail("local.images."+app, c.Local.Images[app], "names no app of this stack (apps: %s; or %s, the platform's own)", strings.Join(names, ", "), SpendGuardName)
		case c.Local.Images[app] == "":
			fail("local.images."+app, `""`, "must be an image reference (name@sha256:<digest>, or name:tag)")
		}
	}
}

type failFunc func(key string, value any, rule string, args ...any)

// appIndex finds the app a key such as apps[3].port is about.
var appIndex = regexp.MustCompile(`^apps\[(\d+)\]`)

// appNamed is ` (in "<name>")` for a key under one app, so an error names
// the app, not only its position in the list (as decode errors do).
func (c Config) appNamed(key string) string {
	m := appIndex.FindStringSubmatch(key)
	if m == nil {
		return ""
	}
	i, err := strconv.Atoi(m[1])
	if err != nil || i >= len(c.Apps) || c.Apps[i].Name == "" {
		return ""
	}
	return fmt.Sprintf(" (in %q)", c.Apps[i].Name)
}

func (c Config) validateCluster(fail failFunc) {
	cl := c.Cluster
	if !clusterNamePattern.MatchString(cl.Name) {
		fail("cluster.name", cl.Name, "must be 1-24 lowercase letters, digits or '-', starting with a letter (the node service account adds '-nodes')")
	}
	if !oneOf(cl.ReleaseChannel, releaseChannels) {
		fail("cluster.releaseChannel", cl.ReleaseChannel, "must be one of %s", strings.Join(releaseChannels, ", "))
	}
	if _, ok := parseGKEVersion(cl.MinVersion); !ok {
		fail("cluster.minVersion", fmt.Sprintf("%q", cl.MinVersion), "must be a GKE version: 1.33, 1.33.3 or 1.33.3-gke.1136000")
	}
	if cl.GPUMetrics && c.GPUPool.Enabled && c.GPUPool.DriverVersion == "INSTALLATION_DISABLED" {
		fail("cluster.gpuMetrics", true, "GKE's managed DCGM metrics need GKE-managed drivers: gpuPool.driverVersion DEFAULT or LATEST, not INSTALLATION_DISABLED")
	}
	if !hhmmPattern.MatchString(cl.MaintenanceStart) {
		fail("cluster.maintenanceStart", cl.MaintenanceStart, "must be HH:MM in UTC, e.g. 03:00")
	}
	if !oneOf(cl.AutoscalingProfile, autoscalingProfiles) {
		fail("cluster.autoscalingProfile", cl.AutoscalingProfile, "must be one of %s", strings.Join(autoscalingProfiles, ", "))
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
		if len(p.NodeLocations) > 0 {
			fail("gpuPool.nodeLocations", p.NodeLocations, "zones exist only on GKE; leave it unset on the local platform")
		}
		if len(p.Fallbacks) > 0 {
			fail("gpuPool.fallbacks", fmt.Sprintf("(%d options)", len(p.Fallbacks)), "are GKE node pools tried by GKE's cluster autoscaler; leave it unset on the local platform")
		}
		if p.Sharing != nil {
			fail("gpuPool.sharing", p.Sharing.Strategy, "is GKE's GPU sharing; leave it unset on the local platform")
		}
		return
	}
	c.validateGPUOptions(fail)
	acc, ok := accelerator.Lookup(p.AcceleratorType)
	if !ok {
		fail("gpuPool.acceleratorType", p.AcceleratorType, "unknown accelerator; known: %s", strings.Join(accelerator.Types(), ", "))
	} else if err := acc.CheckMachine(p.MachineType, p.AcceleratorCount); err != nil {
		fail("gpuPool", fmt.Sprintf("{machineType: %s, acceleratorCount: %d}", p.MachineType, p.AcceleratorCount), "%v", err)
	}
	c.validateZones(fail, "gpuPool", p.NodeLocations, len(p.NodeLocations) > 0, acc, ok)
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
	for i, f := range p.Fallbacks {
		if f.DiskType != "" && !oneOf(f.DiskType, diskTypes) {
			fail(fmt.Sprintf("gpuPool.fallbacks[%d].diskType", i), f.DiskType, "must be one of %s", strings.Join(diskTypes, ", "))
		}
	}
}

// validateZones checks that every zone a GPU option (its config key) may
// use is in the cluster's region and offers the accelerator: otherwise the
// pool is created fine and fails only when the autoscaler first adds a
// node. Unlisted zones (own false) are the pool's, checked once there.
func (c Config) validateZones(fail failFunc, key string, zones []string, own bool, acc accelerator.Accelerator, known bool) {
	if !zonePattern.MatchString(c.Zone) {
		return // gcp:zone's own error says it all
	}
	if len(zones) == 0 {
		if known {
			if err := acc.CheckZone(c.Zone); err != nil {
				fail(key+".acceleratorType", acc.Type, "%v; pick another type, or a gcp:zone or %s.nodeLocations that offers it", err, key)
			}
		}
		return
	}
	if !own {
		// The pool's zones, checked there; here only what this GPU lacks.
		for _, z := range zones {
			if err := acc.CheckZone(z); known && zonePattern.MatchString(z) && err != nil {
				fail(key+".nodeLocations", "(unset)", "takes gpuPool.nodeLocations, and %v; list this option's own zones", err)
				return
			}
		}
		return
	}
	seen := map[string]bool{}
	for i, z := range zones {
		zkey := fmt.Sprintf("%s.nodeLocations[%d]", key, i)
		switch {
		case !zonePattern.MatchString(z):
			fail(zkey, z, "is not a zone name such as us-central1-b")
		case accelerator.Region(z) != c.Region():
			fail(zkey, z, "must be a zone of the cluster's region %s: node pools stay in their cluster's region", c.Region())
		case seen[z]:
			fail(zkey, z, "is listed twice")
		case known:
			if err := acc.CheckZone(z); err != nil {
				fail(zkey, z, "%v", err)
			}
		}
		seen[z] = true
	}
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
		if a.GPU > 0 && c.Platform == PlatformGKE {
			for _, o := range c.GPUPool.Options() {
				if a.GPU > o.AcceleratorCount {
					fail(key+".gpu", a.GPU, "must be <= %s.acceleratorCount (%d): the pod may land on that option, and its nodes have no more", o.Key, o.AcceleratorCount)
				}
			}
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
			"ephemeralStorageRequest": a.Resources.EphemeralStorageRequest, "ephemeralStorageLimit": a.Resources.EphemeralStorageLimit,
		} {
			if !quantityPattern.MatchString(q) {
				fail(key+".resources."+field, q, "must be a Kubernetes quantity such as 250m, 1, 512Mi or 2Gi")
			}
		}
		validateRequestsWithinLimits(fail, key, a.Resources)
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
		if g := a.TerminationGracePeriodSeconds; g != nil && (*g < 0 || *g > 3600) {
			fail(key+".terminationGracePeriodSeconds", *g, "must be 0 to 3600 seconds")
		}
		if t := a.ReadyTimeout(); t < 0 || t > 3600 {
			fail(key+".readyTimeoutSeconds", t, "must be 0 (do not wait) to 3600 seconds")
		}
		for j, peer := range a.ConnectsTo {
			k := slices.IndexFunc(c.Apps, func(b AppConfig) bool { return b.Name == peer })
			switch {
			case k < 0:
				fail(fmt.Sprintf("%s.connectsTo[%d]", key, j), peer, "is no app of this stack")
			case c.Apps[k].Port == 0:
				fail(fmt.Sprintf("%s.connectsTo[%d]", key, j), peer, "serves no port to connect to")
			}
		}
		c.validateAppSecrets(fail, key, a)
		if a.AlwaysOn && a.GPU == 0 {
			fail(key+".alwaysOn", a.AlwaysOn, "only means something for a GPU app (gpu > 0)")
		}
	}
	c.validateQueues(fail)
}

func (c Config) validateIngress(fail failFunc) {
	in := c.Ingress
	if in.Host != "" && !hostPattern.MatchString(in.Host) {
		fail("ingress.host", in.Host, "must be a DNS name such as app.example.com")
	}
	if in.TLS && in.Host == "" {
		fail("ingress.tls", in.TLS, "needs ingress.host: a managed certificate is issued for a DNS name")
	}
	if in.TLS && !in.StaticIP && c.Platform == PlatformGKE {
		// The certificate is provisioned for the DNS record, which points at
		// the address: an ephemeral address changes and breaks both.
		fail("ingress.tls", in.TLS, "needs ingress.staticIp: true: the managed certificate and the DNS record must point at an address that does not change")
	}
	if c.Platform == PlatformGKE && in.StaticIP && !repoIDPattern.MatchString(in.StaticIPName) {
		fail("ingress.staticIpName", in.StaticIPName, "must be a Compute Engine resource name: 1-63 lowercase letters, digits and '-', starting with a letter, not ending with '-'")
	}
	if c.Platform == PlatformLocal && (in.TLS || in.StaticIP) {
		fail("ingress", fmt.Sprintf("{staticIp: %v, tls: %v}", in.StaticIP, in.TLS), "static IPs and managed certificates exist only on GKE; set both false on the local platform")
	}
}

// validateRequestsWithinLimits: a container's request may not exceed its
// limit. The API server refuses such a pod ("must be less than or equal to
// ... limit", https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/),
// which would fail an update halfway, after other resources changed.
func validateRequestsWithinLimits(fail failFunc, key string, r ResourcesConfig) {
	for _, pair := range []struct{ name, request, limit string }{
		{"cpu", r.CPURequest, r.CPULimit},
		{"memory", r.MemoryRequest, r.MemoryLimit},
		{"ephemeralStorage", r.EphemeralStorageRequest, r.EphemeralStorageLimit},
	} {
		req, err1 := resource.ParseQuantity(pair.request)
		lim, err2 := resource.ParseQuantity(pair.limit)
		if err1 != nil || err2 != nil {
			continue // the quantity check above reported it
		}
		if req.Cmp(lim) > 0 {
			fail(key+".resources."+pair.name+"Request", pair.request, "must be <= resources.%sLimit (%s): the API server refuses a request above its limit", pair.name, pair.limit)
		}
	}
}
