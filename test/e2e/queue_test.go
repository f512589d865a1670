//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/graphtest"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/controlplane"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/engine"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/queue"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/storage"
	"github.com/gke-gpu-platform/gke-gpu-platform/stacks"
)

// process is one program the test started; it is stopped by its PID.
type process struct {
	cmd *exec.Cmd
	out *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func start(t *testing.T, env []string, path string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(path, args...), out: &lockedBuffer{}}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() { p.stop() })
	return p
}

// stop sends SIGTERM, then SIGKILL after 10 s.
func (p *process) stop() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// appEnv is the environment the platform gives an app of the local stack
// (read from its Deployment in the mocked graph): the contract under test.
func appEnv(t *testing.T, project, redis, objects, app string) []string {
	t.Helper()
	values, err := config.StackFileConfig(project, "local")
	require.NoError(t, err)
	values["gke-gpu-platform:local"] = fmt.Sprintf(`{"redisAddress": %q, "storageAddress": %q}`, redis, objects)
	// The enqueue token make local sets (encrypted, as the engine passes it).
	values["gke-gpu-platform:secrets"] = `{"enqueueToken": "[secret]"}`
	g, err := graphtest.Run(t, stacks.Program, "local", values)
	require.NoError(t, err)
	d, ok := g.Named("kubernetes:apps/v1:Deployment", app)
	require.True(t, ok, app)
	var env []string
	containers := d.Plain("spec.template.spec.containers").([]any)
	for _, e := range containers[0].(map[string]any)["env"].([]any) {
		m := e.(map[string]any)
		if v, ok := m["value"].(string); ok {
			env = append(env, m["name"].(string)+"="+v)
		}
	}
	return env
}

