//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/queue"
)

// spendGuard runs the real apps/spend-guard (a host process here: the
// simulated nodes run no container) against the real API server and the
// real KEDA operator, with a token of the service account the stack made
// for it (the Role lets it get and patch the worker's ScaledObject only),
// reading budget messages from the local budget stream in Cloud Billing's
// format. Over the cap it pauses the GPU worker's ScaledObject, and KEDA
// takes the worker to zero with its jobs still queued; repeats and a
// forecast change nothing; a malformed message is dropped; a message of the
// next period resumes it, and KEDA scales the worker up to its backlog again.
func (e *env) spendGuard(t *testing.T) {
	t.Run("spendGuard", func(t *testing.T) {
		ctx := context.Background()
		dir := t.TempDir()
		guardBin := filepath.Join(dir, "spend-guard")
		build := exec.Command("go", "build", "-trimpath", "-o", guardBin, ".")
		build.Dir = filepath.Join(e.project, "apps", "spend-guard")
		out, err := build.CombinedOutput()
		require.NoError(t, err, "%s", out)

		// What the stack's Role allows, and what it does not.
		canI := func(verb, what string) string {
			// kubectl exits 1 on "no": the answer is what it printed.
			out, _ := e.cp.Kubectl(ctx, "auth", "can-i", verb, what, "-n", namespace, "--as=system:serviceaccount:spend-guard:spend-guard")
			return strings.TrimSpace(out)
		}
		assert.Equal(t, "yes", canI("patch", "scaledobjects.keda.sh/gpu-worker"))
		assert.Equal(t, "yes", canI("create", "events"))
		assert.Equal(t, "no", canI("patch", "scaledobjects.keda.sh/other"))
		assert.Equal(t, "no", canI("list", "scaledobjects.keda.sh"))
		assert.Equal(t, "no", canI("patch", "deployments/gpu-worker"))
		token := filepath.Join(dir, "token")
		require.NoError(t, os.WriteFile(token, []byte(e.kubectl(t, "create", "token", "spend-guard", "-n", "spend-guard")), 0o600))

		replicas := func() string {
			return e.kubectl(t, "get", "deployment", "gpu-worker", "-n", namespace, "-o", "jsonpath={.spec.replicas}")
		}
		annotation := func(key string) string {
			return e.kubectl(t, "get", "scaledobject", "gpu-worker", "-n", namespace, "-o",
				"jsonpath={.metadata.annotations."+strings.ReplaceAll(strings.ReplaceAll(key, ".", `\.`), "/", `\/`)+"}")
		}
		require.Equal(t, "0", replicas())
		const jobs = 3
		require.NoError(t, queue.Add(ctx, e.queue, "gpu-jobs", `{"id":"g-0"}`, `{"id":"g-1"}`, `{"id":"g-2"}`))
		t.Cleanup(func() {
			require.NoError(t, e.queue.Del(ctx, "gpu-jobs", "budget").Err())
			require.NoError(t, queue.EnsureGroup(ctx, e.queue, "gpu-jobs"))
			eventually(t, 2*time.Minute, "the GPU worker back at zero", func() bool { return replicas() == "0" })
		})
		eventually(t, 2*time.Minute, "KEDA scaling the worker up to its backlog", func() bool { return replicas() == "2" })

		logFile, err := os.Create(filepath.Join(dir, "spend-guard.log"))
		require.NoError(t, err)
		guard := exec.Command(guardBin, "--server", e.cp.Server, "--token-file", token, "--ca-file", e.cp.CACert(), "--namespace", namespace)
		guard.Env = append(os.Environ(), "SPEND_GUARD_SCALERS=ScaledObject/gpu-worker", "REDIS_ADDR="+e.queue.Options().Addr, "BUDGET_STREAM=budget")
		guard.Stdout, guard.Stderr = logFile, logFile
		require.NoError(t, guard.Start())
		t.Cleanup(func() {
			_ = guard.Process.Signal(syscall.SIGTERM)
			_ = guard.Wait()
			log, _ := os.ReadFile(logFile.Name())
			t.Logf("spend-guard log:\n%s", log)
		})
		publish := func(name string) { e.publishBudget(t, name) }
		handled := func(what string) {
			eventually(t, time.Minute, what+" read and acknowledged", func() bool {
				n, err := e.queue.XLen(ctx, "budget").Result()
				return err == nil && n == 0
			})
		}
		events := func() int {
			return len(strings.Fields(e.kubectl(t, "get", "events", "-n", namespace,
				"--field-selector", "involvedObject.name=gpu-worker,involvedObject.kind=ScaledObject", "-o", "jsonpath={.items[*].reason}")))
		}

		start := time.Now()
		publish("over.json")
		eventually(t, time.Minute, "the ScaledObject paused", func() bool { return annotation("autoscaling.keda.sh/paused-replicas") == "0" })
		assert.Equal(t, "2026-12-01T08:00:00Z", annotation("gke-gpu-platform/spend-guard-paused-for"))
		toZero := eventually(t, 2*time.Minute, "KEDA taking the paused worker to zero", func() bool { return replicas() == "0" })
		waiting, err := queue.Count(ctx, e.queue, "gpu-jobs")
		require.NoError(t, err)
		assert.Equal(t, int64(jobs), waiting.Waiting+waiting.InFlight, "every job still queued: nothing accepted is lost")
		assert.Contains(t, e.kubectl(t, "get", "events", "-n", namespace, "--field-selector", "reason=SpendGuardPaused", "-o", "jsonpath={.items[*].message}"),
			"312.40 USD spent of a 300.00 cap")
		t.Logf("over the cap -> ScaledObject paused, worker 2 -> 0 in %s (KEDA's part %s) with %d jobs queued",
			time.Since(start).Round(100*time.Millisecond), toZero.Round(100*time.Millisecond), jobs)

		// Budgets publish several times a day: repeats, a forecast and junk change nothing.
		before := events()
		publish("over.json")
		publish("forecast.json")
		require.NoError(t, e.queue.XAdd(ctx, &redis.XAddArgs{Stream: "budget", Values: map[string]any{"data": "not json"}}).Err())
		handled("a repeat, a forecast and a malformed message")
		assert.Equal(t, before, events(), "no new Event")
		assert.Equal(t, "0", annotation("autoscaling.keda.sh/paused-replicas"))
		time.Sleep(5 * time.Second) // two of KEDA's polls
		assert.Equal(t, "0", replicas(), "still paused, with a backlog")
		assert.Nil(t, guard.ProcessState, "the guard is still running")

		// By hand: `spend-guard resume` lifts the pause for this period,
		// and the guard does not pause again in it.
		resume := exec.Command(guardBin, "--server", e.cp.Server, "--token-file", token, "--ca-file", e.cp.CACert(), "--namespace", namespace, "resume")
		resume.Env = append(os.Environ(), "SPEND_GUARD_SCALERS=ScaledObject/gpu-worker")
		out, err = resume.CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), "resumed by hand for the period from 2026-12-01T08:00:00Z")
		assert.Equal(t, "2026-12-01T08:00:00Z", annotation("gke-gpu-platform/spend-guard-resumed-for"))
		eventually(t, 2*time.Minute, "KEDA scaling the worker up after the hand resume", func() bool { return replicas() == "2" })
		publish("over.json")
		handled("the same period's message after a hand resume")
		assert.Empty(t, annotation("autoscaling.keda.sh/paused-replicas"), "not paused again in the period resumed by hand")

		// The next period over the cap pauses again; a late message of the
		// period before changes nothing; a period under the cap resumes.
		publish("over-january.json")
		eventually(t, time.Minute, "paused in the next period", func() bool {
			return annotation("gke-gpu-platform/spend-guard-paused-for") == "2027-01-01T08:00:00Z"
		})
		eventually(t, 2*time.Minute, "KEDA taking the worker to zero again", func() bool { return replicas() == "0" })
		publish("over.json")
		handled("a late message of December, over its cap")
		assert.Equal(t, "2027-01-01T08:00:00Z", annotation("gke-gpu-platform/spend-guard-paused-for"))

		start = time.Now()
		publish("february.json")
		eventually(t, time.Minute, "the ScaledObject resumed", func() bool { return annotation("autoscaling.keda.sh/paused-replicas") == "" })
		assert.Empty(t, annotation("gke-gpu-platform/spend-guard-paused-for"))
		back := eventually(t, 2*time.Minute, "KEDA scaling the worker up to its backlog again", func() bool { return replicas() == "2" })
		t.Logf("a new budget period under the cap -> resumed, worker back to 2 in %s (KEDA's part %s)",
			time.Since(start).Round(100*time.Millisecond), back.Round(100*time.Millisecond))
		waiting, err = queue.Count(ctx, e.queue, "gpu-jobs")
		require.NoError(t, err)
		assert.Equal(t, int64(jobs), waiting.Waiting+waiting.InFlight, "and every job is still there for the workers")
	})
}

