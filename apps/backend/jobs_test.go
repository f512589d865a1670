package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"
)

// gcsServer is fake-gcs-server (a real GCS-compatible server, the one the
// local platform runs) on a loopback port, with the bucket "jobs", and the
// backend's store on it through the official client's STORAGE_EMULATOR_HOST.
func gcsServer(t *testing.T) (*fakestorage.Server, jobStore) {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", Port: 0, Writer: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	srv.CreateBucket("jobs")
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(srv.URL(), "http://"))
	store, closeStore, err := newJobStore(context.Background(), func(k string) string {
		return map[string]string{EnvJobsBucket: "jobs"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeStore)
	return srv, store
}

func call(t *testing.T, srv *httptest.Server, method, path, auth, body string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// A job POSTed is recorded queued, and GET follows it; what a caller may
// ask for is checked before anything is read.
func TestJobRecords(t *testing.T) {
	gcs, store := gcsServer(t)
	rec := &recorder{}
	api := httptest.NewServer(newHandler("pod-1", rec, store, token))
	defer api.Close()

	code, body, header := call(t, api, http.MethodPost, "/api/jobs", token, `{"prompt":"a cat"}`)
	if code != http.StatusAccepted {
		t.Fatalf("POST: %d %s", code, body)
	}
	var posted struct{ ID, Status string }
	if err := json.Unmarshal([]byte(body), &posted); err != nil || !jobIDPattern.MatchString(posted.ID) || posted.Status != "/api/jobs/"+posted.ID || header.Get("Location") != posted.Status {
		t.Fatalf("POST answered %s (Location %q)", body, header.Get("Location"))
	}

	code, body, _ = call(t, api, http.MethodGet, posted.Status, token, "")
	var got record
	if code != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil || got.ID != posted.ID || got.State != "queued" || got.Attempts != 0 ||
		time.Since(got.SubmittedAt) > time.Minute {
		t.Fatalf("GET: %d %s", code, body)
	}

	for _, tt := range []struct {
		name, path, auth string
		want             int
	}{
		{"no token", posted.Status, "", http.StatusUnauthorized},
		{"a wrong token", posted.Status, "guess", http.StatusUnauthorized},
		{"an unknown id", "/api/jobs/" + strings.Repeat("0", 32), token, http.StatusNotFound},
		{"an id too short", "/api/jobs/abc", token, http.StatusBadRequest},
		{"upper case", "/api/jobs/" + strings.ToUpper(posted.ID), token, http.StatusBadRequest},
		{"a path outside the records", "/api/jobs/..%2F..%2Fsecrets", token, http.StatusBadRequest},
		{"no result yet", posted.Status + "/result", token, http.StatusNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if code, body, _ := call(t, api, http.MethodGet, tt.path, tt.auth, ""); code != tt.want {
				t.Fatalf("%d %s, want %d", code, body, tt.want)
			}
		})
	}

	// The worker's result object, streamed back with its content type.
	gcs.CreateObject(fakestorage.Object{
		ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "jobs", Name: resultObject(posted.ID), ContentType: "application/json"},
		Content:     []byte(`{"gpus":1}`),
	})
	code, body, header = call(t, api, http.MethodGet, posted.Status+"/result", token, "")
	if code != http.StatusOK || body != `{"gpus":1}` || header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET result: %d %q %q", code, body, header.Get("Content-Type"))
	}
}

// When the worker took the job before the backend wrote its record, the
// worker's record stands: Create never moves a job back to queued.
func TestCreateKeepsTheWorkersRecord(t *testing.T) {
	gcs, store := gcsServer(t)
	id := strings.Repeat("ab", 16)
	gcs.CreateObject(fakestorage.Object{
		ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "jobs", Name: recordObject(id), ContentType: "application/json"},
		Content:     []byte(`{"id":"` + id + `","state":"running","attempts":1}`),
	})
	if err := store.Create(context.Background(), record{ID: id, State: stateQueued}); err != nil {
		t.Fatal(err)
	}
	got, err := store.Get(context.Background(), id)
	if err != nil || got.State != "running" || got.Attempts != 1 {
		t.Fatalf("%+v %v: want the worker's running record", got, err)
	}
}

// Without a results bucket the jobs API says so (503), and POST still queues.
func TestNoJobRecords(t *testing.T) {
	api := httptest.NewServer(newHandler("pod-1", &recorder{}, nil, token))
	defer api.Close()
	if code, body, _ := call(t, api, http.MethodGet, "/api/jobs/"+strings.Repeat("0", 32), token, ""); code != http.StatusServiceUnavailable || !strings.Contains(body, EnvJobsBucket) {
		t.Fatalf("%d %s", code, body)
	}
	if code, _, _ := call(t, api, http.MethodPost, "/api/jobs", token, `{}`); code != http.StatusAccepted {
		t.Fatalf("POST without records: %d", code)
	}
}

// asked records the ids a handler asked the store for.
type asked struct{ ids []string }

func (a *asked) Create(context.Context, record) error { return nil }
func (a *asked) Get(_ context.Context, id string) (record, error) {
	a.ids = append(a.ids, id)
	return record{}, errNoJob
}
func (a *asked) Result(_ context.Context, id string) (io.ReadCloser, string, error) {
	a.ids = append(a.ids, id)
	return nil, "", errNoJob
}

// Whatever path a caller asks under /api/jobs/, the handler does not
// panic, answers 4xx (or the mux's redirect for an unclean path), and asks
// the store only for well-formed ids: never a path of its own making.
// `make fuzz` runs it for a bounded time; go test runs the seeds.
func FuzzJobPath(f *testing.F) {
	for _, seed := range []string{
		strings.Repeat("a", 32), strings.Repeat("a", 32) + "/result", "..%2F..%2Fsecrets", "../../etc/passwd",
		"%00", strings.Repeat("A", 32), "a/b/c", "", "?id=1", strings.Repeat("0", 33), "%2e%2e/result",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, rest string) {
		store := &asked{}
		h := newHandler("pod-1", &recorder{}, store, token)
		req, err := http.NewRequest(http.MethodGet, "http://backend/api/jobs/"+rest, nil)
		if err != nil {
			return // not a URL a client could send
		}
		req.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code < 300 || w.Code >= 500 {
			t.Fatalf("GET /api/jobs/%s: %d", rest, w.Code)
		}
		for _, id := range store.ids {
			if !jobIDPattern.MatchString(id) {
				t.Fatalf("GET /api/jobs/%s asked the store for %q", rest, id)
			}
		}
	})
}
