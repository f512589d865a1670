package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/accelerator"
)

// GPUPoolName names the GPU pool's own option's node pool; the fallbacks'
// are GPUPoolName-1, -2...: every GPU pool's name starts with it.
const GPUPoolName = "gpu"

// GPU sharing strategies, as GKE's gpuSharingConfig spells them.
const (
	SharingTimeSharing = "TIME_SHARING"
)

// Bounds GKE documents for the GPU options' features.
const (
	// maxSharedClients is the most containers one shared GPU takes, for
	// time-sharing and MPS alike.
	// https://cloud.google.com/kubernetes-engine/docs/how-to/timesharing-gpus
	minSharedClients, maxSharedClients = 2, 48
	// MaxFlexStartSeconds is the longest a flex-start node may run (7 days).
	// https://cloud.google.com/kubernetes-engine/docs/concepts/dws
	MaxFlexStartSeconds = 7 * 24 * 3600
)

// Feature minimums: the lowest GKE version that has each, checked against
// cluster.minVersion.
var (
	// computeClassVersion: custom ComputeClasses on Standard clusters.
	// https://cloud.google.com/kubernetes-engine/docs/concepts/about-custom-compute-classes
	computeClassVersion = "1.30.3-gke.1451000"
	// flexStartVersion: a ComputeClass creating a node pool (here a
	// flex-start one) on a Standard cluster without cluster-wide node
	// auto-provisioning (flex-start in a priority itself needs
	// 1.32.2-gke.1652000, the CRD reference says).
	// https://cloud.google.com/kubernetes-engine/docs/concepts/about-custom-compute-classes
	flexStartVersion = "1.33.3-gke.1136000"
)

// GPUOption is one way to get a GPU node, resolved: the pool's own (the
// first) or a fallback with the pool's shared fields filled in. The
// ComputeClass lists them in this order.
type GPUOption struct {
	// Key is the config key the option comes from, for errors:
	// "gpuPool" or "gpuPool.fallbacks[0]".
	Key string
	// Pool is the node pool's resource name: "gpu", then "gpu-1", ...
	// (a flexStart option's pool is GKE's to name).
	Pool string
	// MachineType, AcceleratorType and AcceleratorCount are the node's shape.
	MachineType      string
	AcceleratorType  string
	AcceleratorCount int
	// Spot and FlexStart say how the nodes are bought (neither: on demand).
	Spot, FlexStart bool
	// MaxRunDurationSeconds bounds a flex-start node's life; 0 otherwise.
	MaxRunDurationSeconds int
	// NodeLocations are the zones; empty: the cluster's zone.
	NodeLocations []string
	// MinNodes and MaxNodes bound the option's pool.
	MinNodes, MaxNodes int
	// Sharing, when set, shares each GPU between pods.
	Sharing *GPUSharingConfig
	// DiskType, DiskSizeGb, DriverVersion, LocationPolicy and
	// ImageStreaming are the pool's, shared by every option.
	DiskType       string
	DiskSizeGb     int
	DriverVersion  string
	LocationPolicy string
	ImageStreaming bool
}

// Options are the GPU options in the order the autoscaler tries them: the
// pool's own, then each fallback. Empty when the pool is disabled.
func (g GPUPoolConfig) Options() []GPUOption {
	if !g.Enabled {
		return nil
	}
	first := GPUOption{
		Key: "gpuPool", Pool: GPUPoolName,
		MachineType: g.MachineType, AcceleratorType: g.AcceleratorType, AcceleratorCount: g.AcceleratorCount,
		Spot: g.Spot, NodeLocations: g.NodeLocations, MinNodes: g.MinNodes, MaxNodes: g.MaxNodes, Sharing: g.Sharing,
		DiskType: g.DiskType, DiskSizeGb: g.DiskSizeGb, DriverVersion: g.DriverVersion,
		LocationPolicy: g.LocationPolicy, ImageStreaming: g.ImageStreaming,
	}
	options := []GPUOption{first}
	for i, f := range g.Fallbacks {
		o := first
		o.Key, o.Pool = fmt.Sprintf("gpuPool.fallbacks[%d]", i), fmt.Sprintf("%s-%d", GPUPoolName, i+1)
		o.MachineType, o.AcceleratorType, o.AcceleratorCount = f.MachineType, f.AcceleratorType, f.AcceleratorCount
		o.Spot, o.FlexStart, o.MaxRunDurationSeconds, o.Sharing = f.Spot, f.FlexStart, f.MaxRunDurationSeconds, f.Sharing
		o.MinNodes = 0
		if f.NodeLocations != nil {
			o.NodeLocations = f.NodeLocations
		}
		if f.MaxNodes != 0 {
			o.MaxNodes = f.MaxNodes
		}
		if f.DiskType != "" {
			o.DiskType = f.DiskType
		}
		options = append(options, o)
	}
	return options
}

