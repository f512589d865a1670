package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"
)

// record is a job's state as its caller follows it through the backend's
// GET /api/jobs/{id}: the object jobs/<id>.json in the queue's results
// bucket (apps/backend reads and creates the same shape).
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
	ResultURL   string          `json:"resultUrl,omitempty"`
}

// workerRef is where a job last ran.
type workerRef struct {
	Pod  string `json:"pod"`
	Node string `json:"node,omitempty"`
}

// A job's states. A failed attempt that will be retried is queued again.
const (
	stateQueued       = "queued"
	stateRunning      = "running"
	stateSucceeded    = "succeeded"
	stateFailed       = "failed"        // a permanent error: not retried
	stateDeadLettered = "dead-lettered" // every permitted delivery failed
)

// maxInlineResult is the largest result kept inside the record; a larger
// one is only at resultUrl.
const maxInlineResult = 4 << 10

// jobRecords keeps the records of one queue's jobs in its results bucket
// (JOBS_BUCKET). Every change is a read, an edit and a write conditioned
// on the generation read, retried on a conflict, so the backend's
// creation and the worker's updates never overwrite one another.
type jobRecords struct {
	bucket *storage.BucketHandle
	self   workerRef
}

// newJobRecords opens the bucket the environment names; nil without one.
// Locally STORAGE_EMULATOR_HOST points the official client at the
// platform's GCS-compatible server; reads go through the JSON API, as
// writes do (https://pkg.go.dev/cloud.google.com/go/storage#WithJSONReads).
func newJobRecords(ctx context.Context, env func(string) string) (*jobRecords, func(), error) {
	name := env("JOBS_BUCKET")
	if name == "" {
		return nil, func() {}, nil
	}
	c, err := storage.NewClient(ctx, storage.WithJSONReads())
	if err != nil {
		return nil, nil, fmt.Errorf("JOBS_BUCKET=%s: %w", name, err)
	}
	self := workerRef{Pod: env("HOSTNAME"), Node: env("NODE_NAME")}
	return &jobRecords{bucket: c.Bucket(name), self: self}, func() { _ = c.Close() }, nil
}

func recordObject(id string) string { return "jobs/" + id + ".json" }
func resultObject(id string) string { return "jobs/" + id + "/result" }

// update applies edit to job id's record (a new one if the backend's is
// not there yet) and writes it back if nobody changed it meanwhile.
func (j *jobRecords) update(ctx context.Context, id string, edit func(*record)) error {
	obj := j.bucket.Object(recordObject(id))
	for try := 0; ; try++ {
		r := record{ID: id, State: stateQueued}
		cond := storage.Conditions{DoesNotExist: true}
		rd, err := obj.NewReader(ctx)
		switch {
		case errors.Is(err, storage.ErrObjectNotExist):
		case err != nil:
			return err
		default:
			err = json.NewDecoder(io.LimitReader(rd, 1<<20)).Decode(&r)
			cond = storage.Conditions{GenerationMatch: rd.Attrs.Generation}
			rd.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", recordObject(id), err)
			}
		}
		edit(&r)
		err = writeJSON(ctx, obj.If(cond), r)
		var g *googleapi.Error
		if errors.As(err, &g) && g.Code == http.StatusPreconditionFailed && try < 5 {
			continue // the backend or another delivery wrote first: read again
		}
		return err
	}
}

func writeJSON(ctx context.Context, obj *storage.ObjectHandle, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w := obj.NewWriter(ctx)
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
	return w.Close()
}

// started records a delivery taken: running, one more attempt, here.
func (j *jobRecords) started(ctx context.Context, id string) error {
	now := time.Now().UTC()
	return j.update(ctx, id, func(r *record) {
		r.State, r.Attempts, r.StartedAt, r.FinishedAt = stateRunning, r.Attempts+1, &now, nil
		w := j.self
		r.Worker = &w
	})
}

// succeeded stores the result under the job and records it done.
func (j *jobRecords) succeeded(ctx context.Context, id string, result json.RawMessage) error {
	if len(result) > 0 {
		if err := writeJSON(ctx, j.bucket.Object(resultObject(id)), result); err != nil {
			return err
		}
	}
	now := time.Now().UTC()
	return j.update(ctx, id, func(r *record) {
		r.State, r.FinishedAt, r.Error = stateSucceeded, &now, ""
		if len(result) > 0 {
			r.ResultURL = "/api/jobs/" + id + "/result"
			if len(result) <= maxInlineResult {
				r.Result = result
			}
		}
	})
}

// ended records a delivery that did not succeed: state is queued (it will
// be delivered again), failed or dead-lettered, with its error.
func (j *jobRecords) ended(ctx context.Context, id, state string, cause error) error {
	now := time.Now().UTC()
	return j.update(ctx, id, func(r *record) {
		r.State = state
		if cause != nil {
			r.Error = cause.Error()
		}
		if state != stateQueued {
			r.FinishedAt = &now
		}
	})
}

// recordedSource wraps a source so that every job's record follows its
// deliveries.
type recordedSource struct {
	source
	records *jobRecords
}

func (s recordedSource) Receive(ctx context.Context, handle func(message)) error {
	return s.source.Receive(ctx, func(m message) {
		id := jobIDOf(m.Body())
		if id != "" {
			s.log(id, "running", s.records.started(context.Background(), id))
		}
		handle(&recordedMessage{message: m, records: s.records, id: id})
	})
}

func (s recordedSource) log(id, what string, err error) {
	if err != nil {
		// The job goes on: its record lags, the queue stays right.
		log.Printf("job %s: recording %s: %v", id, what, err)
	}
}

// jobIDOf is the id the backend put in the job, or "".
func jobIDOf(body []byte) string {
	var j struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &j) != nil {
		return ""
	}
	return j.ID
}

// recordedMessage records how a delivery ends before the queue hears it.
type recordedMessage struct {
	message
	records *jobRecords
	id      string
}

func (m *recordedMessage) Done(result json.RawMessage) {
	if m.id != "" {
		recordedSource{records: m.records}.log(m.id, stateSucceeded, m.records.succeeded(context.Background(), m.id, result))
	}
	m.message.Done(result)
}

func (m *recordedMessage) Failed(cause error) {
	state := stateQueued
	if _, last := m.Attempt(); last {
		state = stateDeadLettered
	}
	if m.id != "" {
		recordedSource{records: m.records}.log(m.id, state, m.records.ended(context.Background(), m.id, state, cause))
	}
	m.message.Failed(cause)
}

func (m *recordedMessage) Reject(cause error) {
	if m.id != "" {
		recordedSource{records: m.records}.log(m.id, stateFailed, m.records.ended(context.Background(), m.id, stateFailed, cause))
	}
	m.message.Reject(cause)
}

func (m *recordedMessage) Release() {
	if m.id != "" {
		recordedSource{records: m.records}.log(m.id, stateQueued, m.records.ended(context.Background(), m.id, stateQueued, nil))
	}
	m.message.Release()
}
