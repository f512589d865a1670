package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// The annotations the guard reads and writes on a KEDA scaler. KEDA's own
// pause annotations (https://keda.sh/docs/latest/concepts/scaling-deployments/#pause-autoscaling):
// paused-replicas "0" scales a ScaledObject's Deployment to zero and holds
// it there (KEDA 2.7+); paused "true" stops a ScaledJob starting Jobs
// (KEDA 2.11+). Removing them resumes scaling.
const (
	pausedReplicas = "autoscaling.keda.sh/paused-replicas"
	paused         = "autoscaling.keda.sh/paused"
	// pausedFor is the budget period (costIntervalStart) the guard paused in.
	pausedFor = "gke-gpu-platform/spend-guard-paused-for"
	// resumedFor is the period a person resumed by hand (`spend-guard
	// resume`): the guard does not pause again in it.
	resumedFor = "gke-gpu-platform/spend-guard-resumed-for"
	// latestPeriod is the latest period the guard acted in.
	latestPeriod = "gke-gpu-platform/spend-guard-period"
)

// scaler is one KEDA object the guard pauses: a ScaledObject or a ScaledJob.
type scaler struct {
	// Kind is ScaledObject or ScaledJob.
	Kind string
	// Name is its name in the guard's namespace.
	Name string
}

// resource is the scaler's plural resource name in keda.sh/v1alpha1.
func (s scaler) resource() string {
	if s.Kind == "ScaledJob" {
		return "scaledjobs"
	}
	return "scaledobjects"
}

// pauseAnnotations are the annotations that pause this kind of scaler.
func (s scaler) pauseAnnotations(period string) map[string]*string {
	zero, yes := "0", "true"
	set := map[string]*string{pausedFor: &period, resumedFor: nil, latestPeriod: &period}
	if s.Kind == "ScaledJob" {
		set[paused] = &yes
	} else {
		set[pausedReplicas] = &zero
	}
	return set
}

// resumeAnnotations remove every pause in period; byHand records a resume
// by hand, for which the guard does not pause again in that period.
func resumeAnnotations(period string, byHand bool) map[string]*string {
	set := map[string]*string{pausedReplicas: nil, paused: nil, pausedFor: nil, resumedFor: nil, latestPeriod: &period}
	if byHand {
		set[resumedFor] = &period
	}
	return set
}

// kube is the little of the Kubernetes API the guard uses, over HTTPS with
// a service account's token: get and patch its scalers, create Events.
type kube struct {
	server    string
	tokenFile string
	namespace string
	client    *http.Client
}

// serviceAccountDir is where the kubelet mounts a pod's token and CA.
const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// newKube talks to server (default: the in-cluster API server) with the
// token in tokenFile, trusting the CA in caFile (defaults: the pod's own).
func newKube(server, tokenFile, caFile, namespace string) (*kube, error) {
	if server == "" {
		host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
		if host == "" || port == "" {
			return nil, errors.New("no API server: not in a pod (KUBERNETES_SERVICE_HOST unset) and no --server")
		}
		server = "https://" + net.JoinHostPort(host, port)
	}
	if tokenFile == "" {
		tokenFile = serviceAccountDir + "/token"
	}
	if caFile == "" {
		caFile = serviceAccountDir + "/ca.crt"
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("the API server's CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("the API server's CA %s holds no certificate", caFile)
	}
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	return &kube{server: server, tokenFile: tokenFile, namespace: namespace,
		client: &http.Client{Transport: transport, Timeout: 30 * time.Second}}, nil
}

func (k *kube) path(s scaler) string {
	return fmt.Sprintf("/apis/keda.sh/v1alpha1/namespaces/%s/%s/%s", k.namespace, s.resource(), s.Name)
}

// do sends one request; the token is read each time, as the kubelet
// rotates it.
func (k *kube) do(ctx context.Context, method, path, contentType string, body any, out any) error {
	token, err := os.ReadFile(k.tokenFile)
	if err != nil {
		return fmt.Errorf("service account token: %w", err)
	}
	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, k.server+path, reader)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+string(bytes.TrimSpace(token)))
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// state reads what the scaler's annotations say of the guard.
func (k *kube) state(ctx context.Context, s scaler) (guardState, error) {
	var obj struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	if err := k.do(ctx, http.MethodGet, k.path(s), "", nil, &obj); err != nil {
		return guardState{}, err
	}
	a := obj.Metadata.Annotations
	st := guardState{PausedFor: a[pausedFor], ResumedFor: a[resumedFor], Latest: a[latestPeriod]}
	st.ByOthers = st.PausedFor == "" && (a[pausedReplicas] != "" || a[paused] == "true")
	return st, nil
}

// annotate sets (or, for nil values, removes) annotations with a JSON
// merge patch: nothing else of the object is touched.
func (k *kube) annotate(ctx context.Context, s scaler, set map[string]*string) error {
	patch := map[string]any{"metadata": map[string]any{"annotations": set}}
	return k.do(ctx, http.MethodPatch, k.path(s), "application/merge-patch+json", patch, nil)
}

// event records what the guard did on the scaler, as `kubectl describe`
// and `kubectl get events` show it.
func (k *kube) event(ctx context.Context, s scaler, reason, message string) error {
	now := time.Now().UTC().Format(time.RFC3339)
	ev := map[string]any{
		"apiVersion": "v1", "kind": "Event",
		"metadata": map[string]any{"generateName": s.Name + ".spend-guard.", "namespace": k.namespace},
		"involvedObject": map[string]any{
			"apiVersion": "keda.sh/v1alpha1", "kind": s.Kind, "name": s.Name, "namespace": k.namespace,
		},
		"reason": reason, "message": message, "type": "Warning",
		"source":         map[string]any{"component": "spend-guard"},
		"firstTimestamp": now, "lastTimestamp": now, "count": 1,
	}
	if reason == "SpendGuardResumed" {
		ev["type"] = "Normal"
	}
	return k.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/namespaces/%s/events", k.namespace), "application/json", ev, nil)
}
