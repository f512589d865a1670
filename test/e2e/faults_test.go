//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
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

// faults breaks the real-node platform on purpose while jobs run, and
// shows that nothing the backend accepted is lost: every job POSTed ends
// done exactly once (a job is done again only after a fault took its
// worker), nothing stays waiting, in flight or dead-lettered.
// Pulumi.local.yaml: queue.leaseSeconds 15, renewed every 5 s.
func (e *env) faults(t *testing.T, token string) {
	// The dead letters earlier steps left (a job made to fail on purpose).
	n, err := queue.Count(context.Background(), e.queue, "gpu-jobs")
	require.NoError(t, err)
	e.deadBefore = n.Dead
	t.Run("a worker SIGKILLed mid-job", func(t *testing.T) {
		ids := e.postJobs(t, token, 3, 8)
		e.waitInFlight(t, 1)
		pid := e.busyWorker(t)
		require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
		e.allDone(t, "SIGKILL of the worker (PID "+fmt.Sprint(pid)+")", ids, time.Now(), 1)
	})
	t.Run("the queue's Redis SIGKILLed and started again", func(t *testing.T) {
		ids := e.postJobs(t, token, 4, 6)
		e.waitInFlight(t, 1)
		n, err := queue.Count(context.Background(), e.queue, "gpu-jobs")
		require.NoError(t, err)
		require.Positive(t, n.Waiting, "jobs waiting when Redis dies")
		before := e.entries(t)
		killed := time.Now()
		down, err := queue.Restart(context.Background(), e.cp)
		require.NoError(t, err)
		after := e.entries(t)
		for id, pending := range before {
			// A job in flight may have finished in the moment between; one
			// waiting cannot have (each holds the GPU 6 s).
			if _, kept := after[id]; !kept && !pending {
				t.Errorf("entry %s was waiting before the kill and is gone after it", id)
			}
		}
		t.Logf("redis-server SIGKILLed with %d waiting and %d in flight; answering again after %s with %d of those %d entries",
			n.Waiting, n.InFlight, down.Round(time.Millisecond), len(after), len(before))
		// A worker busy across the restart renews at its next tick: its
		// job is not delivered twice.
		e.allDone(t, "SIGKILL of redis-server", ids, killed, 0)
	})
}

// entries are the queue's stream entries by ID: true for those in flight.
func (e *env) entries(t *testing.T) map[string]bool {
	t.Helper()
	ctx := context.Background()
	all, err := e.queue.XRange(ctx, "gpu-jobs", "-", "+").Result()
	require.NoError(t, err)
	pending, err := e.queue.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: "gpu-jobs", Group: queue.Group, Start: "-", End: "+", Count: 1000}).Result()
	require.NoError(t, err)
	out := map[string]bool{}
	for _, m := range all {
		out[m.ID] = false
	}
	for _, p := range pending {
		out[p.ID] = true
	}
	return out
}

