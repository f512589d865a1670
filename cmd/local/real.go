package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/controlplane"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/engine"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/node"
)

// realNodes reports whether the cluster in p runs on real nodes.
func realNodes(p paths) bool { return len(node.Names(p.cluster)) > 0 }

func nodesOf(p paths) string {
	if realNodes(p) {
		return "real"
	}
	return "simulated"
}

// serviceURL is http://<ClusterIP> of a Service of the platform namespace:
// this host reaches ClusterIPs through kube-proxy's rules, as pods do.
func serviceURL(ctx context.Context, p paths, service string) (string, error) {
	cp, err := controlplane.Open(p.cluster, p.bin)
	if err != nil {
		return "", err
	}
	ip, err := cp.Kubectl(ctx, "get", "service", service, "-n", "platform", "-o", "jsonpath={.spec.clusterIP}")
	if err != nil {
		return "", err
	}
	return "http://" + strings.TrimSpace(ip), nil
}

// printCurls shows what a person can curl on real nodes.
func printCurls(ctx context.Context, p paths) {
	frontend, err1 := serviceURL(ctx, p, "frontend")
	backend, err2 := serviceURL(ctx, p, "backend")
	if err1 != nil || err2 != nil {
		return
	}
	fmt.Printf("On real nodes no ingress controller runs: url and ingressAddress above are kwok's simulated load\n" +
		"balancer. The apps, in real containers, on their Services' ClusterIPs (through kube-proxy):\n")
	fmt.Printf("  curl %s/\n  curl %s/api/hello\n", frontend, backend)
	fmt.Printf("  curl -X POST -H \"Authorization: Bearer $(%s)\" %s/api/jobs   # enqueue one job\n", tokenCommand, backend)
}

// tokenCommand prints the local stack's enqueue token.
const tokenCommand = "bin/local token"

// enqueueThroughBackend POSTs n jobs to the backend's /api/jobs with the
// stack's enqueue token, as a user's request would arrive; each job's input
// asks the worker to hold the GPU seconds long.
func enqueueThroughBackend(ctx context.Context, p paths, opts engine.Options, n, seconds int) error {
	token, err := engine.EnqueueToken(opts)
	if err != nil {
		return err
	}
	base, err := serviceURL(ctx, p, "backend")
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for range n {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/jobs", strings.NewReader(fmt.Sprintf(`{"seconds":%d}`, seconds)))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("POST %s/api/jobs: HTTP %d: %s", base, resp.StatusCode, body)
		}
		fmt.Printf("POST %s/api/jobs -> %d %s", base, resp.StatusCode, body)
	}
	fmt.Printf("%d job(s) enqueued by the backend; KEDA scales the GPU worker from zero, it does them, then back to zero\n", n)
	return nil
}
