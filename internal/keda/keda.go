// Package keda holds facts about the KEDA release the platform installs that
// more than the graph needs: the config's pod-fit check and the cost
// estimate size the CPU pool with them. It imports no cloud SDK.
package keda

// PodResources are one KEDA pod's requests and limits.
type PodResources struct {
	// CPURequest, MemoryRequest, CPULimit and MemoryLimit are Kubernetes
	// quantities, e.g. "100m" and "128Mi".
	CPURequest, MemoryRequest, CPULimit, MemoryLimit string
}

// Resources are what the chart's three Deployments request, by the chart's
// values key: small, so KEDA fits a 3 x n1-standard-1 pool beside the apps
// (a test sums them).
var Resources = map[string]PodResources{
	"operator":     {CPURequest: "100m", MemoryRequest: "128Mi", CPULimit: "1", MemoryLimit: "512Mi"},
	"metricServer": {CPURequest: "50m", MemoryRequest: "128Mi", CPULimit: "1", MemoryLimit: "512Mi"},
	"webhooks":     {CPURequest: "10m", MemoryRequest: "64Mi", CPULimit: "200m", MemoryLimit: "128Mi"},
}

// Queue modes: how queued work becomes pods.
const (
	// QueueModeWorker: a long-running Deployment that KEDA scales (ScaledObject).
	QueueModeWorker = "worker"
	// QueueModeJob: one run-to-completion Job per queued message (ScaledJob).
	QueueModeJob = "job"
)