// The project's own backend and GPU worker, built from this repository, on
// a real Redis and a real fake-gcs-server, with the environment the
// platform gives them: without the token, 401; a job posted with the token
// is done and acknowledged, and GET /api/jobs/{id} follows it to
// succeeded with the worker's result; a job that always fails ends in the
// dead-letter stream after maxDeliveryAttempts, its record dead-lettered.
func TestAppsOnTheRealQueue(t *testing.T) {
	project, err := engine.FindProjectDir(".")
	require.NoError(t, err)
	redisServer, err := exec.LookPath("redis-server")
	require.NoError(t, err, "redis-server is needed (tools/build.sh installs it)")
	tools := os.Getenv("TOOLS_BIN")
	if tools == "" {
		tools = filepath.Join(project, ".tools", "bin")
	}
	ports, err := controlplane.FreePorts(3)
	require.NoError(t, err)
	redisAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	start(t, nil, redisServer, append([]string{"--bind", "127.0.0.1", "--port", fmt.Sprint(ports[0])}, queue.Durability(t.TempDir())...)...)
	objects := fmt.Sprintf("127.0.0.1:%d", ports[2])
	start(t, nil, filepath.Join(tools, "fake-gcs-server"), "-scheme", "http", "-host", "127.0.0.1", "-port", fmt.Sprint(ports[2]),
		"-backend", "filesystem", "-filesystem-root", t.TempDir(), "-log-level", "warn")
	ctx := context.Background()
	q := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { _ = q.Close() })
	eventually(t, 10*time.Second, "redis answers", func() bool { return q.Ping(ctx).Err() == nil })
	eventually(t, 10*time.Second, "fake-gcs-server answers", func() bool {
		return storage.Client{Addr: objects}.EnsureBucket(ctx, "gpu-jobs-jobs") == nil
	})
	counts := func() queue.Counts { n, err := queue.Count(ctx, q, "gpu-jobs"); require.NoError(t, err); return n }

	bin := t.TempDir()
	for _, app := range []string{"backend", "gpu-worker"} {
		build := exec.Command("go", "build", "-o", filepath.Join(bin, app), ".")
		build.Dir = filepath.Join(project, "apps", app)
		out, err := build.CombinedOutput()
		require.NoError(t, err, "go build %s: %s", app, out)
	}
	okSMI := filepath.Join(bin, "nvidia-smi")
	require.NoError(t, os.WriteFile(okSMI, []byte("#!/bin/sh\necho 'GPU 0: stand-in (no GPU on this machine)'\n"), 0o755))

	const token = "e2e-enqueue-token"
	backendEnv := append(appEnv(t, project, redisAddr, objects, "backend"), fmt.Sprintf("PORT=%d", ports[1]), "ENQUEUE_TOKEN="+token)
	start(t, backendEnv, filepath.Join(bin, "backend"))
	api := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	call := func(method, path, auth, body string) (int, []byte) {
		req, _ := http.NewRequest(method, api+path, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	post := func() string {
		code, body := call(http.MethodPost, "/api/jobs", token, `{"prompt":"a cat"}`)
		require.Equal(t, http.StatusAccepted, code, "%s", body)
		var r struct{ ID string }
		require.NoError(t, json.Unmarshal(body, &r))
		return r.ID
	}
	record := func(id string) map[string]any {
		code, body := call(http.MethodGet, "/api/jobs/"+id, token, "")
		require.Equal(t, http.StatusOK, code, "%s", body)
		var r map[string]any
		require.NoError(t, json.Unmarshal(body, &r))
		return r
	}
	eventually(t, 10*time.Second, "the backend answers", func() bool { c, _ := call(http.MethodPost, "/api/jobs", "", ""); return c != 0 })
	for _, auth := range []string{"", "guess"} {
		code, _ := call(http.MethodPost, "/api/jobs", auth, `{}`)
		assert.Equal(t, http.StatusUnauthorized, code, "token %q", auth)
	}
	assert.Zero(t, counts().Waiting, "a refused request enqueues nothing")

	workerEnv := appEnv(t, project, redisAddr, objects, "gpu-worker")
	t.Run("a job is done, and its record says so with its result", func(t *testing.T) {
		id := post()
		assert.Equal(t, "queued", record(id)["state"], "recorded before any worker runs")
		worker := start(t, append(workerEnv, "NVIDIA_SMI="+okSMI, "HOSTNAME=gpu-worker-e2e"), filepath.Join(bin, "gpu-worker"))
		took := eventually(t, 30*time.Second, "the job succeeded", func() bool { return record(id)["state"] == "succeeded" })
		t.Logf("posted -> succeeded in %s", took.Round(time.Millisecond))
		r := record(id)
		assert.EqualValues(t, 1, r["attempts"])
		assert.Equal(t, map[string]any{"pod": "gpu-worker-e2e"}, r["worker"])
		assert.Contains(t, fmt.Sprint(r["result"]), "stand-in (no GPU on this machine)", "the worker's result, inline")
		code, result := call(http.MethodGet, "/api/jobs/"+id+"/result", token, "")
		assert.Equal(t, http.StatusOK, code)
		assert.Contains(t, string(result), `"gpus":["GPU 0: stand-in (no GPU on this machine)"]`)
		n := counts()
		assert.Zero(t, n.Waiting+n.InFlight)
		worker.stop()
		assert.Contains(t, worker.out.String(), "stopping")
	})
	t.Run("a job that always fails ends in the dead letters with its last error", func(t *testing.T) {
		id := post()
		worker := start(t, append(workerEnv, "NVIDIA_SMI="+filepath.Join(bin, "missing")), filepath.Join(bin, "gpu-worker"))
		eventually(t, 60*time.Second, "the job reaches gpu-jobs:dead", func() bool {
			return counts().Dead == 1
		})
		worker.stop()
		assert.Equal(t, 5, strings.Count(worker.out.String(), "job failed, left for redelivery"), "delivered maxDeliveryAttempts (5) times:\n%s", worker.out.String())
		n := counts()
		assert.Zero(t, n.Waiting+n.InFlight, "the job is only in the dead letters")
		dead, err := q.XRange(ctx, stacks.DeadLetterList("gpu-jobs"), "-", "+").Result()
		require.NoError(t, err)
		assert.Contains(t, dead[0].Values["error"], "failed on delivery 5 of 5: no GPU visible", "the dead letter says why")
		r := record(id)
		assert.Equal(t, "dead-lettered", r["state"])
		assert.EqualValues(t, 5, r["attempts"])
		assert.Contains(t, r["error"], "no GPU visible")
	})
}

// The harness's client of the job records' server (what `bin/local jobs`,
// `job` and `replay` use) against the real fake-gcs-server binary.
func TestStorageClientOnTheRealServer(t *testing.T) {
	project, err := engine.FindProjectDir(".")
	require.NoError(t, err)
	tools := os.Getenv("TOOLS_BIN")
	if tools == "" {
		tools = filepath.Join(project, ".tools", "bin")
	}
	ports, err := controlplane.FreePorts(1)
	require.NoError(t, err)
	start(t, nil, filepath.Join(tools, "fake-gcs-server"), "-scheme", "http", "-host", "127.0.0.1", "-port", fmt.Sprint(ports[0]),
		"-backend", "filesystem", "-filesystem-root", t.TempDir(), "-log-level", "warn")
	c := storage.Client{Addr: fmt.Sprintf("127.0.0.1:%d", ports[0])}
	ctx := context.Background()
	eventually(t, 10*time.Second, "fake-gcs-server answers", func() bool { return c.EnsureBucket(ctx, "gpu-jobs-jobs") == nil })
	require.NoError(t, c.EnsureBucket(ctx, "gpu-jobs-jobs"), "a second time: no error")
	require.NoError(t, c.Write(ctx, "gpu-jobs-jobs", "jobs/a.json", []byte(`{"id":"a","state":"queued"}`)))
	require.NoError(t, c.Write(ctx, "gpu-jobs-jobs", "jobs/a/result", []byte(`{"ok":true}`)))
	objects, err := c.List(ctx, "gpu-jobs-jobs", "jobs/")
	require.NoError(t, err)
	var names []string
	for _, o := range objects {
		names = append(names, o.Name)
	}
	assert.ElementsMatch(t, []string{"jobs/a.json", "jobs/a/result"}, names)
	got, err := c.Read(ctx, "gpu-jobs-jobs", "jobs/a.json")
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":"a","state":"queued"}`, string(got))
	_, err = c.Read(ctx, "gpu-jobs-jobs", "jobs/b.json")
	assert.ErrorIs(t, err, os.ErrNotExist)
}