// spendGuardInAPod: on real nodes the stack runs the guard itself, in its
// own namespace. A budget message over the cap pauses the worker's
// scaling: jobs POSTed then stay queued, with no worker; a message of the
// next period resumes it, and KEDA brings the worker, which does them.
func (e *env) spendGuardInAPod(t *testing.T, token string) {
	t.Run("the spend guard's pod pauses GPU scaling and resumes it", func(t *testing.T) {
		ctx := context.Background()
		eventually(t, 2*time.Minute, "the spend guard's pod Ready", func() bool {
			out, _ := e.cp.Kubectl(ctx, "get", "pods", "-n", "spend-guard", "-o", `jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}`)
			return out == "True"
		})
		replicas := func() string {
			return e.kubectl(t, "get", "deployment", "gpu-worker", "-n", namespace, "-o", "jsonpath={.spec.replicas}")
		}
		paused := func() string {
			return e.kubectl(t, "get", "scaledobject", "gpu-worker", "-n", namespace, "-o", `jsonpath={.metadata.annotations.autoscaling\.keda\.sh/paused-replicas}`)
		}
		publish := func(name string) { e.publishBudget(t, name) }
		eventually(t, 3*time.Minute, "the worker at zero, its pods gone", func() bool { return replicas() == "0" && len(e.gpuPods(t)) == 0 })

		start := time.Now()
		publish("over.json")
		eventually(t, time.Minute, "the guard's pod pausing the ScaledObject", func() bool { return paused() == "0" })
		took := time.Since(start)
		ids := e.postJobs(t, token, 2, 2)
		time.Sleep(10 * time.Second) // five of KEDA's 2 s polls, with a backlog of 2
		assert.Equal(t, "0", replicas(), "paused: no worker for the backlog")
		c, err := queue.Count(ctx, e.queue, "gpu-jobs")
		require.NoError(t, err)
		assert.Equal(t, int64(2), c.Waiting+c.InFlight, "the jobs wait in the queue")
		assert.Empty(t, e.gpuPods(t), "no worker pod while paused")
		for _, id := range ids {
			assert.Equal(t, "queued", e.jobState(t, token, id))
		}

		publish("february.json")
		eventually(t, time.Minute, "the guard's pod resuming the ScaledObject", func() bool { return paused() == "" })
		eventually(t, 3*time.Minute, "both jobs done after the resume", func() bool {
			for _, id := range ids {
				if e.jobState(t, token, id) != "succeeded" {
					return false
				}
			}
			return true
		})
		logs := e.kubectl(t, "logs", "-n", "spend-guard", "deployment/spend-guard")
		assert.Contains(t, logs, "ScaledObject gpu-worker: pause (312.40 USD spent")
		assert.Contains(t, logs, "ScaledObject gpu-worker: resume (a new budget period")
		t.Logf("over the cap -> paused by the guard's pod in %s; 2 jobs held queued for 10 s with no worker; a new period -> resumed, both done %s after the first message",
			took.Round(100*time.Millisecond), time.Since(start).Round(100*time.Millisecond))
	})
}

// jobState is a job's state as GET /api/jobs/{id} on the backend says it.
func (e *env) jobState(t *testing.T, token, id string) string {
	t.Helper()
	url := "http://" + e.kubectl(t, "get", "service", "backend", "-n", namespace, "-o", "jsonpath={.spec.clusterIP}") + "/api/jobs/" + id
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var rec struct {
		State string `json:"state"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&rec))
	return rec.State
}

// publishBudget puts one recorded budget message (apps/spend-guard/testdata)
// on the local budget stream, as bin/local budget does.
func (e *env) publishBudget(t *testing.T, name string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(e.project, "apps", "spend-guard", "testdata", name))
	require.NoError(t, err)
	require.NoError(t, e.queue.XAdd(context.Background(), &redis.XAddArgs{Stream: "budget", Values: map[string]any{"data": string(data)}}).Err())
}