// Capacity is the most GPU pods of one GPU each the options' nodes can
// hold at once: a shared GPU holds maxClientsPerGpu of them.
func (g GPUPoolConfig) Capacity() int {
	total := 0
	for _, o := range g.Options() {
		total += o.MaxNodes * o.GPUsPerNode()
	}
	return total
}

// GPUsPerNode is how many one-GPU pods a node of the option holds.
func (o GPUOption) GPUsPerNode() int {
	n := max(o.AcceleratorCount, 1)
	if o.Sharing != nil {
		n *= max(o.Sharing.MaxClientsPerGpu, 1)
	}
	return n
}

// fallbackDefaults fills a fallback's unset fields that do not come from
// the pool.
func fallbackDefaults(f *GPUFallbackConfig) {
	if f.AcceleratorCount == 0 {
		f.AcceleratorCount = 1
	}
	if f.FlexStart && f.MaxRunDurationSeconds == 0 {
		f.MaxRunDurationSeconds = MaxFlexStartSeconds
	}
	sharingDefaults(f.Sharing)
}

func sharingDefaults(s *GPUSharingConfig) {
	if s != nil && s.Strategy == "" {
		s.Strategy = SharingTimeSharing
	}
}

// validateGPUOptions checks every option the way the pool's own is checked
// (accelerator, machine, zones), and what the fallbacks add: flex-start's
// run duration, sharing's bounds, the class's settings and the versions
// they need.
func (c Config) validateGPUOptions(fail failFunc) {
	g := c.GPUPool
	if !oneOf(g.WhenUnsatisfiable, whenUnsatisfiables) {
		fail("gpuPool.whenUnsatisfiable", g.WhenUnsatisfiable, "must be one of %s", strings.Join(whenUnsatisfiables, ", "))
	}
	c.requireVersion(fail, "gpuPool", "GPU pods select a ComputeClass", computeClassVersion)
	longestJob, longestJobKey := c.longestGPUJob()
	for i, o := range g.Options() {
		if i > 0 {
			c.validateFallbackShape(fail, o, g.Fallbacks[i-1])
			if o.FlexStart && g.Fallbacks[i-1].MaxNodes != 0 {
				fail(o.Key+".maxNodes", g.Fallbacks[i-1].MaxNodes, "cannot bound a flexStart option: GKE creates its node pool, with no maximum of its own; the GPU pods (the queues' maxReplicas) bound it")
			}
		}
		if err := accelerator.CheckBootDisk(o.MachineType, o.DiskType); err != nil {
			from := ""
			if i > 0 && g.Fallbacks[i-1].DiskType == "" {
				from = " (taken from gpuPool.diskType: set this option's own)"
			}
			fail(o.Key+".diskType", o.DiskType, "%v%s", err, from)
		}
		if o.FlexStart {
			if o.DriverVersion != "DEFAULT" && o.DriverVersion != "LATEST" {
				fail(o.Key+".flexStart", true, "a flex-start option's pool is GKE's, which installs the driver: gpuPool.driverVersion must be DEFAULT or LATEST, not %s", o.DriverVersion)
			}
			switch {
			case o.Spot:
				fail(o.Key+".flexStart", true, "flex-start and Spot are two ways to buy a node; set one")
			case o.MaxRunDurationSeconds < 1 || o.MaxRunDurationSeconds > MaxFlexStartSeconds:
				fail(o.Key+".maxRunDurationSeconds", o.MaxRunDurationSeconds, "must be 1 to %d (7 days, flex-start's limit)", MaxFlexStartSeconds)
			case o.MaxRunDurationSeconds < longestJob:
				fail(o.Key+".maxRunDurationSeconds", o.MaxRunDurationSeconds, "must be >= %s (%d): a flex-start node is deleted after it, and a job must not outlive its node",
					longestJobKey, longestJob)
			}
			c.requireVersion(fail, o.Key+".flexStart", "a flex-start option makes the ComputeClass create its node pool", flexStartVersion)
			if c.Cluster.PrivateNodes {
				fail(o.Key+".flexStart", true, "GKE creates a flex-start option's node pool, and a pool it creates takes the cluster-level private-nodes setting, "+
					"which this program leaves off (cluster.privateNodes is set pool by pool, so it turns on in place): its nodes would get external IPs. "+
					"Set cluster.privateNodes false to use flex-start, or use a Spot or on-demand fallback")
			}
		} else if o.MaxRunDurationSeconds != 0 {
			fail(o.Key+".maxRunDurationSeconds", o.MaxRunDurationSeconds, "applies to flexStart options only")
		}
		c.validateSharing(fail, o)
	}
}

