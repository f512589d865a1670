// Command backend is the sample API behind the Ingress's /api path. POST
// /api/jobs puts a job on the GPU queue; KEDA sees the backlog and scales
// the GPU worker from zero.
package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"time"
)

// job is what the GPU worker receives.
type job struct {
	ID          string          `json:"id"`
	SubmittedAt time.Time       `json:"submittedAt"`
	Input       json.RawMessage `json:"input,omitempty"`
}

// maxInput is the largest body POST /api/jobs takes, in bytes: a job's
// input, not its data (large inputs belong in storage, referenced by URL).
const maxInput = 64 << 10

// EnvEnqueueToken is the variable holding the bearer token POST /api/jobs
// requires: the platform fills it from a Pulumi secret (apps[].secretEnv).
const EnvEnqueueToken = "ENQUEUE_TOKEN"

// authorized reports whether the request carries the enqueue token. The
// comparison takes the same time whatever the guess, so the token cannot be
// found a byte at a time.
func authorized(r *http.Request, token string) bool {
	given, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(given), []byte(token)) == 1
}

func newHandler(hostname string, queue publisher, token string) http.Handler {
	mux := http.NewServeMux()
	// Exactly 200: a GKE load balancer's health check counts nothing else
	// as healthy (kubelet would take 204; Google's check would not).
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /api/hello", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"message": "hello from the backend", "pod": hostname})
	})
	mux.HandleFunc("POST /api/jobs", func(w http.ResponseWriter, r *http.Request) {
		// Every job can start a GPU node: only callers with the token may enqueue.
		if token == "" {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "enqueueing is off: no " + EnvEnqueueToken + " configured (apps[].secretEnv)"})
			return
		}
		if !authorized(r, token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="jobs"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "a valid bearer token is required"})
			return
		}
		if queue == nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "no job queue configured (apps[].publishes)"})
			return
		}
		input, err := io.ReadAll(io.LimitReader(r.Body, maxInput+1))
		if len(input) > maxInput {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "the body must be at most 64 KiB"})
			return
		}
		if err != nil || (len(input) > 0 && !json.Valid(input)) {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "the body, if any, must be JSON (at most 64 KiB)"})
			return
		}
		id := make([]byte, 8)
		_, _ = rand.Read(id)
		j := job{ID: hex.EncodeToString(id), SubmittedAt: time.Now().UTC(), Input: input}
		body, _ := json.Marshal(j)
		if err := queue.Publish(r.Context(), body); err != nil {
			log.Printf("enqueue %s: %v", j.ID, err)
			writeJSON(w, http.StatusBadGateway, map[string]string{"error": "the queue did not take the job"})
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"id": j.ID})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func main() {
	hostname, _ := os.Hostname()
	queue, closeQueue, err := newPublisher(context.Background(), os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	defer closeQueue()
	addr := ":" + envOr("PORT", "8080")
	srv := &http.Server{Addr: addr, Handler: newHandler(hostname, queue, os.Getenv(EnvEnqueueToken)), ReadHeaderTimeout: 5 * time.Second}
	log.Printf("backend listening on %s", addr)
	log.Fatal(srv.ListenAndServe())
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
