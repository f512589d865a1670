package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	pb "cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/redis/go-redis/v9"
)

// recorder keeps what was published.
type recorder struct {
	got [][]byte
	err error
}

func (r *recorder) Publish(_ context.Context, body []byte) error {
	r.got = append(r.got, body)
	return r.err
}

const token = "s3cret-token"

// POST /api/jobs enqueues only for a caller with the token: every job can
// start a GPU node.
func TestPostJob(t *testing.T) {
	tests := []struct {
		name          string
		queue         publisher
		token, header string
		body          string
		status        int
	}{
		{name: "queued", queue: &recorder{}, token: token, header: "Bearer " + token, body: `{"prompt":"a cat"}`, status: http.StatusAccepted},
		{name: "empty body is a job too", queue: &recorder{}, token: token, header: "Bearer " + token, body: ``, status: http.StatusAccepted},
		{name: "no token", queue: &recorder{}, token: token, body: `{}`, status: http.StatusUnauthorized},
		{name: "wrong token", queue: &recorder{}, token: token, header: "Bearer s3cret-tokem", body: `{}`, status: http.StatusUnauthorized},
		{name: "not a bearer token", queue: &recorder{}, token: token, header: token, body: `{}`, status: http.StatusUnauthorized},
		{name: "no token configured: enqueueing is off", queue: &recorder{}, header: "Bearer ", body: `{}`, status: http.StatusServiceUnavailable},
		{name: "not JSON", queue: &recorder{}, token: token, header: "Bearer " + token, body: `a cat`, status: http.StatusBadRequest},
		{name: "over 64 KiB, even if a prefix is JSON", queue: &recorder{}, token: token, header: "Bearer " + token, body: strings.Repeat("1", maxInput+1), status: http.StatusRequestEntityTooLarge},
		{name: "no queue", queue: nil, token: token, header: "Bearer " + token, body: `{}`, status: http.StatusServiceUnavailable},
		{name: "queue down", queue: &recorder{err: errors.New("down")}, token: token, header: "Bearer " + token, body: `{}`, status: http.StatusBadGateway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(newHandler("pod-1", tt.queue, nil, tt.token))
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/jobs", strings.NewReader(tt.body))
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			rec, _ := tt.queue.(*recorder)
			if tt.status != http.StatusAccepted {
				refused := tt.status == http.StatusUnauthorized || tt.status == http.StatusRequestEntityTooLarge || tt.token == ""
				if refused && rec != nil && len(rec.got) != 0 {
					t.Fatalf("published %q on a refused request", rec.got)
				}
				return
			}
			var j job
			if len(rec.got) != 1 || json.Unmarshal(rec.got[0], &j) != nil || j.ID == "" {
				t.Fatalf("published %q", rec.got)
			}
			if tt.body != "" && string(j.Input) != tt.body {
				t.Fatalf("input %s, want %s", j.Input, tt.body)
			}
		})
	}
}

func TestNewPublisher(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	ctx := context.Background()
	if p, _, err := newPublisher(ctx, env(nil)); p != nil || err != nil {
		t.Fatalf("no QUEUE_BACKEND: got %v, %v; want no queue", p, err)
	}
	for _, bad := range []map[string]string{
		{"QUEUE_BACKEND": "redis"},
		{"QUEUE_BACKEND": "pubsub", "QUEUE_TOPIC": "jobs"},
		{"QUEUE_BACKEND": "sqs"},
	} {
		if _, _, err := newPublisher(ctx, env(bad)); err == nil {
			t.Errorf("%v: want an error", bad)
		}
	}
}

// The Pub/Sub publisher uses the official client (here on its official
// in-memory fake, through PUBSUB_EMULATOR_HOST as in any emulator setup):
// the job lands on the topic as sent.
func TestPubSubPublish(t *testing.T) {
	srv := pstest.NewServer()
	defer srv.Close()
	t.Setenv("PUBSUB_EMULATOR_HOST", srv.Addr)
	ctx := context.Background()
	if _, err := srv.GServer.CreateTopic(ctx, &pb.Topic{Name: "projects/p/topics/gpu-jobs"}); err != nil {
		t.Fatal(err)
	}
	p, closeQueue, err := newPublisher(ctx, func(k string) string {
		return map[string]string{"QUEUE_BACKEND": "pubsub", "QUEUE_TOPIC": "projects/p/topics/gpu-jobs"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	defer closeQueue()
	if err := p.Publish(ctx, []byte(`{"id":"1"}`)); err != nil {
		t.Fatal(err)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || string(msgs[0].Data) != `{"id":"1"}` {
		t.Fatalf("topic holds %v", msgs)
	}
}

// On the local platform's real redis-server: a published job is an entry
// of the stream, and the workers' group exists before any worker ran (KEDA
// counts its backlog through the group).
func TestRedisPublish(t *testing.T) {
	exe, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server is needed: `bash tools/build.sh redis` installs it (Debian: apt-get install redis-server)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	srv := exec.Command(exe, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	env := map[string]string{"QUEUE_BACKEND": "redis", "REDIS_ADDRESS": addr, "QUEUE_TOPIC": "gpu-jobs", "QUEUE_GROUP": "workers"}
	p, closeQueue, err := newPublisher(context.Background(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	defer closeQueue()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	ctx := context.Background()
	for deadline := time.Now().Add(10 * time.Second); c.Ping(ctx).Err() != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not answer")
		}
	}
	for _, body := range []string{`{"id":"1"}`, `{"id":"2"}`} {
		if err := p.Publish(ctx, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := c.XRange(ctx, "gpu-jobs", "-", "+").Result()
	if err != nil || len(entries) != 2 || entries[0].Values["job"] != `{"id":"1"}` {
		t.Fatalf("stream %v, %v", entries, err)
	}
	groups, err := c.XInfoGroups(ctx, "gpu-jobs").Result()
	if err != nil || len(groups) != 1 || groups[0].Name != "workers" || groups[0].Lag != 2 {
		t.Fatalf("groups %+v, %v: want workers with a lag of 2", groups, err)
	}
}
