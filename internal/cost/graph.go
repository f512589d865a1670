package cost

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/accelerator"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/gpuclass"
)

// Resource is one resource of a previewed graph: its type token, logical
// name and inputs as plain Go values (maps, slices, strings, float64, bool).
// Values not known until apply are any other type and count as absent.
type Resource struct {
	Type  string
	Name  string
	Props map[string]any
}

// Usage is what no graph says: how much the GPUs run, how much is stored,
// and whether this stack's cluster gets the billing account's free tier.
type Usage struct {
	FreeTier          bool
	GPUBusyHours      float64
	RegistryStorageGB float64
	// Bursts, when set, derives the busy GPU node-hours (see Input.Bursts).
	Bursts *Bursts
	// NATDataGB is the traffic through Cloud NAT per month.
	NATDataGB float64
	// JobsPerMonth are the queues' jobs, each with a record in a results
	// bucket (see Input.JobRecords).
	JobsPerMonth float64
	// FallbackShare is Input.FallbackShare.
	FallbackShare float64
}

// GKE's defaults for a node pool that does not say (cloud.google.com/kubernetes-engine/docs).
const (
	defaultMachineType = "e2-medium"
	defaultDiskType    = "pd-balanced"
	defaultDiskSizeGb  = 100
)

// InputFromResources is what a graph will create, as the estimator prices
// it: every cluster and node pool with its machine type, bounds, zones,
// accelerators and disks, every forwarding rule and static address. The
// policy pack prices a preview this way, whatever code created the pools.
func InputFromResources(resources []Resource, u Usage) (Input, error) {
	in := Input{FreeTier: u.FreeTier, GPUBusyHours: u.GPUBusyHours, RegistryStorageGB: u.RegistryStorageGB, Bursts: u.Bursts, NATDataGB: u.NATDataGB,
		FallbackShare: u.FallbackShare, MaxGPUPods: maxGPUPods(resources)}
	privateCluster := false
	// Deployments whose pods ask for no GPU: their ScaledObjects' cooldowns
	// keep no GPU node up. Any other target counts, to be safe.
	cpuOnly := map[string]bool{}
	for _, r := range resources {
		if r.Type == "kubernetes:apps/v1:Deployment" && !requestsGPU(r.Props) {
			cpuOnly[str(r.Props, "metadata.name")] = true
		}
	}
	regions := map[string]bool{}
	for _, r := range resources {
		switch r.Type {
		case "gcp:container/cluster:Cluster":
			loc := str(r.Props, "location")
			regional := loc != "" && accelerator.Region(loc) == loc
			in.Clusters = append(in.Clusters, Cluster{Name: orDefault(str(r.Props, "name"), r.Name), Regional: regional,
				AutoscalingProfile: str(r.Props, "clusterAutoscaling.autoscalingProfile")})
			// Cluster-wide private nodes; a pool's own setting overrides it.
			privateCluster = privateCluster || isTrue(r.Props, "privateClusterConfig.enablePrivateNodes")
			if loc != "" {
				regions[accelerator.Region(loc)] = true
			}
			if !isTrue(r.Props, "removeDefaultNodePool") {
				n := intOr(r.Props, "initialNodeCount", 1)
				in.Pools = append(in.Pools, Pool{Name: r.Name + "-default", MachineType: orDefault(str(r.Props, "nodeConfig.machineType"), defaultMachineType),
					DiskType: orDefault(str(r.Props, "nodeConfig.diskType"), defaultDiskType), DiskSizeGb: intOr(r.Props, "nodeConfig.diskSizeGb", defaultDiskSizeGb),
					MinNodes: n, MaxNodes: n})
			}
		case "gcp:container/nodePool:NodePool":
			pool, region := poolFrom(r)
			in.Pools = append(in.Pools, pool)
			if region != "" {
				regions[region] = true
			}
		case "kubernetes:cloud.google.com/v1:ComputeClass":
			in.Pools = append(in.Pools, createdPools(r)...)
		case "gcp:compute/globalForwardingRule:GlobalForwardingRule", "gcp:compute/forwardingRule:ForwardingRule":
			in.ForwardingRules++
		case "gcp:compute/globalAddress:GlobalAddress", "gcp:compute/address:Address":
			in.StaticIPs++
		case "gcp:compute/routerNat:RouterNat":
			in.CloudNAT = true
		case "gcp:storage/bucket:Bucket":
			// A results bucket: its lifecycle rule's age is how long a job's
			// record is kept (the longest, when there are several).
			if rules, _ := r.Props["lifecycleRules"].([]any); len(rules) > 0 {
				if in.JobRecords == nil {
					in.JobRecords = &JobRecords{PerMonth: u.JobsPerMonth}
				}
				rule, _ := rules[0].(map[string]any)
				in.JobRecords.KeepDays = max(in.JobRecords.KeepDays, intOr(rule, "condition.age", 0))
			}
		case "kubernetes:keda.sh/v1alpha1:ScaledObject":
			// KEDA's default cooldownPeriod is 300 s (keda.sh ScaledObject spec).
			if target := str(r.Props, "spec.scaleTargetRef.name"); target == "" || !cpuOnly[target] {
				in.CooldownSeconds = math.Max(in.CooldownSeconds, float64(intOr(r.Props, "spec.cooldownPeriod", 300)))
			}
		case "kubernetes:networking.k8s.io/v1:Ingress":
			// GKE's Ingress controller makes a forwarding rule per Ingress.
			if gceClass(r.Props) {
				in.ForwardingRules++
			}
		case "kubernetes:core/v1:Service":
			if str(r.Props, "spec.type") == "LoadBalancer" {
				in.ForwardingRules++
			}
		}
	}
	first := 0 // the first GPU option's maxNodes
	for _, p := range in.Pools {
		if p.AcceleratorType != "" && p.Rank == 0 && !p.FlexStart {
			first = p.MaxNodes
		}
	}
	for i := range in.Pools {
		if !in.Pools[i].privateSet {
			in.Pools[i].PrivateNodes = privateCluster
		}
		if in.Pools[i].FlexStart && in.Pools[i].MaxNodes == 0 {
			// GKE creates the pool with no bound of its own: the GPU pods
			// bound it; priced like the first option's pool.
			in.Pools[i].MaxNodes = first
		}
	}
	// GPU pools in the class's order, after the others, as a config lists them.
	slices.SortStableFunc(in.Pools, func(a, b Pool) int {
		ga, gb := a.AcceleratorType != "", b.AcceleratorType != ""
		switch {
		case ga != gb && ga:
			return 1
		case ga != gb:
			return -1
		case ga:
			return a.Rank - b.Rank
		}
		return 0
	})
	if len(regions) > 1 {
		return Input{}, fmt.Errorf("the graph spans regions %v; the estimate prices one region", slices.Sorted(maps.Keys(regions)))
	}
	for r := range regions {
		in.Region = r
	}
	return in, nil
}

