// Package dns runs cluster DNS on the loopback platform's real nodes: the
// image of loopback/cluster/coredns (CoreDNS with its kubernetes plugin, built
// by package images) as a Deployment in kube-system behind the kube-dns
// Service on controlplane.ClusterDNSIP, which is how GKE runs kube-dns and
// what the platform's allow-dns NetworkPolicy lets every pod reach
// (kube-system's pods on port 53). CoreDNS reads Services and
// EndpointSlices from the API server through the `kubernetes` Service, as
// in-cluster clients do, so the control plane must advertise an address
// pods reach (controlplane.Options.AdvertiseAddress) and kube-proxy must run.
package dns

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/controlplane"
)

// Domain is the cluster's DNS domain: Services resolve as
// <service>.<namespace>.svc.cluster.local.
const Domain = "cluster.local"

// Start deploys cluster DNS from image (a digest reference imported into
// the nodes' containerd) and waits until it is Available.
func Start(ctx context.Context, cp *controlplane.ControlPlane, image string) error {
	if _, err := cp.KubectlStdin(ctx, Manifests(image), "apply", "-f", "-"); err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	if _, err := cp.Kubectl(ctx, "-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout", (90 * time.Second).String()); err != nil {
		return fmt.Errorf("dns: coredns did not become Available: %w%s", err, diagnose(ctx, cp))
	}
	return nil
}

// diagnose is what a person would look at when CoreDNS is not Available:
// the nodes' taints (a full disk taints them with disk-pressure), its pods,
// their events and its log.
func diagnose(ctx context.Context, cp *controlplane.ControlPlane) string {
	var b strings.Builder
	for _, args := range [][]string{
		{"get", "nodes", "-o", "custom-columns=NAME:.metadata.name,TAINTS:.spec.taints[*].key"},
		{"-n", "kube-system", "get", "pods", "-l", "k8s-app=kube-dns", "-o", "wide"},
		{"-n", "kube-system", "describe", "pods", "-l", "k8s-app=kube-dns"},
		{"-n", "kube-system", "logs", "-l", "k8s-app=kube-dns", "--tail", "30"},
		{"get", "endpointslices", "-n", "default", "-l", "kubernetes.io/service-name=kubernetes", "-o", "wide"},
	} {
		out, err := cp.Kubectl(ctx, args...)
		fmt.Fprintf(&b, "\n$ kubectl %s\n%s", strings.Join(args, " "), out)
		if err != nil {
			fmt.Fprintf(&b, "(%v)\n", err)
		}
	}
	return b.String()
}

// corefile serves the cluster domain and reverse lookups from the API
// server (CoreDNS's documented Kubernetes setup, without forward: nothing
// outside this host answers here), with health and readiness endpoints for
// the probes.
const corefile = `.:53 {
    errors
    health :8080
    ready :8181
    kubernetes ` + Domain + ` in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    cache 30
    loadbalance
}
`

// Manifests are cluster DNS's objects: its service account and the read
// access CoreDNS's kubernetes plugin needs (CoreDNS's deployment
// manifests' system:coredns role), the Corefile, the Deployment (restricted
// security context: non-root, read-only root filesystem, no capabilities;
// port 53 binds because the nodes' containerd opens unprivileged ports to
// pods) and the kube-dns Service.
func Manifests(image string) string {
	indented := "    " + strings.ReplaceAll(strings.TrimSuffix(corefile, "\n"), "\n", "\n    ")
	return fmt.Sprintf(`apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects:
- {kind: ServiceAccount, name: coredns, namespace: kube-system}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
%[1]s
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
  labels: {k8s-app: kube-dns}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata:
      labels: {k8s-app: kube-dns}
    spec:
      serviceAccountName: coredns
      priorityClassName: system-cluster-critical
      dnsPolicy: Default
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: coredns
        image: %[2]s
        args: [-conf, /etc/coredns/Corefile]
        ports:
        - {name: dns, containerPort: 53, protocol: UDP}
        - {name: dns-tcp, containerPort: 53, protocol: TCP}
        resources:
          requests: {cpu: 50m, memory: 40Mi}
          limits: {memory: 128Mi}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
        livenessProbe:
          httpGet: {path: /health, port: 8080}
        readinessProbe:
          httpGet: {path: /ready, port: 8181}
        volumeMounts:
        - {name: config, mountPath: /etc/coredns, readOnly: true}
      volumes:
      - name: config
        configMap: {name: coredns}
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns}
spec:
  selector: {k8s-app: kube-dns}
  clusterIP: %[3]s
  ports:
  - {name: dns, port: 53, protocol: UDP, targetPort: 53}
  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}
`, indented, image, controlplane.ClusterDNSIP)
}