// validateFallbackShape checks what a fallback states of its own; the
// pool's own option has its checks in validateGPUPool.
func (c Config) validateFallbackShape(fail failFunc, o GPUOption, f GPUFallbackConfig) {
	if f.MachineType == "" {
		fail(o.Key+".machineType", `""`, "must be set: each fallback states its machine type")
	}
	acc, ok := accelerator.Lookup(o.AcceleratorType)
	if !ok {
		fail(o.Key+".acceleratorType", fmt.Sprintf("%q", o.AcceleratorType), "unknown accelerator; known: %s", strings.Join(accelerator.Types(), ", "))
	} else if err := acc.CheckMachine(o.MachineType, o.AcceleratorCount); err != nil && f.MachineType != "" {
		fail(o.Key, fmt.Sprintf("{machineType: %s, acceleratorCount: %d}", o.MachineType, o.AcceleratorCount), "%v", err)
	}
	if o.AcceleratorCount < 1 {
		fail(o.Key+".acceleratorCount", o.AcceleratorCount, "must be >= 1")
	}
	if o.MaxNodes < 1 {
		fail(o.Key+".maxNodes", o.MaxNodes, "must be >= 1: an option with no nodes is never used")
	}
	c.validateZones(fail, o.Key, o.NodeLocations, f.NodeLocations != nil, acc, ok)
}

// validateSharing checks an option's GPU sharing against what GKE accepts.
func (c Config) validateSharing(fail failFunc, o GPUOption) {
	s := o.Sharing
	if s == nil {
		return
	}
	key := o.Key + ".sharing"
	if o.FlexStart {
		fail(key, s.Strategy, "is set on node pools this program creates; a flexStart option's pool is GKE's")
	}
	if !oneOf(s.Strategy, sharingStrategies) {
		fail(key+".strategy", s.Strategy, "must be %s: GKE's time-sharing, which asks nothing of the pod. MPS is not offered (what an MPS client pod needs on GKE is not checked here), "+
			"nor MIG partitions (GKE has them on A100, H100 and later, not T4 or L4)", strings.Join(sharingStrategies, ", "))
	}
	if s.MaxClientsPerGpu < minSharedClients || s.MaxClientsPerGpu > maxSharedClients {
		fail(key+".maxClientsPerGpu", s.MaxClientsPerGpu, "must be %d to %d (GKE's bounds for time-sharing and MPS)", minSharedClients, maxSharedClients)
	}
	for i, a := range c.Apps {
		if a.GPU > 1 {
			fail(fmt.Sprintf("apps[%d].gpu", i), a.GPU, "must be 1: %s shares its GPUs, and a container on a shared GPU asks for nvidia.com/gpu: 1 (GKE refuses more)", key)
		}
	}
}

// longestGPUJob is the longest maxJobSeconds of the GPU queue apps, and its key.
func (c Config) longestGPUJob() (int, string) {
	longest, key := 0, ""
	for i, a := range c.Apps {
		if a.GPU > 0 && a.Queue != nil && a.Queue.MaxJobSeconds > longest {
			longest, key = a.Queue.MaxJobSeconds, fmt.Sprintf("apps[%d].queue.maxJobSeconds", i)
		}
	}
	return longest, key
}

// requireVersion fails when cluster.minVersion is below what a feature needs.
func (c Config) requireVersion(fail failFunc, key, feature, need string) {
	if c.Platform != PlatformGKE {
		return
	}
	have, ok := parseGKEVersion(c.Cluster.MinVersion)
	if !ok {
		return // cluster.minVersion's own error
	}
	want, _ := parseGKEVersion(need)
	if compareVersions(have, want) < 0 {
		fail("cluster.minVersion", c.Cluster.MinVersion, "must be >= %s: %s (%s); GKE's release notes list each channel's versions, https://cloud.google.com/kubernetes-engine/docs/release-notes",
			need, feature, key)
	}
}

// parseGKEVersion reads "1.33", "1.33.3" or "1.33.3-gke.1136000" as four
// numbers (a missing part is 0).
func parseGKEVersion(v string) ([4]int, bool) {
	var out [4]int
	base, gke, hasGKE := strings.Cut(v, "-gke.")
	parts := strings.Split(base, ".")
	if len(parts) < 2 || len(parts) > 3 || (hasGKE && len(parts) != 3) {
		return out, false
	}
	if hasGKE {
		parts = append(parts, gke)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return out, false
		}
		out[i] = n
	}
	return out, true
}

func compareVersions(a, b [4]int) int { return slices.Compare(a[:], b[:]) }

var (
	whenUnsatisfiables = []string{"DoNotScaleUp", "ScaleUpAnyway"}
	sharingStrategies  = []string{SharingTimeSharing}
)
