package controlplane

import (
	"encoding/base64"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/gpuclass"
)

func adminKubeconfig(server string, p *pki) string {
	return kubeconfigFor(server, p.caCert, p.adminCert, p.adminKey)
}

// kubeconfigFor is a kubeconfig for one client certificate.
func kubeconfigFor(server, caCert, cert, key string) string {
	b64 := func(path string) string {
		data, err := os.ReadFile(path)
		if err != nil {
			panic(err) // written a moment ago
		}
		return base64.StdEncoding.EncodeToString(data)
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: %s
    certificate-authority-data: %s
contexts:
- name: local
  context:
    cluster: local
    user: user
current-context: local
users:
- name: user
  user:
    client-certificate-data: %s
    client-key-data: %s
`, server, b64(caCert), b64(cert), b64(key))
}

// nodesYAML renders the simulated nodes. kwok (the kwok.x-k8s.io/node=fake
// annotation selects them) keeps them
// Ready and runs the pods scheduled on them.
func nodesYAML(nodes []Node) string {
	var b strings.Builder
	for _, n := range nodes {
		labels := map[string]string{
			"kubernetes.io/hostname": n.Name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "kwok",
		}
		for k, v := range n.Labels {
			labels[k] = v
		}
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: %s\n  annotations:\n    kwok.x-k8s.io/node: fake\n    node.alpha.kubernetes.io/ttl: \"0\"\n  labels:\n", n.Name)
		for _, k := range slices.Sorted(maps.Keys(labels)) {
			fmt.Fprintf(&b, "    %s: %q\n", k, labels[k])
		}
		if n.GPUs > 0 {
			// GKE's GPU taint and the GPU ComputeClass's.
			fmt.Fprintf(&b, "spec:\n  taints:\n  - key: nvidia.com/gpu\n    value: present\n    effect: NoSchedule\n  - key: %s\n    value: %s\n    effect: %s\n",
				gpuclass.Label, gpuclass.Name, gpuclass.TaintEffect)
		}
		resources := fmt.Sprintf("      cpu: %q\n      memory: %q\n      pods: \"110\"\n", n.CPU, n.Memory)
		if n.Disk != "" {
			resources += fmt.Sprintf("      ephemeral-storage: %q\n", n.Disk)
		}
		if n.GPUs > 0 {
			resources += fmt.Sprintf("      nvidia.com/gpu: \"%d\"\n", n.GPUs)
		}
		fmt.Fprintf(&b, "status:\n  allocatable:\n%s  capacity:\n%s  nodeInfo:\n    architecture: amd64\n    kubeletVersion: fake\n    operatingSystem: linux\n  phase: Running\n", resources, resources)
	}
	return b.String()
}

// kwokStagesConfig is kwok's --config: kwok's own node and pod lifecycle
// stages (tools/build.sh copies them out of kwok's module into dir: since
// v0.8 the controller runs only the stages it is given) and kwokStages.
func kwokStagesConfig(dir string) (string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return "", fmt.Errorf("controlplane: no kwok stages in %s: run tools/build.sh first", dir)
	}
	sort.Strings(files)
	var b strings.Builder
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("controlplane: %w", err)
		}
		b.WriteString(strings.TrimPrefix(strings.TrimSpace(string(raw)), "---"))
		b.WriteString("\n---\n")
	}
	b.WriteString(kwokStages)
	return b.String(), nil
}

// kwokStages adds what no controller does on a bare control plane: an
// address for every Ingress, as a cloud load balancer would report (the
// Pulumi Kubernetes provider waits for it). Pod and node lifecycles are
// kwok's own stages (kwokStagesConfig).
const kwokStages = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: ingress-load-balancer
spec:
  resourceRef:
    apiGroup: networking.k8s.io/v1
    kind: Ingress
  selector:
    matchExpressions:
    - key: .metadata.deletionTimestamp
      operator: DoesNotExist
    - key: .status.loadBalancer.ingress
      operator: DoesNotExist
  next:
    statusTemplate: |
      loadBalancer:
        ingress:
        - ip: ` + IngressAddress + `
`