func poolFrom(r Resource) (Pool, string) {
	p := Pool{
		Name:        r.Name,
		MachineType: orDefault(str(r.Props, "nodeConfig.machineType"), defaultMachineType),
		DiskType:    orDefault(str(r.Props, "nodeConfig.diskType"), defaultDiskType),
		DiskSizeGb:  intOr(r.Props, "nodeConfig.diskSizeGb", defaultDiskSizeGb),
	}
	if v, ok := lookup(r.Props, "networkConfig.enablePrivateNodes").(bool); ok {
		p.PrivateNodes, p.privateSet = v, true
	}
	p.ImageStreaming = isTrue(r.Props, "nodeConfig.gcfsConfig.enabled")
	p.Spot = isTrue(r.Props, "nodeConfig.spot") || isTrue(r.Props, "nodeConfig.preemptible")
	if accels, _ := lookup(r.Props, "nodeConfig.guestAccelerators").([]any); len(accels) > 0 {
		if a, ok := accels[0].(map[string]any); ok {
			p.AcceleratorType = str(a, "type")
			p.AcceleratorCount = intOr(a, "count", 1)
		}
	}
	if rank, err := strconv.Atoi(str(r.Props, "nodeConfig.labels."+gpuclass.OptionLabel)); err == nil {
		p.Rank = rank - 1
	}
	zones := 1
	if locs, _ := lookup(r.Props, "nodeLocations").([]any); len(locs) > 0 {
		zones = len(locs)
	}
	// minNodeCount/maxNodeCount bound each zone, the total ones the pool;
	// without autoscaling, nodeCount (or initialNodeCount) per zone.
	fixed := intOr(r.Props, "nodeCount", intOr(r.Props, "initialNodeCount", 0))
	if _, auto := lookup(r.Props, "autoscaling").(map[string]any); auto {
		if n, ok := num(r.Props, "autoscaling.totalMaxNodeCount"); ok {
			p.MaxNodes = n
			p.MinNodes, _ = num(r.Props, "autoscaling.totalMinNodeCount")
		} else {
			p.MaxNodes = zones * intOr(r.Props, "autoscaling.maxNodeCount", 0)
			p.MinNodes = zones * intOr(r.Props, "autoscaling.minNodeCount", 0)
		}
	} else {
		p.MinNodes, p.MaxNodes = zones*fixed, zones*fixed
	}
	return p, accelerator.Region(str(r.Props, "location"))
}

