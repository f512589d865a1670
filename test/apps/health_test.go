// Package apps_test runs the shipped sample apps as real processes and asks
// them what a Google Cloud load balancer asks: their health path, on every
// stack that routes to them.
package apps_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
)

// gkeStacks are the stack files whose routes a GKE Ingress serves.
var gkeStacks = []string{"dev", "prod", "pr"}

// A GKE Ingress backend is healthy only when its health check gets exactly
// HTTP 200 (cloud.google.com/kubernetes-engine/docs/concepts/ingress#health_checks);
// kubelet's probes accept any 2xx or 3xx, so only this test sees a 204. Every
// app a stack builds from this repository and routes is started from its
// source and asked for the healthPath that stack gives it.
func TestRoutedAppsAnswer200OnTheirHealthPath(t *testing.T) {
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	bin := t.TempDir()
	built := map[string]string{}
	checked := 0
	for _, stack := range gkeStacks {
		cfg, err := config.LoadStackFile(root, stack)
		require.NoError(t, err, stack)
		for _, a := range cfg.Apps {
			if a.Path == "" {
				continue
			}
			require.NotEmpty(t, a.Build, "%s: %s is routed but not built from this repository; this test can only run what it builds", stack, a.Name)
			exe, ok := built[a.Build]
			if !ok {
				exe = filepath.Join(bin, filepath.Base(a.Build))
				cmd := exec.Command("go", "build", "-o", exe, ".")
				cmd.Dir = filepath.Join(root, a.Build)
				out, err := cmd.CombinedOutput()
				require.NoError(t, err, "go build %s: %s", a.Build, out)
				built[a.Build] = exe
			}
			t.Run(stack+"/"+a.Name, func(t *testing.T) {
				status := healthStatus(t, exe, a.HealthPath)
				assert.Equal(t, http.StatusOK, status, "GET %s on %s (%s): a GKE load balancer counts only 200 as healthy", a.HealthPath, a.Name, a.Build)
			})
			checked++
		}
	}
	assert.GreaterOrEqual(t, checked, 6, "dev, prod and pr route two apps each")
}

// healthStatus starts exe listening on a free loopback port and returns the
// status of GET path, once it answers.
func healthStatus(t *testing.T, exe, path string) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())

	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port))
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	client := &http.Client{Timeout: 2 * time.Second}
	url := fmt.Sprintf("http://127.0.0.1:%d%s", port, path)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			return resp.StatusCode
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered on %s: %v", exe, url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
