package stacks

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/graphtest"
)

// Each bad value fails the program with a message naming the key, the value
// and the rule, and nothing at all is registered.
func TestBadConfigFailsBeforeAnyResource(t *testing.T) {
	tests := []struct {
		name  string
		stack string
		edits map[string]string
		want  string
	}{
		{
			name:  "region where a zone is needed",
			edits: map[string]string{"gcp:zone": "us-central1"},
			want:  `gcp:zone = "us-central1": is a region; a zone is needed (e.g. us-central1-a)`,
		},
		{
			name:  "zone missing",
			edits: map[string]string{"gcp:zone": ""},
			want:  `gcp:zone = "": must be set to a zone such as us-central1-a`,
		},
		{
			name:  "empty project",
			edits: map[string]string{"gcp:project": ""},
			want:  `gcp:project = "": must be set: ` + "`pulumi config set gcp:project <project-id>`",
		},
		{
			name:  "malformed project",
			edits: map[string]string{"gcp:project": "Acme Corp"},
			want:  `gcp:project = "Acme Corp": is not a project ID`,
		},
		{
			name:  "cpu pool min greater than max",
			edits: map[string]string{"gke-gpu-platform:cpuPool": `{"minNodes": 4, "maxNodes": 2}`},
			want:  "gke-gpu-platform:cpuPool.maxNodes = 2: must be >= minNodes (4)",
		},
		{
			name:  "gpu pool min greater than max",
			edits: map[string]string{"gke-gpu-platform:gpuPool": `{"minNodes": 3, "maxNodes": 1}`},
			want:  "gke-gpu-platform:gpuPool.maxNodes = 1: must be >= minNodes (3)",
		},
		{
			name:  "negative gpu pool min",
			edits: map[string]string{"gke-gpu-platform:gpuPool": `{"minNodes": -1}`},
			want:  "gke-gpu-platform:gpuPool.minNodes = -1: must be >= 0",
		},
		{
			name:  "negative cpu pool max",
			edits: map[string]string{"gke-gpu-platform:cpuPool": `{"minNodes": 1, "maxNodes": -2}`},
			want:  "gke-gpu-platform:cpuPool.maxNodes = -2: must be >= 1",
		},
		{
			name:  "cpu pool cannot scale to zero",
			edits: map[string]string{"gke-gpu-platform:cpuPool": `{"minNodes": 0}`},
			want:  "gke-gpu-platform:cpuPool.minNodes = 0: must be >= 1: kube-system pods need a node",
		},
		{
			name:  "unknown accelerator",
			edits: map[string]string{"gke-gpu-platform:gpuPool": `{"acceleratorType": "nvidia-rtx-4090"}`},
			want:  "gke-gpu-platform:gpuPool.acceleratorType = nvidia-rtx-4090: unknown accelerator; known: nvidia-a100-80gb, nvidia-h100-80gb, nvidia-l4,",
		},
		{
			name:  "L4 on an n1 machine",
			edits: map[string]string{"gke-gpu-platform:gpuPool": `{"acceleratorType": "nvidia-l4", "machineType": "n1-standard-4"}`},
			want:  `gke-gpu-platform:gpuPool = {machineType: n1-standard-4, acceleratorCount: 1}: nvidia-l4 attaches only to g2-* machine types, not "n1-standard-4"`,
		},
		{
			name:  "T4 on a g2 machine",
			edits: map[string]string{"gke-gpu-platform:gpuPool": `{"acceleratorType": "nvidia-tesla-t4", "machineType": "g2-standard-4"}`},
			want:  `nvidia-tesla-t4 attaches only to n1-* machine types, not "g2-standard-4"`,
		},
		{
			name:  "T4 count n1 cannot take",
			edits: map[string]string{"gke-gpu-platform:gpuPool": `{"acceleratorCount": 3}`},
			want:  "gke-gpu-platform:gpuPool = {machineType: n1-standard-4, acceleratorCount: 3}: nvidia-tesla-t4 can be attached 1, 2, 4 per node, not 3",
		},
		{
			name:  "L4 count the machine does not carry",
			edits: map[string]string{"gke-gpu-platform:gpuPool": `{"acceleratorType": "nvidia-l4", "machineType": "g2-standard-4", "acceleratorCount": 2}`},
			want:  "g2-standard-4 carries exactly 1 x nvidia-l4, not 2",
		},
		{
			name:  "unknown driver version",
			edits: map[string]string{"gke-gpu-platform:gpuPool": `{"driverVersion": "535"}`},
			want:  "gke-gpu-platform:gpuPool.driverVersion = 535: must be one of DEFAULT, LATEST, INSTALLATION_DISABLED",
		},
		{
			name:  "unknown release channel",
			edits: map[string]string{"gke-gpu-platform:cluster": `{"releaseChannel": "NIGHTLY"}`},
			want:  "gke-gpu-platform:cluster.releaseChannel = NIGHTLY: must be one of RAPID, REGULAR, STABLE, EXTENDED",
		},
		{
			name:  "cluster name too long for the node service account",
			edits: map[string]string{"gke-gpu-platform:cluster": `{"name": "a-very-long-cluster-name-indeed"}`},
			want:  "gke-gpu-platform:cluster.name = a-very-long-cluster-name-indeed: must be 1-24 lowercase letters",
		},
		{
			name:  "unknown autoscaling profile",
			edits: map[string]string{"gke-gpu-platform:cluster": `{"autoscalingProfile": "AGGRESSIVE"}`},
			want:  "gke-gpu-platform:cluster.autoscalingProfile = AGGRESSIVE: must be one of BALANCED, OPTIMIZE_UTILIZATION",
		},
		{
			name:  "private nodes as a word",
			edits: map[string]string{"gke-gpu-platform:cluster": `{"privateNodes": "yes"}`},
			want:  "gke-gpu-platform:cluster.privateNodes: must be true or false, not a string",
		},
		{
			name:  "image streaming as a word",
			edits: map[string]string{"gke-gpu-platform:gpuPool": `{"imageStreaming": "on"}`},
			want:  "gke-gpu-platform:gpuPool.imageStreaming: must be true or false, not a string",
		},
		{
			name:  "no bursts a day",
			edits: map[string]string{"gke-gpu-platform:cost": `{"bursts": {"perDay": 0, "workMinutes": 10}}`},
			want:  "gke-gpu-platform:cost.bursts.perDay = 0: must be above 0 and at most 1440",
		},
		{
			name:  "a burst longer than a day",
			edits: map[string]string{"gke-gpu-platform:cost": `{"bursts": {"perDay": 2, "workMinutes": 2000}}`},
			want:  "gke-gpu-platform:cost.bursts.workMinutes = 2000: must be above 0 and at most 1440 (a day)",
		},
		{
			name:  "bursts and busy hours both",
			edits: map[string]string{"gke-gpu-platform:cost": `{"gpuBusyHoursPerMonth": 40, "bursts": {"perDay": 2, "workMinutes": 10}}`},
			want:  "gke-gpu-platform:cost.gpuBusyHoursPerMonth = 40: cannot be set with cost.bursts, which derives the busy GPU node-hours: keep one",
		},
		{
			name:  "negative NAT traffic",
			edits: map[string]string{"gke-gpu-platform:cost": `{"natGbPerMonth": -1}`},
			want:  "gke-gpu-platform:cost.natGbPerMonth = -1: must be >= 0",
		},
		{
			name:  "unknown top-level key",
			edits: map[string]string{"gke-gpu-platform:gpuPol": `{"maxNodes": 2}`},
			want:  "gke-gpu-platform:gpuPol: unknown config key (did you mean \"gpuPool\"?); known keys are alerts, apps, budget, cluster, cost, cpuPool, gpuPool, ingress, local, namespace, platform, registry",
		},
		{
			name:  "unknown field in an object",
			edits: map[string]string{"gke-gpu-platform:gpuPool": `{"maxNode": 2}`},
			want:  `gke-gpu-platform:gpuPool: unknown field "maxNode"`,
		},
		{
			name:  "wrong type in an object",
			edits: map[string]string{"gke-gpu-platform:cpuPool": `{"maxNodes": "three"}`},
			want:  `gke-gpu-platform:cpuPool.maxNodes: must be a whole number, not a string`,
		},
		// Values of the wrong shape say which key, what shape and how it is written.
		{
			name:  "a string where the app list belongs",
			edits: map[string]string{"gke-gpu-platform:apps": "frontend"},
			want: "gke-gpu-platform:apps = \"frontend\": must be a list of apps, one object each, not a string; for example:\n" +
				"  gke-gpu-platform:apps:\n    - name: web\n      image: nginx:1.27",
		},
		{
			name:  "a list where an object belongs",
			edits: map[string]string{"gke-gpu-platform:cpuPool": `["n1-standard-1"]`},
			want:  "gke-gpu-platform:cpuPool = [\"n1-standard-1\"]: must be an object, not a list; for example:\n  gke-gpu-platform:cpuPool:\n    machineType: n1-standard-1",
		},
		{
			name:  "a name where an app object belongs",
			edits: map[string]string{"gke-gpu-platform:apps": `["frontend"]`},
			want:  "gke-gpu-platform:apps[0] = \"frontend\": must be an object, not a string; for example:\n  gke-gpu-platform:apps:\n    - name: web",
		},
		{
			name:  "a string where a list of queues belongs",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "web", "image": "a:1"}, {"name": "api", "image": "a:1", "publishes": "gpu-jobs"}]`},
			want:  "gke-gpu-platform:apps[1].publishes: must be a list of strings, e.g. publishes: [gpu-jobs], not a string",
		},
		{
			name:  "a string where the queue object belongs",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "w", "image": "a:1", "queue": "gpu-jobs"}]`},
			want:  "gke-gpu-platform:apps[0].queue: must be an object, e.g. queue: {name: gpu-jobs, mode: worker, maxReplicas: 2}, not a string",
		},
		{
			name:  "an unquoted number where a quantity string belongs",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "w", "image": "a:1", "resources": {"cpuRequest": 1}}]`},
			want:  `gke-gpu-platform:apps[0].resources.cpuRequest: must be a string (quote numbers: cpuRequest: "1"), not a number`,
		},
		{
			name:  "unknown platform",
			edits: map[string]string{"gke-gpu-platform:platform": "eks"},
			want:  "gke-gpu-platform:platform = eks: must be one of gke, local",
		},
		{
			name:  "disk too small",
			edits: map[string]string{"gke-gpu-platform:cpuPool": `{"diskSizeGb": 5}`},
			want:  "gke-gpu-platform:cpuPool.diskSizeGb = 5: must be >= 10",
		},
		{
			name:  "machine type without a price",
			edits: map[string]string{"gke-gpu-platform:cpuPool": `{"machineType": "n2-standard-4"}`},
			want:  `gke-gpu-platform:cpuPool.machineType = "n2-standard-4": no price for this machine type in internal/cost/prices.json`,
		},
		{
			name:  "machine type without a known shape",
			edits: map[string]string{"gke-gpu-platform:cpuPool": `{"machineType": "c3-standard-4"}`},
			want:  "gke-gpu-platform:cpuPool.machineType = c3-standard-4: no shape (vCPUs, memory) for this machine type in internal/machine",
		},
		// Apps.
		{
			name:  "duplicate app names",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "web", "image": "a:1"}, {"name": "web", "image": "b:1"}]`},
			want:  "gke-gpu-platform:apps[1].name = web: duplicates apps[0].name; app names must be unique",
		},
		{
			name: "colliding paths",
			edits: map[string]string{"gke-gpu-platform:apps": `[
				{"name": "a", "image": "a:1", "port": 80, "path": "/api"},
				{"name": "b", "image": "b:1", "port": 80, "path": "/api"}]`},
			want: `gke-gpu-platform:apps[1].path = /api: collides with app "a" on host ""; each host+path routes to one app`,
		},
		{
			name: "gpu app without a gpu pool",
			edits: map[string]string{
				"gke-gpu-platform:gpuPool": `{"enabled": false}`,
				"gke-gpu-platform:apps":    `[{"name": "trainer", "image": "t:1", "gpu": 1}]`,
			},
			want: "gke-gpu-platform:apps[0].gpu = 1: needs a GPU pool, but gpuPool.enabled is false",
		},
		{
			name:  "more gpus than a node has",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "trainer", "image": "t:1", "gpu": 2}]`},
			want:  "gke-gpu-platform:apps[0].gpu = 2: must be <= gpuPool.acceleratorCount (1)",
		},
		{
			name:  "negative replicas",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "web", "image": "a:1", "replicas": -1}]`},
			want:  "gke-gpu-platform:apps[0].replicas = -1: must be >= 0",
		},
		{
			name:  "unknown app field",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "web", "image": "a:1", "replica": 2}]`},
			want:  `gke-gpu-platform:apps[0]: unknown field "replica"`,
		},
		{
			name:  "image and build together",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "web", "image": "a:1", "build": "apps/web"}]`},
			want:  "gke-gpu-platform:apps[0] = web: has both image and build; give exactly one",
		},
		{
			name:  "neither image nor build",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "web"}]`},
			want:  "gke-gpu-platform:apps[0] = web: needs image (a reference) or build (a context directory)",
		},
		{
			name:  "bad app name",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "Web_App", "image": "a:1"}]`},
			want:  `gke-gpu-platform:apps[0].name = "Web_App": must be 1-40 lowercase letters`,
		},
		{
			name:  "path without a port",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "web", "image": "a:1", "path": "/"}]`},
			want:  "gke-gpu-platform:apps[0].path = /: needs a port to route to",
		},
		{
			name:  "bad quantity",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "web", "image": "a:1", "resources": {"memoryLimit": "1 GB"}}]`},
			want:  "gke-gpu-platform:apps[0].resources.memoryLimit = 1 GB: must be a Kubernetes quantity",
		},
		{
			name:  "memory request above its limit",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "web", "image": "a:1", "resources": {"memoryRequest": "512Mi", "memoryLimit": "256Mi"}}]`},
			want:  "gke-gpu-platform:apps[0].resources.memoryRequest = 512Mi: must be <= resources.memoryLimit (256Mi): the API server refuses a request above its limit",
		},
		{
			name:  "cpu request above its limit, in other units",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "web", "image": "a:1", "resources": {"cpuRequest": "1", "cpuLimit": "900m"}}]`},
			want:  "gke-gpu-platform:apps[0].resources.cpuRequest = 1: must be <= resources.cpuLimit (900m)",
		},
		{
			name:  "budget that allows no disruption",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "web", "image": "a:1", "maxUnavailable": 0}]`},
			want:  "gke-gpu-platform:apps[0].maxUnavailable = 0: must be >= 1: a budget that allows no disruption pins nodes up",
		},
		{
			name:  "autoscaling max below min",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "web", "image": "a:1", "autoscaling": {"minReplicas": 3, "maxReplicas": 2}}]`},
			want:  "gke-gpu-platform:apps[0].autoscaling.maxReplicas = 2: must be >= autoscaling.minReplicas (3)",
		},
		{
			name:  "tls without a host",
			edits: map[string]string{"gke-gpu-platform:ingress": `{"tls": true}`},
			want:  "gke-gpu-platform:ingress.tls = true: needs ingress.host",
		},
		{
			name:  "build on the local platform",
			stack: "local",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "web", "build": "apps/frontend"}]`},
			want:  "gke-gpu-platform:apps[0].build = apps/frontend: the local platform has no registry to push to; give a prebuilt image instead",
		},
		{
			name:  "static IP on the local platform",
			stack: "local",
			edits: map[string]string{"gke-gpu-platform:ingress": `{"staticIp": true}`},
			want:  "gke-gpu-platform:ingress = {staticIp: true, tls: false}: static IPs and managed certificates exist only on GKE",
		},
		{
			name:  "managed certificate on an ephemeral address",
			edits: map[string]string{"gke-gpu-platform:ingress": `{"host": "app.example.com", "tls": true, "staticIp": false}`},
			want:  "gke-gpu-platform:ingress.tls = true: needs ingress.staticIp: true",
		},
		{
			name: "queue bounds reversed",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "w", "image": "w:1", "gpu": 1,
				"queue": {"minReplicas": 2, "maxReplicas": 1}}]`},
			want: "gke-gpu-platform:apps[0].queue.maxReplicas = 1: must be >= 1 and >= queue.minReplicas (2)",
		},
		{
			name:  "queue max above the GPU pool",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "w", "image": "w:1", "gpu": 1, "queue": {"maxReplicas": 7}}]`},
			want:  "gke-gpu-platform:apps[0].queue.maxReplicas = 7: needs 7 GPUs (1 per pod), more than the GPU pool can hold (the sum over the GPU options of maxNodes x acceleratorCount: 6)",
		},
		{
			name:  "queue on a web app",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "w", "image": "w:1", "port": 8080, "queue": {}}]`},
			want:  "gke-gpu-platform:apps[0].port = 8080: a queue-driven app is a worker: it scales with its backlog, not with traffic; drop port or queue",
		},
		{
			name:  "queue with replicas",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "w", "image": "w:1", "replicas": 1, "queue": {}}]`},
			want:  "gke-gpu-platform:apps[0].replicas = 1: KEDA owns the replica count of a queue-driven app",
		},
		{
			name:  "queue with an HPA",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "w", "image": "w:1", "autoscaling": {"minReplicas": 1, "maxReplicas": 2}, "queue": {}}]`},
			want:  "gke-gpu-platform:apps[0].autoscaling = {...}: a queue-driven app is scaled by KEDA; drop autoscaling or queue",
		},
		{
			name:  "unknown queue mode",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "w", "image": "w:1", "queue": {"mode": "stream"}}]`},
			want:  "gke-gpu-platform:apps[0].queue.mode = stream: must be one of worker, job",
		},
		{
			name:  "bad queue name",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "w", "image": "w:1", "queue": {"name": "GPU_Jobs"}}]`},
			want:  "gke-gpu-platform:apps[0].queue.name = GPU_Jobs: must be 3-63 lowercase letters, digits or '-', starting with a letter",
		},
		{
			name:  "two apps on one queue",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "a", "image": "w:1", "queue": {"name": "jobs"}}, {"name": "b", "image": "w:1", "queue": {"name": "jobs"}}]`},
			want:  "gke-gpu-platform:apps[1].queue.name = jobs: is already consumed by apps[0]; one queue feeds one app",
		},
		{
			name:  "publishing to no queue",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "api", "image": "a:1", "port": 80, "publishes": ["jobs"]}]`},
			want:  "gke-gpu-platform:apps[0].publishes[0] = jobs: is no app's queue",
		},
		{
			name:  "queue cooldown negative",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "w", "image": "w:1", "queue": {"cooldownSeconds": -1}}]`},
			want:  "gke-gpu-platform:apps[0].queue.cooldownSeconds = -1: must be 0 to 86400 seconds",
		},
		{
			name:  "ready timeout too long",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "w", "image": "w:1", "readyTimeoutSeconds": 7200}]`},
			want:  "gke-gpu-platform:apps[0].readyTimeoutSeconds = 7200: must be 0 (do not wait) to 3600 seconds",
		},
		{
			name:  "alwaysOn on a CPU app",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "w", "image": "w:1", "alwaysOn": true}]`},
			want:  "gke-gpu-platform:apps[0].alwaysOn = true: only means something for a GPU app (gpu > 0)",
		},
		{
			// The published example: T4 in us-east1-c and -d, not -b.
			name:  "gpu type the cluster zone does not offer",
			stack: "prod",
			edits: map[string]string{"gcp:zone": "us-east1-b"},
			want:  "gke-gpu-platform:gpuPool.acceleratorType = nvidia-tesla-t4: nvidia-tesla-t4 is not offered in zone us-east1-b; in us-east1 it is offered in us-east1-c, us-east1-d",
		},
		{
			name:  "gpu node location without the gpu type",
			edits: map[string]string{"gke-gpu-platform:gpuPool": `{"maxNodes": 2, "nodeLocations": ["us-central1-a", "us-central1-f"], "acceleratorType": "nvidia-l4", "machineType": "g2-standard-4"}`},
			want:  "gke-gpu-platform:gpuPool.nodeLocations[1] = us-central1-f: nvidia-l4 is not offered in zone us-central1-f; in us-central1 it is offered in us-central1-a, us-central1-b, us-central1-c",
		},
		{
			name:  "gpu node location in another region",
			edits: map[string]string{"gke-gpu-platform:gpuPool": `{"maxNodes": 2, "nodeLocations": ["us-central1-b", "us-east1-c"]}`},
			want:  "gke-gpu-platform:gpuPool.nodeLocations[1] = us-east1-c: must be a zone of the cluster's region us-central1",
		},
		{
			name:  "gpu node location twice",
			edits: map[string]string{"gke-gpu-platform:gpuPool": `{"maxNodes": 2, "nodeLocations": ["us-central1-b", "us-central1-b"]}`},
			want:  "gke-gpu-platform:gpuPool.nodeLocations[1] = us-central1-b: is listed twice",
		},
		{
			name:  "gpu node location malformed",
			edits: map[string]string{"gke-gpu-platform:gpuPool": `{"maxNodes": 2, "nodeLocations": ["central-b"]}`},
			want:  "gke-gpu-platform:gpuPool.nodeLocations[0] = central-b: is not a zone name such as us-central1-b",
		},
		{
			name:  "gpu node locations off GKE",
			stack: "local",
			edits: map[string]string{"gke-gpu-platform:gpuPool": `{"maxNodes": 2, "nodeLocations": ["us-central1-b"]}`},
			want:  "gke-gpu-platform:gpuPool.nodeLocations = [us-central1-b]: zones exist only on GKE",
		},
		// Pods that can never fit one node of their pool.
		{
			name:  "a GPU worker bigger than an n1-standard-4 GPU node: CPU",
			edits: map[string]string{"gke-gpu-platform:apps": bigGPUWorker},
			want: `gke-gpu-platform:apps[0].resources.cpuRequest = 4: app "gpu-worker" does not fit one node of its pool (gpuPool.machineType n1-standard-4): ` +
				"one n1-standard-4 node (4 vCPU, 15360Mi) leaves 3366m CPU, 12104Mi memory for pods: allocatable 3920m CPU, 12700Mi memory",
		},
		{
			name:  "a GPU worker bigger than an n1-standard-4 GPU node: memory",
			edits: map[string]string{"gke-gpu-platform:apps": bigGPUWorker},
			want:  `gke-gpu-platform:apps[0].resources.memoryRequest = 14Gi: app "gpu-worker" does not fit one node of its pool (gpuPool.machineType n1-standard-4)`,
		},
		{
			name:  "a frontend asking for a whole n1-standard-1",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "frontend", "build": "apps/frontend", "port": 8080, "path": "/", "resources": {"cpuRequest": "1"}}]`},
			want: `gke-gpu-platform:apps[0].resources.cpuRequest = 1: app "frontend" does not fit one node of its pool (cpuPool.machineType n1-standard-1): ` +
				"one n1-standard-1 node (1 vCPU, 3840Mi) leaves 586m CPU, 2204Mi memory for pods",
		},
		{
			name:  "a CPU pool too small for KEDA",
			edits: map[string]string{"gke-gpu-platform:cpuPool": `{"machineType": "e2-micro", "minNodes": 1, "maxNodes": 2}`},
			want:  "gke-gpu-platform:cpuPool.machineType = e2-micro: KEDA's metricServer (50m, 128Mi) does not fit one node",
		},
		{
			name:  "a dead-letter policy Pub/Sub refuses",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "w", "image": "w:1", "gpu": 1, "queue": {"maxDeliveryAttempts": 3}}]`},
			want:  "gke-gpu-platform:apps[0].queue.maxDeliveryAttempts = 3: must be 5 to 100 (Pub/Sub's bounds for a dead-letter policy)",
		},
		{
			name:  "a job that may not run at all",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "w", "image": "w:1", "gpu": 1, "queue": {"maxJobSeconds": 1}}]`},
			want:  "gke-gpu-platform:apps[0].queue.maxJobSeconds = 1: must be 10 to 86400 seconds",
		},
		{
			name:  "a lease Pub/Sub cannot hold",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "w", "image": "w:1", "gpu": 1, "queue": {"leaseSeconds": 900}}]`},
			want:  "gke-gpu-platform:apps[0].queue.leaseSeconds = 900: must be 10 to 600 seconds (Pub/Sub's ack deadline bounds) and at most queue.maxJobSeconds (3600)",
		},
		{
			name:  "a lease longer than a job may run",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "w", "image": "w:1", "gpu": 1, "queue": {"maxJobSeconds": 30, "leaseSeconds": 60}}]`},
			want:  "gke-gpu-platform:apps[0].queue.leaseSeconds = 60: must be 10 to 600 seconds (Pub/Sub's ack deadline bounds) and at most queue.maxJobSeconds (30)",
		},
		{
			name:  "renewals too rare to keep the lease",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "w", "image": "w:1", "gpu": 1, "queue": {"leaseSeconds": 30, "leaseRenewSeconds": 20}}]`},
			want:  "gke-gpu-platform:apps[0].queue.leaseRenewSeconds = 20: must be 1 to half of queue.leaseSeconds (30), so that one missed renewal keeps the lease",
		},
		{
			name:  "job records kept for no time",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "w", "image": "w:1", "gpu": 1, "queue": {"results": {"keepDays": -1}}}]`},
			want:  "gke-gpu-platform:apps[0].queue.results.keepDays = -1: must be 1 to 3650 days (how long a job's record and result are kept)",
		},
		{
			name:  "a negative grace period",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "w", "image": "w:1", "terminationGracePeriodSeconds": -1}]`},
			want:  "gke-gpu-platform:apps[0].terminationGracePeriodSeconds = -1: must be 0 to 3600 seconds",
		},
		// Secrets stay out of clear text.
		{
			name:  "a deploy without the secret an app names",
			edits: map[string]string{"gke-gpu-platform:secrets": ""},
			want: "gke-gpu-platform:apps[1].secretEnv.ENQUEUE_TOKEN = enqueueToken: no such secret in gke-gpu-platform:secrets; " +
				"set it with `pulumi config set --secret --path 'gke-gpu-platform:secrets.enqueueToken' \"$(openssl rand -hex 32)\"`",
		},
		{
			name:  "a secret stored in clear",
			edits: map[string]string{"gke-gpu-platform:secrets": `{"enqueueToken": "hunter2"}`},
			want:  "gke-gpu-platform:secrets.enqueueToken = (hidden): is stored in clear in the stack file",
		},
		{
			name:  "a password in env",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "api", "image": "api:1.0", "env": {"DB_PASSWORD": "hunter2"}}]`},
			want:  "gke-gpu-platform:apps[0].env.DB_PASSWORD = (hidden): looks like a secret, and env is clear text in the stack file and the preview: move it to apps[0].secretEnv.DB_PASSWORD",
		},
		{
			name:  "a warm window KEDA cannot parse",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "w", "image": "w:1", "gpu": 1, "queue": {"warm": [{"start": "8am", "end": "0 18 * * *"}]}}]`},
			want:  `gke-gpu-platform:apps[0].queue.warm[0] = {start: "8am", end: "0 18 * * *", timezone: "UTC"}: start "8am": expected exactly 5 fields`,
		},
		{
			name:  "a warm window in no time zone",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "w", "image": "w:1", "gpu": 1, "queue": {"warm": [{"start": "0 8 * * *", "end": "0 18 * * *", "timezone": "CEST"}]}}]`},
			want:  `timezone "CEST" is not an IANA time zone such as Europe/Berlin or UTC`,
		},
		{
			name:  "a warm window above the ceiling",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "w", "image": "w:1", "gpu": 1, "queue": {"maxReplicas": 1, "warm": [{"start": "0 8 * * *", "end": "0 18 * * *", "replicas": 2}]}}]`},
			want:  "gke-gpu-platform:apps[0].queue.warm[0].replicas = 2: must be 1 to queue.maxReplicas (1)",
		},
		{
			name:  "a warm window in job mode",
			edits: map[string]string{"gke-gpu-platform:apps": `[{"name": "w", "image": "w:1", "gpu": 1, "queue": {"mode": "job", "warm": [{"start": "0 8 * * *", "end": "0 18 * * *"}]}}]`},
			want:  "gke-gpu-platform:apps[0].queue.warm[0] = 0 8 * * *: warm windows keep workers up; queue.mode job starts one Job per message instead",
		},
		{
			name:  "local queue without a Redis",
			stack: "local",
			edits: map[string]string{"gke-gpu-platform:local": `{}`},
			want:  `gke-gpu-platform:local.redisAddress = "": must be set when apps[2] has a queue`,
		},
		{
			name:  "local Redis address malformed",
			stack: "local",
			edits: map[string]string{"gke-gpu-platform:local": `{"redisAddress": "redis"}`},
			want:  "gke-gpu-platform:local.redisAddress = redis: must be host:port, e.g. 127.0.0.1:6379",
		},
		{
			name:  "local storage address malformed",
			stack: "local",
			edits: map[string]string{"gke-gpu-platform:local": `{"redisAddress": "127.0.0.1:6379", "storageAddress": "http://127.0.0.1:4443"}`},
			want:  "gke-gpu-platform:local.storageAddress = http://127.0.0.1:4443: must be host:port, e.g. 127.0.0.1:4443",
		},
		{
			name:  "a local image for an app the stack does not have",
			stack: "local",
			edits: map[string]string{"gke-gpu-platform:local": `{"redisAddress": "127.0.0.1:6379", "images": {"frontnd": "x@sha256:00"}}`},
			want:  "gke-gpu-platform:local.images.frontnd = x@sha256:00: names no app of this stack (apps: frontend, backend, gpu-worker; or spend-guard, the platform's own)",
		},
		{
			name:  "an empty local image",
			stack: "local",
			edits: map[string]string{"gke-gpu-platform:local": `{"redisAddress": "127.0.0.1:6379", "images": {"backend": ""}}`},
			want:  `gke-gpu-platform:local.images.backend = "": must be an image reference`,
		},
		// The GPU options of issue 33: each refusal names key, value and rule.
		{
			name:  "a fallback GPU not offered in one of its zones",
			edits: map[string]string{"gke-gpu-platform:gpuPool": gpuWith(`{"machineType": "g2-standard-4", "acceleratorType": "nvidia-l4", "diskType": "pd-balanced", "nodeLocations": ["us-central1-a", "us-central1-f"]}`)},
			want:  "gke-gpu-platform:gpuPool.fallbacks[0].nodeLocations[1] = us-central1-f: nvidia-l4 is not offered in zone us-central1-f; in us-central1 it is offered in us-central1-a, us-central1-b, us-central1-c",
		},
		{
			name:  "a fallback inheriting the pool's zones, one of which lacks its GPU",
			edits: map[string]string{"gke-gpu-platform:gpuPool": gpuWith(`{"machineType": "g2-standard-4", "acceleratorType": "nvidia-l4", "diskType": "pd-balanced"}`)},
			want:  "gke-gpu-platform:gpuPool.fallbacks[0].nodeLocations = (unset): takes gpuPool.nodeLocations, and nvidia-l4 is not offered in zone us-central1-f",
		},
		{
			name:  "a fallback GPU on the wrong machine family",
			edits: map[string]string{"gke-gpu-platform:gpuPool": gpuWith(`{"machineType": "n1-standard-4", "acceleratorType": "nvidia-l4", "nodeLocations": ["us-central1-a"]}`)},
			want:  "gke-gpu-platform:gpuPool.fallbacks[0] = {machineType: n1-standard-4, acceleratorCount: 1}: nvidia-l4 attaches only to g2-* machine types",
		},
		{
			name:  "a fallback without a machine type",
			edits: map[string]string{"gke-gpu-platform:gpuPool": gpuWith(`{"acceleratorType": "nvidia-tesla-t4"}`)},
			want:  `gke-gpu-platform:gpuPool.fallbacks[0].machineType = "": must be set: each fallback states its machine type`,
		},
		{
			name:  "a GPU pod that does not fit a fallback's node",
			edits: map[string]string{"gke-gpu-platform:gpuPool": gpuWith(`{"machineType": "n1-standard-1", "acceleratorType": "nvidia-tesla-t4"}`)},
			want:  `gke-gpu-platform:apps[2].resources.cpuRequest = 1: app "gpu-worker" does not fit one node of its pool (gpuPool.fallbacks[0].machineType n1-standard-1)`,
		},
		{
			name:  "flex-start on Spot",
			edits: flexEdits(`"spot": true`),
			want:  "gke-gpu-platform:gpuPool.fallbacks[0].flexStart = true: flex-start and Spot are two ways to buy a node; set one",
		},
		{
			name:  "a flex-start node shorter-lived than a job",
			edits: flexEdits(`"maxRunDurationSeconds": 600`),
			want:  "gke-gpu-platform:gpuPool.fallbacks[0].maxRunDurationSeconds = 600: must be >= apps[2].queue.maxJobSeconds (3600): a flex-start node is deleted after it",
		},
		{
			name:  "a flex-start node past 7 days",
			edits: flexEdits(`"maxRunDurationSeconds": 700000`),
			want:  "gke-gpu-platform:gpuPool.fallbacks[0].maxRunDurationSeconds = 700000: must be 1 to 604800 (7 days, flex-start's limit)",
		},
		{
			name:  "a bound on a flex-start option",
			edits: flexEdits(`"maxNodes": 3`),
			want:  "gke-gpu-platform:gpuPool.fallbacks[0].maxNodes = 3: cannot bound a flexStart option: GKE creates its node pool",
		},
		{
			name:  "flex-start below the version it needs",
			edits: map[string]string{"gke-gpu-platform:gpuPool": gpuWith(`{"machineType": "g2-standard-4", "acceleratorType": "nvidia-l4", "diskType": "pd-balanced", "flexStart": true, "nodeLocations": ["us-central1-a"]}`)},
			want:  "gke-gpu-platform:cluster.minVersion = 1.33: must be >= 1.33.3-gke.1136000: a flex-start option makes the ComputeClass create its node pool (gpuPool.fallbacks[0].flexStart)",
		},
		{
			name:  "flex-start with private nodes",
			edits: map[string]string{"gke-gpu-platform:gpuPool": gpuWith(`{"machineType": "g2-standard-4", "acceleratorType": "nvidia-l4", "diskType": "pd-balanced", "flexStart": true, "nodeLocations": ["us-central1-a"]}`)},
			want:  "gke-gpu-platform:gpuPool.fallbacks[0].flexStart = true: GKE creates a flex-start option's node pool, and a pool it creates takes the cluster-level private-nodes setting",
		},
		{
			name:  "a shared GPU for more clients than GKE allows",
			edits: map[string]string{"gke-gpu-platform:gpuPool": `{"enabled": true, "maxNodes": 2, "sharing": {"maxClientsPerGpu": 64}}`},
			want:  "gke-gpu-platform:gpuPool.sharing.maxClientsPerGpu = 64: must be 2 to 48",
		},
		{
			name:  "MIG partitions asked as a sharing strategy",
			edits: map[string]string{"gke-gpu-platform:gpuPool": `{"enabled": true, "maxNodes": 2, "sharing": {"strategy": "MIG", "maxClientsPerGpu": 2}}`},
			want:  "gke-gpu-platform:gpuPool.sharing.strategy = MIG: must be TIME_SHARING: GKE's time-sharing, which asks nothing of the pod. MPS is not offered",
		},
		{
			name:  "MPS",
			edits: map[string]string{"gke-gpu-platform:gpuPool": `{"enabled": true, "maxNodes": 2, "sharing": {"strategy": "MPS", "maxClientsPerGpu": 2}}`},
			want:  "gke-gpu-platform:gpuPool.sharing.strategy = MPS: must be TIME_SHARING",
		},
		{
			name:  "an L4 fallback booting from a disk G2 does not take",
			edits: map[string]string{"gke-gpu-platform:gpuPool": gpuWith(`{"machineType": "g2-standard-4", "acceleratorType": "nvidia-l4", "nodeLocations": ["us-central1-a"]}`)},
			want:  "gke-gpu-platform:gpuPool.fallbacks[0].diskType = pd-standard: g2 machine types boot from pd-balanced or pd-ssd only, not pd-standard (taken from gpuPool.diskType: set this option's own)",
		},
		{
			name:  "a flex-start option without GKE's driver",
			edits: map[string]string{"gke-gpu-platform:gpuPool": `{"enabled": true, "maxNodes": 2, "driverVersion": "INSTALLATION_DISABLED", "fallbacks": [{"machineType": "g2-standard-4", "acceleratorType": "nvidia-l4", "diskType": "pd-balanced", "flexStart": true}]}`},
			want:  "gke-gpu-platform:gpuPool.fallbacks[0].flexStart = true: a flex-start option's pool is GKE's, which installs the driver: gpuPool.driverVersion must be DEFAULT or LATEST, not INSTALLATION_DISABLED",
		},
		{
			name: "two GPUs per container on a shared GPU",
			edits: map[string]string{
				"gke-gpu-platform:gpuPool": `{"enabled": true, "machineType": "n1-standard-8", "acceleratorCount": 2, "maxNodes": 2, "sharing": {"maxClientsPerGpu": 4}}`,
				"gke-gpu-platform:apps":    `[{"name": "w", "image": "w:1", "gpu": 2, "queue": {"maxReplicas": 1}}]`,
			},
			want: "gke-gpu-platform:apps[0].gpu = 2: must be 1: gpuPool.sharing shares its GPUs, and a container on a shared GPU asks for nvidia.com/gpu: 1 (GKE refuses more)",
		},
		{
			name: "an app asking more GPUs than a fallback's node has",
			edits: map[string]string{"gke-gpu-platform:gpuPool": `{"enabled": true, "machineType": "n1-standard-8", "acceleratorCount": 2, "maxNodes": 2, "fallbacks": [{"machineType": "n1-standard-4", "acceleratorType": "nvidia-tesla-t4"}]}`,
				"gke-gpu-platform:apps": `[{"name": "w", "image": "w:1", "gpu": 2, "queue": {"maxReplicas": 1}}]`},
			want: "gke-gpu-platform:apps[0].gpu = 2: must be <= gpuPool.fallbacks[0].acceleratorCount (1): the pod may land on that option, and its nodes have no more",
		},
		{
			name:  "an unknown whenUnsatisfiable",
			edits: map[string]string{"gke-gpu-platform:gpuPool": `{"enabled": true, "maxNodes": 2, "whenUnsatisfiable": "Wait"}`},
			want:  "gke-gpu-platform:gpuPool.whenUnsatisfiable = Wait: must be one of DoNotScaleUp, ScaleUpAnyway",
		},
		{
			name:  "a GKE version that is not one",
			edits: map[string]string{"gke-gpu-platform:cluster": `{"minVersion": "latest"}`},
			want:  `gke-gpu-platform:cluster.minVersion = "latest": must be a GKE version: 1.33, 1.33.3 or 1.33.3-gke.1136000`,
		},
		{
			name:  "fallbacks on the local platform",
			stack: "local",
			edits: map[string]string{"gke-gpu-platform:gpuPool": `{"enabled": true, "maxNodes": 2, "fallbacks": [{"machineType": "g2-standard-4", "acceleratorType": "nvidia-l4"}]}`},
			want:  "gke-gpu-platform:gpuPool.fallbacks = (1 options): are GKE node pools tried by GKE's cluster autoscaler; leave it unset on the local platform",
		},
		{
			name:  "a fallback share that is not a chance",
			edits: map[string]string{"gke-gpu-platform:cost": `{"fallbackShare": 1.5}`},
			want:  "gke-gpu-platform:cost.fallbackShare = 1.5: must be between 0 and 1",
		},
		{
			name:  "a budget of nothing",
			edits: map[string]string{"gke-gpu-platform:budget": `{"amount": 0, "billingAccount": "01A2B3-C4D5E6-F7A8B9"}`},
			want:  "gke-gpu-platform:budget.amount = 0: must be above 0: the budget for each calendar month, in budget.currency",
		},
		{
			name:  "a budget without its billing account",
			edits: map[string]string{"gke-gpu-platform:budget": `{"amount": 250}`},
			want:  `gke-gpu-platform:budget.billingAccount = "": must be the billing account's ID, XXXXXX-XXXXXX-XXXXXX`,
		},
		{
			name:  "a budget in a currency that is not one",
			edits: map[string]string{"gke-gpu-platform:budget": `{"amount": 250, "currency": "dollars", "billingAccount": "01A2B3-C4D5E6-F7A8B9"}`},
			want:  "gke-gpu-platform:budget.currency = dollars: must be an ISO 4217 code such as USD",
		},
		{
			name:  "a budget threshold of nothing",
			edits: map[string]string{"gke-gpu-platform:budget": `{"amount": 250, "thresholds": [0, 1], "billingAccount": "01A2B3-C4D5E6-F7A8B9"}`},
			want:  "gke-gpu-platform:budget.thresholds[0] = 0: must be a share of budget.amount above 0 and at most 10",
		},
		{
			name:  "a billing account on the local platform",
			stack: "local",
			edits: map[string]string{"gke-gpu-platform:budget": `{"amount": 250, "billingAccount": "01A2B3-C4D5E6-F7A8B9"}`},
			want:  "gke-gpu-platform:budget.billingAccount = 01A2B3-C4D5E6-F7A8B9: is GKE's: the local platform has no billing account",
		},
		{
			name:  "a spend cap of nothing",
			edits: map[string]string{"gke-gpu-platform:budget": `{"amount": 250, "capPercent": 2000, "billingAccount": "01A2B3-C4D5E6-F7A8B9"}`},
			want:  "gke-gpu-platform:budget.capPercent = 2000: must be 1 to 1000",
		},
		{
			name: "GPU metrics without GKE's drivers",
			edits: map[string]string{
				"gke-gpu-platform:cluster": `{"gpuMetrics": true}`,
				"gke-gpu-platform:gpuPool": `{"enabled": true, "maxNodes": 2, "driverVersion": "INSTALLATION_DISABLED"}`,
			},
			want: "gke-gpu-platform:cluster.gpuMetrics = true: GKE's managed DCGM metrics need GKE-managed drivers",
		},
		{
			name:  "alerts to nobody",
			edits: map[string]string{"gke-gpu-platform:alerts": `{"oldestJobMinutes": 20}`},
			want:  "gke-gpu-platform:alerts.emails = []: must name at least one address",
		},
		{
			name:  "alerts to an address that is not one",
			edits: map[string]string{"gke-gpu-platform:alerts": `{"emails": ["founder"]}`},
			want:  `gke-gpu-platform:alerts.emails[0] = "founder": must be an email address`,
		},
		{
			name:  "alerts on the local platform",
			stack: "local",
			edits: map[string]string{"gke-gpu-platform:alerts": `{"emails": ["founder@acme.example"]}`},
			want:  "gke-gpu-platform:alerts = [founder@acme.example]: are Cloud Monitoring alert policies, GKE's",
		},
		{
			name:  "local images on GKE",
			edits: map[string]string{"gke-gpu-platform:local": `{"images": {"backend": "b:1"}}`},
			want:  "gke-gpu-platform:local.images = [backend]: only the local platform takes its apps' images from here",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stack := tt.stack
			if stack == "" {
				stack = "dev"
			}
			g, err := graphtest.Run(t, Program, stack, stackConfig(t, stack, tt.edits))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Empty(t, g.Resources, "nothing may be registered when the config is bad")
		})
	}
}

