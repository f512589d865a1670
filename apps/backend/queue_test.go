package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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

func TestPostJob(t *testing.T) {
	tests := []struct {
		name   string
		queue  publisher
		body   string
		status int
	}{
		{name: "queued", queue: &recorder{}, body: `{"prompt":"a cat"}`, status: http.StatusAccepted},
		{name: "empty body is a job too", queue: &recorder{}, body: ``, status: http.StatusAccepted},
		{name: "not JSON", queue: &recorder{}, body: `a cat`, status: http.StatusBadRequest},
		{name: "no queue", queue: nil, body: `{}`, status: http.StatusServiceUnavailable},
		{name: "queue down", queue: &recorder{err: errors.New("down")}, body: `{}`, status: http.StatusBadGateway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(newHandler("pod-1", tt.queue))
			defer srv.Close()
			resp, err := http.Post(srv.URL+"/api/jobs", "application/json", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			rec, ok := tt.queue.(*recorder)
			if tt.status != http.StatusAccepted || !ok {
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
	if p, err := newPublisher(env(nil)); p != nil || err != nil {
		t.Fatalf("no QUEUE_BACKEND: got %v, %v; want no queue", p, err)
	}
	if _, err := newPublisher(env(map[string]string{"QUEUE_BACKEND": "redis"})); err == nil {
		t.Fatal("redis without an address must be an error")
	}
	if _, err := newPublisher(env(map[string]string{"QUEUE_BACKEND": "pubsub", "QUEUE_TOPIC": "jobs"})); err == nil {
		t.Fatal("pubsub with a bare topic name must be an error")
	}
	if _, err := newPublisher(env(map[string]string{"QUEUE_BACKEND": "sqs"})); err == nil {
		t.Fatal("an unknown backend must be an error")
	}
}

// The Redis publisher speaks RESP: LPUSH <list> <body>.
func TestRedisPublish(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan string, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		buf := make([]byte, 512)
		n, _ := conn.Read(buf)
		got <- string(buf[:n])
		_, _ = conn.Write([]byte(":1\r\n"))
	}()
	if err := (redisList{addr: l.Addr().String(), list: "gpu-jobs"}).Publish(context.Background(), []byte(`{"id":"1"}`)); err != nil {
		t.Fatal(err)
	}
	if want := "*3\r\n$5\r\nLPUSH\r\n$8\r\ngpu-jobs\r\n$10\r\n{\"id\":\"1\"}\r\n"; <-got != want {
		t.Fatal("unexpected command")
	}
}

// The Pub/Sub publisher takes a token from the metadata server (Workload
// Identity) and posts base64 data to <topic>:publish.
func TestPubSubPublish(t *testing.T) {
	metadata := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Metadata-Flavor") != "Google" {
			http.Error(w, "no flavor", http.StatusForbidden)
			return
		}
		_, _ = io.WriteString(w, `{"access_token":"tok","expires_in":3599}`)
	}))
	defer metadata.Close()
	var path, auth, data string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, auth = r.URL.Path, r.Header.Get("Authorization")
		var body struct {
			Messages []struct{ Data string } `json:"messages"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		if len(body.Messages) == 1 {
			b, _ := base64.StdEncoding.DecodeString(body.Messages[0].Data)
			data = string(b)
		}
		_, _ = io.WriteString(w, `{"messageIds":["1"]}`)
	}))
	defer api.Close()
	p := pubsubTopic{topic: "projects/p/topics/gpu-jobs", api: api.URL + "/v1/", token: metadataToken(metadata.URL), client: api.Client()}
	if err := p.Publish(context.Background(), []byte(`{"id":"1"}`)); err != nil {
		t.Fatal(err)
	}
	if path != "/v1/projects/p/topics/gpu-jobs:publish" || auth != "Bearer tok" || data != `{"id":"1"}` {
		t.Fatalf("path %q auth %q data %q", path, auth, data)
	}
}
