// Package keda runs the real KEDA beside the loopback control plane:
// its operator and its metrics adapter as host processes (the kwok nodes run
// no pods), built from the Go module proxy by tools/build.sh, with KEDA's own
// CRDs. The operator activates a ScaledObject (0 <-> 1) and creates the HPA;
// the adapter serves external.metrics.k8s.io, which the API server's
// aggregation layer reaches through an ExternalName Service on localhost,
// so the real HPA controller scales 1 -> N. Nothing here decides a replica
// count: KEDA and the HPA controller do.
package keda

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/controlplane"
)

// Namespace is where KEDA's objects live, as on GKE.
const Namespace = "keda"

// InstallCRDs applies KEDA's CRDs (binDir/keda-crds, copied from KEDA's
// module by tools/build.sh keda-crds, in seconds) and its namespace. The
// operator need not be built yet: ScaledObjects applied before it runs are
// reconciled when it starts, as after any operator restart.
func InstallCRDs(ctx context.Context, cp *controlplane.ControlPlane, binDir string) error {
	crds := filepath.Join(binDir, "keda-crds")
	if _, err := os.Stat(crds); err != nil {
		return fmt.Errorf("keda: keda-crds not found in %s: run tools/build.sh keda-crds first", binDir)
	}
	if _, err := cp.Kubectl(ctx, "apply", "--server-side", "-f", crds); err != nil {
		return fmt.Errorf("keda: KEDA's CRDs: %w", err)
	}
	_, err := cp.KubectlStdin(ctx, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: "+Namespace+"\n", "apply", "-f", "-")
	return err
}

// Start applies KEDA's CRDs and starts the operator and the adapter, then
// waits until the external metrics API is Available. binDir holds
// keda-operator, keda-adapter and keda-crds/. cp may come from
// controlplane.Open: KEDA can join a cluster another process started.
func Start(ctx context.Context, cp *controlplane.ControlPlane, binDir string) error {
	for _, f := range []string{"keda-operator", "keda-adapter"} {
		if _, err := os.Stat(filepath.Join(binDir, f)); err != nil {
			return fmt.Errorf("keda: %s not found in %s: run tools/build.sh keda first", f, binDir)
		}
	}
	if err := InstallCRDs(ctx, cp, binDir); err != nil {
		return err
	}

	// The operator's gRPC metrics service is mutual TLS; operator and adapter
	// read ca.crt, tls.crt and tls.key from the same directory, as in-cluster
	// they mount the same secret. Our CA signs it, so no cert rotation runs.
	certs := filepath.Join(cp.Dir, "keda-certs")
	if err := os.MkdirAll(certs, 0o700); err != nil {
		return err
	}
	if err := cp.IssueCertificate(filepath.Join(certs, "tls.crt"), filepath.Join(certs, "tls.key"), "keda-operator",
		[]string{"localhost", "127.0.0.1", "keda-operator.keda.svc", "keda-operator.keda.svc.cluster.local",
			// The aggregator checks the adapter against its Service's name.
			"keda-operator-metrics-apiserver.keda.svc"}); err != nil {
		return err
	}
	ca, err := os.ReadFile(cp.CACert())
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(certs, "ca.crt"), ca, 0o600); err != nil {
		return err
	}

	ports, err := controlplane.FreePorts(6)
	if err != nil {
		return err
	}
	metrics, health, grpc, adapterTLS, adapterMetrics, profiling := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]
	loopback := func(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }
	// WATCH_NAMESPACE must be set: empty means every namespace.
	env := []string{"WATCH_NAMESPACE=", "POD_NAMESPACE=" + Namespace, "KEDA_CLUSTER_OBJECT_NAMESPACE=" + Namespace}
	if err := cp.StartProcess("keda-operator", filepath.Join(binDir, "keda-operator"), env,
		"--kubeconfig", cp.Kubeconfig, "--leader-elect=false",
		"--metrics-bind-address", loopback(metrics), "--health-probe-bind-address", loopback(health),
		"--metrics-service-bind-address", loopback(grpc),
		"--cert-dir", certs, "--enable-cert-rotation=false",
		"--enable-apiservice-patching=false", "--enable-webhook-patching=false",
		"--zap-log-level", "info"); err != nil {
		return err
	}
	if err := cp.StartProcess("keda-adapter", filepath.Join(binDir, "keda-adapter"), env,
		"--kubeconfig", cp.Kubeconfig, "--lister-kubeconfig", cp.Kubeconfig,
		"--authentication-kubeconfig", cp.Kubeconfig, "--authorization-kubeconfig", cp.Kubeconfig,
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(adapterTLS),
		"--tls-cert-file", filepath.Join(certs, "tls.crt"), "--tls-private-key-file", filepath.Join(certs, "tls.key"),
		"--cert-dir", certs,
		"--metrics-service-address", loopback(grpc),
		"--port", strconv.Itoa(adapterMetrics), "--profiling-bind-address", loopback(profiling)); err != nil {
		return err
	}

	// The aggregation layer resolves an ExternalName Service to
	// https://<externalName>:<port>: the adapter on loopback, reached
	// without kube-proxy (which the loopback cluster does not have).
	if _, err := cp.KubectlStdin(ctx, apiService(adapterTLS, ca), "apply", "-f", "-"); err != nil {
		return fmt.Errorf("keda: register the external metrics API: %w", err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		ok, out, err := Available(ctx, cp)
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("keda: the external metrics API did not become Available: %s %v (logs: %s)",
				out, err, filepath.Join(cp.Dir, "logs", "keda-adapter.log"))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Available reports whether KEDA's external metrics API is served: the
// adapter is up and the aggregation layer reaches it. detail is the
// APIService's condition, for messages.
func Available(ctx context.Context, cp *controlplane.ControlPlane) (ok bool, detail string, err error) {
	out, err := cp.Kubectl(ctx, "get", "apiservice", "v1beta1.external.metrics.k8s.io",
		"-o", `jsonpath={.status.conditions[?(@.type=="Available")].status} {.status.conditions[?(@.type=="Available")].message}`)
	return err == nil && strings.HasPrefix(out, "True"), out, err
}

func apiService(port int, caPEM []byte) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: keda-operator-metrics-apiserver
  namespace: %[1]s
spec:
  type: ExternalName
  externalName: localhost
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v1beta1.external.metrics.k8s.io
spec:
  group: external.metrics.k8s.io
  version: v1beta1
  groupPriorityMinimum: 100
  versionPriority: 100
  caBundle: %[3]s
  service:
    name: keda-operator-metrics-apiserver
    namespace: %[1]s
    port: %[2]d
`, Namespace, port, base64.StdEncoding.EncodeToString(caPEM))
}
