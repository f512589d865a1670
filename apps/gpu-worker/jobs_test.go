package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	pb "cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// records is fake-gcs-server (a real GCS-compatible server, the one the
// local platform runs) on a loopback port with the bucket "jobs", and the
// worker's records on it through the official client's STORAGE_EMULATOR_HOST.
func records(t *testing.T) (*fakestorage.Server, *jobRecords) {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", Writer: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	srv.CreateBucket("jobs")
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(srv.URL(), "http://"))
	env := map[string]string{"JOBS_BUCKET": "jobs", "HOSTNAME": "gpu-worker-7d9f", "NODE_NAME": "gpu-0"}
	r, closeRecords, err := newJobRecords(context.Background(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeRecords)
	return srv, r
}

// readRecord is job id's record as the backend would serve it.
func readRecord(t *testing.T, srv *fakestorage.Server, id string) record {
	t.Helper()
	obj, err := srv.GetObject("jobs", recordObject(id))
	if err != nil {
		t.Fatalf("record %s: %v", id, err)
	}
	var r record
	if err := json.Unmarshal(obj.Content, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// queued writes the record the backend writes on POST.
func queued(t *testing.T, srv *fakestorage.Server, id string) {
	t.Helper()
	srv.CreateObject(fakestorage.Object{
		ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "jobs", Name: recordObject(id), ContentType: "application/json"},
		Content:     []byte(fmt.Sprintf(`{"id":%q,"state":"queued","attempts":0,"submittedAt":"2026-12-03T10:00:00Z"}`, id)),
	})
}

// runJobs consumes with records until job id's record has ended
// (succeeded, failed or dead-lettered) and a second more has passed, in
// which a delivery that should not happen would show; or until limit.
func runJobs(t *testing.T, src source, rec *jobRecords, srv *fakestorage.Server, id string, limit time.Duration, do workFunc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if obj, err := srv.GetObject("jobs", recordObject(id)); err == nil {
				var r record
				if json.Unmarshal(obj.Content, &r) == nil && (r.State == stateSucceeded || r.State == stateFailed || r.State == stateDeadLettered) {
					time.Sleep(time.Second)
					cancel()
					return
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	_ = consume(ctx, recordedSource{source: src, records: rec}, time.Second, do)
}

// Every transition of a job's record, on the local queue (a real
// redis-server) and fake-gcs-server: queued -> running -> succeeded with
// its result; a failed attempt back to queued with its error, then running
// again with attempts counted; dead-lettered on the last permitted
// delivery; failed for good on bad input, not retried; queued again when
// handed back at shutdown; created by the worker if it got there first.
func TestJobStatesOnRedis(t *testing.T) {
	c, _ := realRedis(t)
	srv, rec := records(t)
	w := func() *redisSource { return worker(c, "gpu-worker-7d9f", 5*time.Second, time.Second) }

	t.Run("succeeded, with its result", func(t *testing.T) {
		queued(t, srv, "ok")
		addJob(t, c, `{"id":"ok"}`)
		var during record
		runJobs(t, w(), rec, srv, "ok", 10*time.Second, func(context.Context, []byte) (json.RawMessage, error) {
			during = readRecord(t, srv, "ok")
			return json.RawMessage(`{"gpus":["GPU 0"]}`), nil
		})
		if during.State != stateRunning || during.Attempts != 1 || during.StartedAt == nil || during.Worker == nil ||
			*during.Worker != (workerRef{Pod: "gpu-worker-7d9f", Node: "gpu-0"}) {
			t.Fatalf("while it ran: %+v", during)
		}
		r := readRecord(t, srv, "ok")
		if r.State != stateSucceeded || r.Attempts != 1 || r.FinishedAt == nil || string(r.Result) != `{"gpus":["GPU 0"]}` ||
			r.ResultURL != "/api/jobs/ok/result" || r.SubmittedAt.IsZero() {
			t.Fatalf("done: %+v", r)
		}
		if obj, err := srv.GetObject("jobs", resultObject("ok")); err != nil || string(obj.Content) != `{"gpus":["GPU 0"]}` {
			t.Fatalf("result object: %v %v", obj, err)
		}
	})
	t.Run("a failed attempt is queued again, then retried", func(t *testing.T) {
		queued(t, srv, "flaky")
		addJob(t, c, `{"id":"flaky"}`)
		ctx, cancel := context.WithCancel(context.Background())
		_ = consume(ctx, recordedSource{source: w(), records: rec}, time.Second, func(context.Context, []byte) (json.RawMessage, error) {
			cancel() // this worker stops after its one attempt
			return nil, errors.New("CUDA out of memory")
		})
		if r := readRecord(t, srv, "flaky"); r.State != stateQueued || r.Attempts != 1 || r.Error != "CUDA out of memory" || r.FinishedAt != nil {
			t.Fatalf("after the failed attempt: %+v", r)
		}
		var during record
		runJobs(t, w(), rec, srv, "flaky", 10*time.Second, func(context.Context, []byte) (json.RawMessage, error) {
			during = readRecord(t, srv, "flaky")
			return nil, nil
		})
		if during.State != stateRunning || during.Attempts != 2 || during.Error != "CUDA out of memory" {
			t.Fatalf("the retry, while it ran: %+v (the last error stays visible)", during)
		}
		if r := readRecord(t, srv, "flaky"); r.State != stateSucceeded || r.Attempts != 2 || r.Error != "" {
			t.Fatalf("after the retry: %+v", r)
		}
	})
	t.Run("dead-lettered after exactly maxDeliveries attempts", func(t *testing.T) {
		queued(t, srv, "bad")
		addJob(t, c, `{"id":"bad"}`)
		var mu sync.Mutex
		runs := 0
		runJobs(t, w(), rec, srv, "bad", 10*time.Second, func(ctx context.Context, body []byte) (json.RawMessage, error) {
			if jobIDOf(body) != "bad" {
				return nil, nil
			}
			mu.Lock()
			runs++
			mu.Unlock()
			return nil, errors.New("no GPU visible")
		})
		r := readRecord(t, srv, "bad")
		if r.State != stateDeadLettered || r.Attempts != 3 || runs != 3 || r.Error != "no GPU visible" || r.FinishedAt == nil {
			t.Fatalf("runs %d, record %+v: want dead-lettered after 3 attempts", runs, r)
		}
	})
	t.Run("bad input: failed for good, not retried", func(t *testing.T) {
		queued(t, srv, "typo")
		addJob(t, c, `{"id":"typo","input":{"seconds":"ten"}}`)
		runs := 0
		runJobs(t, w(), rec, srv, "typo", 10*time.Second, func(ctx context.Context, body []byte) (json.RawMessage, error) {
			runs++
			return nil, fmt.Errorf("%w: input.seconds", errPermanent)
		})
		r := readRecord(t, srv, "typo")
		if r.State != stateFailed || r.Attempts != 1 || runs != 1 || !strings.Contains(r.Error, "input.seconds") {
			t.Fatalf("runs %d, record %+v", runs, r)
		}
		if stream, pending, dead := queueState(t, c); stream != 0 || pending != 0 || dead != 1 {
			t.Fatalf("stream %d, pending %d, dead %d: the bad job is gone, the earlier dead letter stays", stream, pending, dead)
		}
	})
	t.Run("handed back at shutdown: queued again", func(t *testing.T) {
		queued(t, srv, "long")
		addJob(t, c, `{"id":"long"}`)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = consume(ctx, recordedSource{source: w(), records: rec}, 100*time.Millisecond, func(jobCtx context.Context, _ []byte) (json.RawMessage, error) {
				cancel() // SIGTERM while the job runs
				<-jobCtx.Done()
				return nil, jobCtx.Err()
			})
		}()
		<-done
		if r := readRecord(t, srv, "long"); r.State != stateQueued || r.Attempts != 1 {
			t.Fatalf("%+v", r)
		}
		runJobs(t, w(), rec, srv, "long", 10*time.Second, func(context.Context, []byte) (json.RawMessage, error) { return nil, nil })
		if r := readRecord(t, srv, "long"); r.State != stateSucceeded || r.Attempts != 2 {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("the worker first: it creates the record", func(t *testing.T) {
		addJob(t, c, `{"id":"early"}`)
		runJobs(t, w(), rec, srv, "early", 10*time.Second, func(context.Context, []byte) (json.RawMessage, error) { return nil, nil })
		if r := readRecord(t, srv, "early"); r.State != stateSucceeded || r.Attempts != 1 {
			t.Fatalf("%+v", r)
		}
	})
}

// On Pub/Sub (the official fake, with the platform's dead-letter policy)
// the record says dead-lettered on the delivery Pub/Sub numbers last.
func TestJobDeadLetteredOnPubSub(t *testing.T) {
	srv, client, topic, sub := pubSub(t, 10*time.Second)
	ctx := context.Background()
	dead := "projects/p/topics/gpu-jobs-dead"
	if _, err := client.TopicAdminClient.CreateTopic(ctx, &pb.Topic{Name: dead}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.SubscriptionAdminClient.UpdateSubscription(ctx, &pb.UpdateSubscriptionRequest{
		Subscription: &pb.Subscription{Name: sub, DeadLetterPolicy: &pb.DeadLetterPolicy{DeadLetterTopic: dead, MaxDeliveryAttempts: 5}},
		UpdateMask:   &fieldmaskpb.FieldMask{Paths: []string{"dead_letter_policy"}},
	}); err != nil {
		t.Fatal(err)
	}
	gcs, rec := records(t)
	queued(t, gcs, "bad")
	srv.Publish(topic, []byte(`{"id":"bad"}`), nil)
	src := newPubSubSource(client, sub, time.Hour, 10*time.Second)
	src.maxDeliveries = 5
	var mu sync.Mutex
	runs := 0
	runJobs(t, src, rec, gcs, "bad", 20*time.Second, func(context.Context, []byte) (json.RawMessage, error) {
		mu.Lock()
		defer mu.Unlock()
		runs++
		return nil, errors.New("no GPU visible")
	})
	r := readRecord(t, gcs, "bad")
	if r.State != stateDeadLettered || r.Attempts != 5 || runs != 5 {
		t.Fatalf("runs %d, record %+v: want dead-lettered on Pub/Sub's 5th delivery", runs, r)
	}
}
