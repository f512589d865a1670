package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeRedis answers one BRPOP with reply and records the command.
func fakeRedis(t *testing.T, reply string) (addr string, got <-chan string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ch := make(chan string, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		buf := make([]byte, 512)
		n, _ := conn.Read(buf)
		ch <- string(buf[:n])
		_, _ = io.WriteString(conn, reply)
	}()
	return l.Addr().String(), ch
}

func TestRedisNext(t *testing.T) {
	tests := []struct {
		name, reply, want string
		none              bool
	}{
		{name: "a job", reply: "*2\r\n$8\r\ngpu-jobs\r\n$10\r\n{\"id\":\"7\"}\r\n", want: `{"id":"7"}`},
		{name: "nothing within the wait", reply: "*-1\r\n", none: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, got := fakeRedis(t, tt.reply)
			d, err := redisList{addr: addr, list: "gpu-jobs", wait: 5 * time.Second}.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if cmd := <-got; cmd != "*3\r\n$5\r\nBRPOP\r\n$8\r\ngpu-jobs\r\n$1\r\n5\r\n" {
				t.Fatalf("sent %q", cmd)
			}
			if tt.none {
				if d != nil {
					t.Fatalf("got %q, want nothing", d.Body)
				}
				return
			}
			if d == nil || string(d.Body) != tt.want {
				t.Fatalf("got %v, want %s", d, tt.want)
			}
		})
	}
}

// Pub/Sub: pull one message with a metadata-server token, ack it by its ackId.
func TestPubSubNextAndAck(t *testing.T) {
	metadata := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Metadata-Flavor") != "Google" {
			http.Error(w, "no flavor", http.StatusForbidden)
			return
		}
		_, _ = io.WriteString(w, `{"access_token":"tok"}`)
	}))
	defer metadata.Close()
	var mu sync.Mutex
	var calls []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, r.URL.Path+" "+r.Header.Get("Authorization")+" "+string(body))
		mu.Unlock()
		if strings.HasSuffix(r.URL.Path, ":pull") {
			_, _ = io.WriteString(w, `{"receivedMessages":[{"ackId":"a1","message":{"data":"eyJpZCI6IjcifQ=="}}]}`)
			return
		}
		_, _ = io.WriteString(w, `{}`)
	}))
	defer api.Close()
	sub := pubsubSubscription{subscription: "projects/p/subscriptions/gpu-jobs", api: api.URL + "/v1/", token: metadataToken(metadata.URL), client: api.Client()}
	d, err := sub.Next(context.Background())
	if err != nil || d == nil {
		t.Fatalf("next: %v %v", d, err)
	}
	if string(d.Body) != `{"id":"7"}` {
		t.Fatalf("body %s", d.Body)
	}
	if err := d.Ack(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`/v1/projects/p/subscriptions/gpu-jobs:pull Bearer tok {"maxMessages":1}`,
		`/v1/projects/p/subscriptions/gpu-jobs:acknowledge Bearer tok {"ackIds":["a1"]}`,
	}
	if strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Fatalf("calls:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
}

// scripted is a queue that hands out its jobs, then nothing.
type scripted struct {
	jobs  []string
	acked []string
	stop  context.CancelFunc
}

func (s *scripted) Next(context.Context) (*delivery, error) {
	if len(s.jobs) == 0 {
		s.stop()
		return nil, nil
	}
	j := s.jobs[0]
	s.jobs = s.jobs[1:]
	return &delivery{Body: []byte(j), Ack: func(context.Context) error { s.acked = append(s.acked, j); return nil }}, nil
}

// A done job is acknowledged; a failed one is not, so the queue redelivers it.
func TestConsumeAcksOnlyDoneJobs(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	q := &scripted{jobs: []string{"ok-1", "bad", "ok-2"}, stop: cancel}
	consume(ctx, q, func(_ context.Context, body []byte) error {
		if string(body) == "bad" {
			return errors.New("CUDA out of memory")
		}
		return nil
	})
	got, _ := json.Marshal(q.acked)
	if string(got) != `["ok-1","ok-2"]` {
		t.Fatalf("acked %s", got)
	}
}

func TestNewConsumer(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if c, err := newConsumer(env(nil)); c != nil || err != nil {
		t.Fatalf("no queue: %v %v", c, err)
	}
	if _, err := newConsumer(env(map[string]string{"QUEUE_BACKEND": "pubsub", "QUEUE_SOURCE": "gpu-jobs"})); err == nil {
		t.Fatal("a bare subscription name must be an error")
	}
	if _, err := newConsumer(env(map[string]string{"QUEUE_BACKEND": "redis", "QUEUE_SOURCE": "gpu-jobs"})); err == nil {
		t.Fatal("redis without an address must be an error")
	}
}

// Job mode takes exactly one job, acknowledges it when done, and leaves the
// rest for other Jobs; a failed job is not acknowledged.
func TestRunOne(t *testing.T) {
	tests := []struct {
		name      string
		jobs      []string
		wantErr   error
		wantAcked string
		wantLeft  int
	}{
		{name: "one job of several", jobs: []string{"ok-1", "ok-2"}, wantAcked: `["ok-1"]`, wantLeft: 1},
		{name: "a failing job", jobs: []string{"bad", "ok-2"}, wantErr: errJobFailed, wantAcked: `null`, wantLeft: 1},
		{name: "an empty queue", wantErr: errNoJob, wantAcked: `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &scripted{jobs: tt.jobs, stop: func() {}}
			err := runOne(context.Background(), q, func(_ context.Context, body []byte) error {
				if string(body) == "bad" {
					return errJobFailed
				}
				return nil
			}, 50*time.Millisecond)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			got, _ := json.Marshal(q.acked)
			if string(got) != tt.wantAcked {
				t.Fatalf("acked %s, want %s", got, tt.wantAcked)
			}
			if len(q.jobs) != tt.wantLeft {
				t.Fatalf("left %d jobs in the queue, want %d", len(q.jobs), tt.wantLeft)
			}
		})
	}
}

var errJobFailed = errors.New("CUDA out of memory")