// gpuWith is dev's GPU pool with one fallback.
func gpuWith(fallback string) string {
	return `{"enabled": true, "spot": true, "maxNodes": 2,
		"nodeLocations": ["us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"], "fallbacks": [` + fallback + `]}`
}

// flexEdits give dev a flex-start L4 fallback with extra fields, on a
// cluster where flex-start is otherwise allowed.
func flexEdits(extra string) map[string]string {
	return map[string]string{
		"gke-gpu-platform:cluster": `{"name": "platform-dev", "minVersion": "1.34", "privateNodes": false}`,
		"gke-gpu-platform:gpuPool": gpuWith(`{"machineType": "g2-standard-4", "acceleratorType": "nvidia-l4", "diskType": "pd-balanced", "flexStart": true,
			"nodeLocations": ["us-central1-a"], ` + extra + `}`),
	}
}

// bigGPUWorker is dev's GPU worker asking for a whole n1-standard-4.
const bigGPUWorker = `[{"name": "gpu-worker", "build": "apps/gpu-worker", "gpu": 1, "queue": {"name": "gpu-jobs", "maxReplicas": 2},
	"resources": {"cpuRequest": "4", "memoryRequest": "14Gi", "cpuLimit": "4", "memoryLimit": "14Gi"}}]`

// All violations are reported at once, so one edit fixes them all.
func TestConfigReportsEveryViolation(t *testing.T) {
	_, err := LoadStackFileWith(t, "dev", map[string]string{
		"gcp:zone":                 "europe-west4",
		"gke-gpu-platform:cpuPool": `{"minNodes": 5, "maxNodes": 2}`,
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `gcp:zone = "europe-west4"`)
	assert.Contains(t, err.Error(), "gke-gpu-platform:cpuPool.maxNodes = 2")
}

// local.images replaces an app's prebuilt image, and the command and args
// that belong to it; apps it does not name keep theirs.
func TestLocalImagesReplaceThePrebuiltOnes(t *testing.T) {
	cfg, err := LoadStackFileWith(t, "local", map[string]string{
		"gke-gpu-platform:local": `{"redisAddress": "10.89.0.2:6379", "images": {"backend": "gke-gpu-platform.local/backend@sha256:ab", "gpu-worker": "gke-gpu-platform.local/gpu-worker@sha256:cd"}}`,
	})
	require.NoError(t, err)
	byName := map[string]config.AppConfig{}
	for _, a := range cfg.Apps {
		byName[a.Name] = a
	}
	assert.Equal(t, "gke-gpu-platform.local/backend@sha256:ab", byName["backend"].Image)
	assert.Empty(t, byName["backend"].Args, "http-echo's args do not belong to the backend's own image")
	assert.Equal(t, "gke-gpu-platform.local/gpu-worker@sha256:cd", byName["gpu-worker"].Image)
	assert.Empty(t, byName["gpu-worker"].Command)
	assert.Equal(t, "nginxinc/nginx-unprivileged:1.27-alpine", byName["frontend"].Image, "not named: the stack file's image")
}

func TestRealStackFilesAreValid(t *testing.T) {
	for _, stack := range []string{"dev", "prod", "local", "pr"} {
		t.Run(stack, func(t *testing.T) {
			cfg, err := config.LoadStackFile("..", stack)
			require.NoError(t, err)
			assert.Equal(t, stack, cfg.Stack)
		})
	}
}

func TestDefaultsFillWhatTheStackLeavesOut(t *testing.T) {
	cfg, err := LoadStackFileWith(t, "dev", map[string]string{
		"gke-gpu-platform:gpuPool": `{"maxNodes": 3}`,
		"gke-gpu-platform:apps":    `[{"name": "web", "image": "nginx:1", "port": 80}]`,
	})
	require.NoError(t, err)
	d := config.Defaults("dev")
	assert.Equal(t, 3, cfg.GPUPool.MaxNodes)
	assert.Equal(t, d.GPUPool.AcceleratorType, cfg.GPUPool.AcceleratorType)
	assert.Equal(t, 0, cfg.GPUPool.MinNodes)
	assert.Equal(t, "ANY", cfg.GPUPool.LocationPolicy)
	assert.Equal(t, "dev", cfg.Namespace)
	assert.Equal(t, config.PlatformGKE, cfg.Platform)
	web := cfg.Apps[0]
	assert.Equal(t, 1, web.ReplicaCount())
	assert.Equal(t, "/healthz", web.HealthPath)
	assert.Equal(t, config.ResourcesConfig{CPURequest: "100m", MemoryRequest: "128Mi", CPULimit: "500m", MemoryLimit: "256Mi",
		EphemeralStorageRequest: "128Mi", EphemeralStorageLimit: "1Gi"}, web.Resources)
}

// LoadStackFileWith loads a real stack file with edits, without the engine.
func LoadStackFileWith(t *testing.T, stack string, edits map[string]string) (config.Config, error) {
	t.Helper()
	values := stackConfig(t, stack, edits)
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	return config.Load(config.Values(values), stack, keys, config.ForReport)
}

// Pulumi.yaml declares exactly the keys the program reads, so the CLI
// type-checks every one and `pulumi config` shows them all.
func TestPulumiYAMLDeclaresEveryKey(t *testing.T) {
	raw, err := os.ReadFile("../Pulumi.yaml")
	require.NoError(t, err)
	var project struct {
		Name    string `yaml:"name"`
		Runtime struct {
			Options struct {
				BuildTarget string `yaml:"buildTarget"`
			}
		} `yaml:"runtime"`
		Config map[string]map[string]any `yaml:"config"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &project))
	assert.Equal(t, config.ConfigNamespace, project.Name)
	assert.NotEmpty(t, project.Runtime.Options.BuildTarget, "buildTarget lets pulumi up reuse the compiled binary")
	var declared []string
	for key, decl := range project.Config {
		declared = append(declared, key)
		assert.NotEmpty(t, decl["type"], key)
		assert.NotEmpty(t, decl["description"], key)
	}
	assert.ElementsMatch(t, config.KnownKeys(), declared)
}

// Review stacks come and go per pull request: they must stay cheap.
func TestPRStackIsCheap(t *testing.T) {
	cfg, err := config.LoadStackFile("..", "pr")
	require.NoError(t, err)
	assert.LessOrEqual(t, cfg.GPUPool.MaxNodes, 1, "no GPU max above 1")
	assert.Zero(t, cfg.GPUPool.MinNodes)
	assert.True(t, cfg.GPUPool.Spot)
	assert.LessOrEqual(t, cfg.CPUPool.MaxNodes, 2, "a small pool")
	assert.True(t, cfg.CPUPool.Spot)
	assert.False(t, cfg.Ingress.StaticIP, "no static IP")
	assert.False(t, cfg.Cluster.DeletionProtection, "review stacks must be destroyable")
	assert.False(t, cfg.Cluster.Protect)
	assert.False(t, cfg.Cluster.Regional)
	e, err := config.EstimateCost(cfg)
	require.NoError(t, err)
	dev, err := config.LoadStackFile("..", "dev")
	require.NoError(t, err)
	devCost, err := config.EstimateCost(dev)
	require.NoError(t, err)
	// Paying its own control plane ($73/month: dev holds the free tier), a
	// review stack still idles for little more than dev.
	assert.LessOrEqual(t, e.IdleDaily, 4.00, "a review stack idles for at most $4/day")
	assert.Less(t, e.IdleMonthly-devCost.IdleMonthly, 73.0, "a review stack's own nodes cost less than dev's")
	assert.False(t, cfg.Cost.FreeTier, "dev holds the billing account's free cluster")
}
