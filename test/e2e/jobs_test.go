//go:build e2e

package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jobsYouCanFollow: on real nodes, through the backend's Service as a
// caller would, a job is recorded queued, then running on gpu-0 in a
// gpu-worker pod, then succeeded with the worker's result, which GET
// /api/jobs/{id}/result streams from the local Cloud Storage server; a job
// that fails every attempt ends dead-lettered after exactly
// maxDeliveryAttempts (Pulumi.local.yaml: the default, 5) with its error.
func (e *env) jobsYouCanFollow(t *testing.T, token string) {
	api := "http://" + e.kubectl(t, "get", "service", "backend", "-n", namespace, "-o", "jsonpath={.spec.clusterIP}")
	call := func(method, path, body string) (int, []byte) {
		req, err := http.NewRequest(method, api+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	post := func(input string) string {
		code, body := call(http.MethodPost, "/api/jobs", input)
		require.Equal(t, http.StatusAccepted, code, "%s", body)
		var r struct{ ID, Status string }
		require.NoError(t, json.Unmarshal(body, &r))
		require.Equal(t, "/api/jobs/"+r.ID, r.Status)
		return r.ID
	}
	type record struct {
		State    string
		Attempts int
		Worker   *struct{ Pod, Node string }
		Error    string
		Result   json.RawMessage
	}
	get := func(id string) record {
		code, body := call(http.MethodGet, "/api/jobs/"+id, "")
		require.Equal(t, http.StatusOK, code, "%s", body)
		var r record
		require.NoError(t, json.Unmarshal(body, &r))
		return r
	}

	t.Run("a job followed from POST to its result", func(t *testing.T) {
		start := time.Now()
		id := post(`{"seconds":6}`)
		first := get(id).State
		assert.Contains(t, []string{"queued", "running"}, first, "recorded when accepted")
		var running record
		toRunning := eventually(t, 3*time.Minute, "the job running", func() bool { running = get(id); return running.State != "queued" })
		require.Equal(t, "running", running.State, "seen running before it ended (it holds the GPU 6 s)")
		require.NotNil(t, running.Worker)
		assert.Equal(t, "gpu-0", running.Worker.Node, "on the GPU node")
		assert.True(t, strings.HasPrefix(running.Worker.Pod, "gpu-worker-"), running.Worker.Pod)
		toDone := eventually(t, time.Minute, "the job succeeded", func() bool { return get(id).State == "succeeded" })
		done := get(id)
		assert.Equal(t, 1, done.Attempts)
		code, result := call(http.MethodGet, "/api/jobs/"+id+"/result", "")
		require.Equal(t, http.StatusOK, code, "%s", result)
		assert.JSONEq(t, string(done.Result), string(result), "the inline result is the result object")
		assert.Contains(t, string(result), `"node":"gpu-0"`)
		assert.Contains(t, string(result), `"heldSeconds":6`)
		t.Logf("job %s: %s -> running on %s/%s after %s -> succeeded %s later (%s in all); result %s",
			id, first, running.Worker.Node, running.Worker.Pod, toRunning.Round(100*time.Millisecond), toDone.Round(100*time.Millisecond),
			time.Since(start).Round(100*time.Millisecond), result)
	})
	t.Run("a job that always fails ends dead-lettered after exactly maxDeliveryAttempts", func(t *testing.T) {
		id := post(`{"fail":"simulated CUDA error"}`)
		took := eventually(t, 3*time.Minute, "the job dead-lettered", func() bool { return get(id).State == "dead-lettered" })
		r := get(id)
		assert.Equal(t, 5, r.Attempts, "Pulumi.local.yaml: queue.maxDeliveryAttempts defaults to 5")
		assert.Equal(t, "simulated CUDA error", r.Error)
		t.Logf("job %s: dead-lettered after %d attempts in %s: %s", id, r.Attempts, took.Round(100*time.Millisecond), r.Error)
	})
}