// postJobs POSTs n jobs holding the GPU seconds long through the backend's
// Service and returns their ids.
func (e *env) postJobs(t *testing.T, token string, n, seconds int) []string {
	t.Helper()
	url := "http://" + e.kubectl(t, "get", "service", "backend", "-n", namespace, "-o", "jsonpath={.spec.clusterIP}") + "/api/jobs"
	var ids []string
	for i := range n {
		req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(fmt.Sprintf(`{"n":%d,"seconds":%d}`, i, seconds)))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var body struct {
			ID string `json:"id"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		resp.Body.Close()
		require.Equal(t, http.StatusAccepted, resp.StatusCode)
		ids = append(ids, body.ID)
	}
	return ids
}

// waitInFlight waits until a worker holds at least n jobs and has been at
// one for a second.
func (e *env) waitInFlight(t *testing.T, n int64) {
	t.Helper()
	eventually(t, 3*time.Minute, fmt.Sprintf("%d job(s) in flight", n), func() bool {
		c, err := queue.Count(context.Background(), e.queue, "gpu-jobs")
		return err == nil && c.InFlight >= n
	})
	time.Sleep(time.Second)
}

// busyWorker is the host PID of a gpu-worker container's process (the
// image's /worker) that holds a job it keeps renewing: the consumer of a
// pending entry idle for less than a renewal period (a worker stopping
// meanwhile may have left one behind, handed back), found through /proc
// by its pod's name, which the kubelet gives it as /etc/hostname.
func (e *env) busyWorker(t *testing.T) int {
	t.Helper()
	var pid int
	eventually(t, time.Minute, "a running worker with a job", func() bool {
		pending, err := e.queue.XPendingExt(context.Background(), &redis.XPendingExtArgs{Stream: "gpu-jobs", Group: queue.Group, Start: "-", End: "+", Count: 100}).Result()
		if err != nil {
			return false
		}
		for _, p := range pending {
			if p.Idle < 5*time.Second { // Pulumi.local.yaml: renewed every 5 s
				if pid = workerProcess(p.Consumer); pid > 0 {
					return true
				}
			}
		}
		return false
	})
	return pid
}

// workerProcess is the host PID of the gpu-worker container's process in
// pod, or 0.
func workerProcess(pod string) int {
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		cmdline, err := os.ReadFile(filepath.Join(p, "cmdline"))
		if err != nil || string(cmdline) != "/worker\x00" {
			continue
		}
		hostname, _ := os.ReadFile(filepath.Join(p, "root", "etc", "hostname"))
		if strings.TrimSpace(string(hostname)) != pod {
			continue
		}
		var pid int
		fmt.Sscan(filepath.Base(p), &pid)
		return pid
	}
	return 0
}

// allDone waits until the queue is empty with nothing in flight or dead,
// then reads every gpu-worker container's log (the current and, after a
// kill, the previous one) and asserts each of ids done exactly once and
// taken again redeliveries times in all. It logs the figures.
func (e *env) allDone(t *testing.T, fault string, ids []string, since time.Time, redeliveries int) {
	t.Helper()
	ctx := context.Background()
	defer func() {
		if t.Failed() {
			// What the next person needs to see why.
			out, _ := e.cp.Kubectl(ctx, "get", "pods", "-n", namespace, "-o", "wide")
			events, _ := e.cp.Kubectl(ctx, "get", "events", "-n", namespace, "--sort-by=.lastTimestamp")
			t.Logf("after %s:\n%s\n%s", fault, out, events)
			logTails(t, filepath.Join(e.cp.Dir, "logs", "kubelet-gpu-0.log"), 40)
		}
	}()
	eventually(t, 3*time.Minute, "every job done after "+fault, func() bool {
		c, err := queue.Count(ctx, e.queue, "gpu-jobs")
		return err == nil && c.Waiting == 0 && c.InFlight == 0
	})
	c, err := queue.Count(ctx, e.queue, "gpu-jobs")
	require.NoError(t, err)
	assert.Equal(t, e.deadBefore, c.Dead, "no job dead-lettered by the fault")
	var logs strings.Builder
	for _, p := range e.pods(t) {
		if p.Metadata.Labels["app.kubernetes.io/name"] != "gpu-worker" {
			continue
		}
		logs.WriteString(e.kubectl(t, "logs", "-n", namespace, p.Metadata.Name))
		if prev, err := e.cp.Kubectl(ctx, "logs", "-p", "-n", namespace, p.Metadata.Name); err == nil {
			logs.WriteString(prev)
		}
	}
	done, again := 0, 0
	for _, id := range ids {
		d, a := 0, 0
		for _, line := range strings.Split(logs.String(), "\n") {
			switch {
			case !strings.Contains(line, "job "+id+" ("):
			case strings.Contains(line, " done (delivery "):
				d++
			case strings.Contains(line, ": taken again "):
				a++
			}
		}
		assert.Equal(t, 1, d, "job %s done exactly once:\n%s", id, logs.String())
		done, again = done+d, again+a
	}
	assert.Equal(t, redeliveries, again, "taken again only where the fault took its worker:\n%s", logs.String())
	recovery := time.Since(since)
	t.Logf("%s: %d jobs submitted, %d done, %d redelivered, none lost; every job done %s after the fault",
		fault, len(ids), done, again, recovery.Round(100*time.Millisecond))
}
