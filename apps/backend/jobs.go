package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"
)

// record is a job's state as its caller follows it: the object
// jobs/<id>.json in the queue's results bucket, created here when the job
// is accepted and moved on by the worker (apps/gpu-worker writes the same
// shape). State is one of queued, running, succeeded, failed (the worker
// gave up on it: a permanent error) or dead-lettered (every permitted
// delivery failed); a failed attempt that will be retried is queued again,
// with its error and attempts counted.
type record struct {
	ID          string          `json:"id"`
	State       string          `json:"state"`
	Attempts    int             `json:"attempts"`
	SubmittedAt time.Time       `json:"submittedAt"`
	StartedAt   *time.Time      `json:"startedAt,omitempty"`
	FinishedAt  *time.Time      `json:"finishedAt,omitempty"`
	Worker      *workerRef      `json:"worker,omitempty"`
	Error       string          `json:"error,omitempty"`
	Result      json.RawMessage `json:"result,omitempty"`
	// ResultURL is where GET streams the job's full result, once it has one.
	ResultURL string `json:"resultUrl,omitempty"`
}

// workerRef is where the job last ran.
type workerRef struct {
	Pod  string `json:"pod"`
	Node string `json:"node,omitempty"`
}

// EnvJobsBucket names the Cloud Storage bucket holding the job records of
// the queue the backend publishes to; the platform sets it (and, locally,
// STORAGE_EMULATOR_HOST, which the official client honours).
const EnvJobsBucket = "JOBS_BUCKET"

// jobIDPattern is what the backend hands out: 128 random bits, hex.
var jobIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// errNoJob is a job the store does not know.
var errNoJob = errors.New("no such job")

// jobStore keeps job records and results.
type jobStore interface {
	// Create stores a new job's record; one the worker already wrote wins.
	Create(ctx context.Context, r record) error
	// Get reads a job's record, or errNoJob.
	Get(ctx context.Context, id string) (record, error)
	// Result opens a job's result object and says its content type, or errNoJob.
	Result(ctx context.Context, id string) (io.ReadCloser, string, error)
}

// recordObject and resultObject are where a job's record and result live.
func recordObject(id string) string { return "jobs/" + id + ".json" }
func resultObject(id string) string { return "jobs/" + id + "/result" }

// gcsJobs is a jobStore on a Cloud Storage bucket.
type gcsJobs struct{ bucket *storage.BucketHandle }

func (g gcsJobs) Create(ctx context.Context, r record) error {
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	// DoesNotExist: if the worker got the job first, its record stands.
	w := g.bucket.Object(recordObject(r.ID)).If(storage.Conditions{DoesNotExist: true}).NewWriter(ctx)
	w.ContentType = "application/json"
	// One request, no 16 MiB chunk buffer: a record is a few hundred bytes
	// (https://pkg.go.dev/cloud.google.com/go/storage#Writer: "ChunkSize
	// ... If ChunkSize is set to zero, chunking will be disabled and the
	// object will be uploaded in a single request").
	w.ChunkSize = 0
	if _, err := w.Write(body); err != nil {
		_ = w.Close()
		return err
	}
	err = w.Close()
	if isPreconditionFailed(err) {
		return nil
	}
	return err
}

func (g gcsJobs) Get(ctx context.Context, id string) (record, error) {
	rd, err := g.bucket.Object(recordObject(id)).NewReader(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		return record{}, errNoJob
	}
	if err != nil {
		return record{}, err
	}
	defer rd.Close()
	var r record
	return r, json.NewDecoder(io.LimitReader(rd, 1<<20)).Decode(&r)
}

func (g gcsJobs) Result(ctx context.Context, id string) (io.ReadCloser, string, error) {
	rd, err := g.bucket.Object(resultObject(id)).NewReader(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		return nil, "", errNoJob
	}
	if err != nil {
		return nil, "", err
	}
	return rd, rd.Attrs.ContentType, nil
}

// isPreconditionFailed reports Cloud Storage's 412 (a precondition on the
// object's existence or generation did not hold).
func isPreconditionFailed(err error) bool {
	var g *googleapi.Error
	return errors.As(err, &g) && g.Code == http.StatusPreconditionFailed
}

// newJobStore opens the bucket the environment names; nil without one.
func newJobStore(ctx context.Context, env func(string) string) (jobStore, func(), error) {
	name := env(EnvJobsBucket)
	if name == "" {
		return nil, func() {}, nil
	}
	// Application Default Credentials on GKE (Workload Identity); locally
	// STORAGE_EMULATOR_HOST points the client at the platform's server.
	// Reads through the JSON API, as writes go: one API for both, on GCS
	// and on fake-gcs-server alike (https://pkg.go.dev/cloud.google.com/go/storage#WithJSONReads).
	c, err := storage.NewClient(ctx, storage.WithJSONReads())
	if err != nil {
		return nil, nil, fmt.Errorf("%s=%s: %w", EnvJobsBucket, name, err)
	}
	return gcsJobs{bucket: c.Bucket(name)}, func() { _ = c.Close() }, nil
}
