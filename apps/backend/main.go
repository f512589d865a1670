// Command backend is the sample API behind the Ingress's /api path. POST
// /api/jobs puts a job on the GPU queue (KEDA sees the backlog and scales
// the GPU worker from zero) and answers its id; GET /api/jobs/{id} says
// where the job is and what it produced, GET /api/jobs/{id}/result streams
// its result. All three need the enqueue token.
package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
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

func newHandler(hostname string, queue publisher, jobs jobStore, token string) http.Handler {
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
	mux.HandleFunc("POST /api/jobs", guarded(token, func(w http.ResponseWriter, r *http.Request) { postJob(w, r, queue, jobs) }))
	mux.HandleFunc("GET /api/jobs/{id}", guarded(token, func(w http.ResponseWriter, r *http.Request) { getJob(w, r, jobs) }))
	mux.HandleFunc("GET /api/jobs/{id}/result", guarded(token, func(w http.ResponseWriter, r *http.Request) { getResult(w, r, jobs) }))
	return mux
}

// guarded lets through only callers with the token: every job can start a
// GPU node, and a job's record and result are its caller's.
func guarded(token string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if token == "" {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "the jobs API is off: no " + EnvEnqueueToken + " configured (apps[].secretEnv)"})
			return
		}
		if !authorized(r, token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="jobs"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "a valid bearer token is required"})
			return
		}
		next(w, r)
	}
}

// postJob queues the body as a job's input and records the job as queued.
func postJob(w http.ResponseWriter, r *http.Request, queue publisher, jobs jobStore) {
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
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	j := job{ID: hex.EncodeToString(id), SubmittedAt: time.Now().UTC(), Input: input}
	body, _ := json.Marshal(j)
	if err := queue.Publish(r.Context(), body); err != nil {
		log.Printf("enqueue %s: %v", j.ID, err)
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": "the queue did not take the job"})
		return
	}
	status := "/api/jobs/" + j.ID
	if jobs != nil {
		// After the publish: a job is recorded only once it is queued.
		// Should this write fail, the worker creates the record when it
		// takes the job; the job itself is safe in the queue.
		if err := jobs.Create(r.Context(), record{ID: j.ID, State: stateQueued, SubmittedAt: j.SubmittedAt}); err != nil {
			log.Printf("record %s: %v", j.ID, err)
		}
	}
	w.Header().Set("Location", status)
	writeJSON(w, http.StatusAccepted, map[string]string{"id": j.ID, "status": status})
}

// stateQueued is a job's state from POST until a worker takes it.
const stateQueued = "queued"

// jobID is the {id} of the path, or "" after answering 400 or 503.
func jobID(w http.ResponseWriter, r *http.Request, jobs jobStore) string {
	if jobs == nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "job records are off: no " + EnvJobsBucket + " configured (the queue's results bucket)"})
		return ""
	}
	id := r.PathValue("id")
	if !jobIDPattern.MatchString(id) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "a job id is 32 lowercase hex digits, as POST /api/jobs returns it"})
		return ""
	}
	return id
}

// getJob answers a job's record.
func getJob(w http.ResponseWriter, r *http.Request, jobs jobStore) {
	id := jobID(w, r, jobs)
	if id == "" {
		return
	}
	rec, err := jobs.Get(r.Context(), id)
	switch {
	case errors.Is(err, errNoJob):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no job " + id})
	case err != nil:
		log.Printf("read %s: %v", id, err)
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": "the job records could not be read"})
	default:
		writeJSON(w, http.StatusOK, rec)
	}
}

// getResult streams a job's result object.
func getResult(w http.ResponseWriter, r *http.Request, jobs jobStore) {
	id := jobID(w, r, jobs)
	if id == "" {
		return
	}
	rd, contentType, err := jobs.Result(r.Context(), id)
	switch {
	case errors.Is(err, errNoJob):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "job " + id + " has no result (yet): GET /api/jobs/" + id + " says its state"})
		return
	case err != nil:
		log.Printf("read the result of %s: %v", id, err)
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": "the result could not be read"})
		return
	}
	defer rd.Close()
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	w.Header().Set("Content-Type", contentType)
	_, _ = io.Copy(w, rd)
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
	jobs, closeJobs, err := newJobStore(context.Background(), os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	defer closeJobs()
	addr := ":" + envOr("PORT", "8080")
	srv := &http.Server{Addr: addr, Handler: newHandler(hostname, queue, jobs, os.Getenv(EnvEnqueueToken)), ReadHeaderTimeout: 5 * time.Second}
	log.Printf("backend listening on %s", addr)
	log.Fatal(srv.ListenAndServe())
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
