package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(newHandler("pod-1", nil, nil, ""))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: got %d, want exactly 200 (a GKE load balancer health check takes nothing else)", resp.StatusCode)
	}

	resp, err = http.Get(srv.URL + "/api/hello")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body["pod"] != "pod-1" {
		t.Fatalf("pod = %q, want pod-1", body["pod"])
	}
}

// Whatever a caller sends to POST /api/jobs (body, Authorization header,
// Content-Type), the handler does not panic, answers 202, 400 or 401, and
// enqueues exactly one well-formed job only on 202, its input the body.
// `make fuzz` runs it for a bounded time; go test runs the seeds.
func FuzzPostJob(f *testing.F) {
	for _, seed := range []struct{ body, auth, ctype string }{
		{`{"prompt":"a cat"}`, "Bearer " + token, "application/json"},
		{``, "Bearer " + token, ""},
		{`{"prompt":`, "Bearer " + token, "application/json"},
		{`a cat`, "Bearer " + token, "text/plain"},
		{`{}`, "bearer " + token, ""},
		{`{}`, "Bearer", ""},
		{`[1,2,3]`, "Bearer " + token + " ", ""},
		{"\x00\xff", "Basic dXNlcjpwYXNz", "application/octet-stream"},
		{strings.Repeat(`{"a":`, 1000), "Bearer " + token, ""},
		{strings.Repeat("1", maxInput+1), "Bearer " + token, ""},
	} {
		f.Add(seed.body, seed.auth, seed.ctype)
	}
	f.Fuzz(func(t *testing.T, body, auth, ctype string) {
		rec := &recorder{}
		h := newHandler("pod-1", rec, nil, token)
		req := httptest.NewRequest(http.MethodPost, "/api/jobs", strings.NewReader(body))
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusAccepted:
			var j job
			if len(rec.got) != 1 || json.Unmarshal(rec.got[0], &j) != nil || len(j.ID) != 32 {
				t.Fatalf("202 but published %q", rec.got)
			}
			var want bytes.Buffer
			if body != "" && (json.Compact(&want, []byte(body)) != nil || string(j.Input) != want.String()) {
				t.Fatalf("input %q, want the body %q", j.Input, body)
			}
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge:
			if len(rec.got) != 0 {
				t.Fatalf("%d but published %q", w.Code, rec.got)
			}
		default:
			t.Fatalf("status %d for body %q, auth %q", w.Code, body, auth)
		}
	})
}