// createdPools are the GPU pools a ComputeClass has GKE create: its
// priorities that name a machine and GPUs rather than pools of ours, each
// at its place in the class.
func createdPools(r Resource) []Pool {
	var pools []Pool
	rules, _ := lookup(r.Props, "spec.priorities").([]any)
	for k, rule := range rules {
		m, _ := rule.(map[string]any)
		if str(m, "machineType") == "" {
			continue // a pool of ours, priced from its NodePool
		}
		pools = append(pools, Pool{
			Name:        CreatedPoolName(orDefault(str(r.Props, "metadata.name"), r.Name), k),
			Rank:        k,
			MachineType: str(m, "machineType"),
			DiskType:    orDefault(str(m, "storage.bootDiskType"), defaultDiskType),
			DiskSizeGb:  intOr(m, "storage.bootDiskSize", defaultDiskSizeGb),
			Spot:        isTrue(m, "spot"),
			FlexStart:   isTrue(m, "flexStart.enabled"),
			// GKE adds no GPUs a rule does not ask for; count defaults to 1.
			AcceleratorType:  str(m, "gpu.type"),
			AcceleratorCount: intOr(m, "gpu.count", 1),
			ImageStreaming:   isTrue(r.Props, "spec.nodePoolConfig.imageStreaming.enabled"),
		})
	}
	return pools
}

// CreatedPoolName names, in the report, the pool a ComputeClass has GKE
// create for its rule at index rank.
func CreatedPoolName(class string, rank int) string { return fmt.Sprintf("%s-%d", class, rank) }

// maxGPUPods is the most GPU pods the graph's workloads can run at once:
// a GPU Deployment's ScaledObject or HPA maximum (KEDA's default
// maxReplicaCount is 100), else its replicas; a GPU ScaledJob's
// maxReplicaCount.
func maxGPUPods(resources []Resource) int {
	deployments := map[string]int{}
	for _, r := range resources {
		if r.Type == "kubernetes:apps/v1:Deployment" && requestsGPU(r.Props) {
			deployments[str(r.Props, "metadata.name")] = intOr(r.Props, "spec.replicas", 1)
		}
	}
	pods := 0
	for _, r := range resources {
		switch r.Type {
		case "kubernetes:keda.sh/v1alpha1:ScaledObject":
			if target := str(r.Props, "spec.scaleTargetRef.name"); deploymentHas(deployments, target) {
				deployments[target] = intOr(r.Props, "spec.maxReplicaCount", 100)
			}
		case "kubernetes:autoscaling/v2:HorizontalPodAutoscaler":
			if target := str(r.Props, "spec.scaleTargetRef.name"); deploymentHas(deployments, target) {
				deployments[target] = intOr(r.Props, "spec.maxReplicas", 1)
			}
		case "kubernetes:keda.sh/v1alpha1:ScaledJob":
			if requestsGPUAt(r.Props, "spec.jobTargetRef.template.spec.containers") {
				pods += intOr(r.Props, "spec.maxReplicaCount", 100)
			}
		}
	}
	for _, n := range deployments {
		pods += n
	}
	return pods
}

func deploymentHas(m map[string]int, name string) bool {
	_, ok := m[name]
	return ok
}

// requestsGPU reports whether a Deployment's containers limit nvidia.com/gpu.
func requestsGPU(props map[string]any) bool {
	return requestsGPUAt(props, "spec.template.spec.containers")
}

// requestsGPUAt reports whether the containers at path limit nvidia.com/gpu.
func requestsGPUAt(props map[string]any, path string) bool {
	containers, _ := lookup(props, path).([]any)
	for _, c := range containers {
		if m, ok := c.(map[string]any); ok {
			if limits, ok := lookup(m, "resources.limits").(map[string]any); ok && limits["nvidia.com/gpu"] != nil {
				return true
			}
		}
	}
	return false
}

func isTrue(m map[string]any, path string) bool {
	b, _ := lookup(m, path).(bool)
	return b
}

func gceClass(props map[string]any) bool {
	ann, _ := lookup(props, "metadata.annotations").(map[string]any)
	class, _ := ann["kubernetes.io/ingress.class"].(string)
	return class == "gce"
}

// lookup walks a dotted path through nested maps.
func lookup(m map[string]any, path string) any {
	var v any = m
	for _, part := range strings.Split(path, ".") {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[part]
	}
	return v
}

func str(m map[string]any, path string) string {
	s, _ := lookup(m, path).(string)
	return s
}

func num(m map[string]any, path string) (int, bool) {
	f, ok := lookup(m, path).(float64)
	return int(f), ok
}

func intOr(m map[string]any, path string, def int) int {
	if n, ok := num(m, path); ok {
		return n
	}
	return def
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
