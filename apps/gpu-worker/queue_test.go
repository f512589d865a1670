package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	pb "cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/durationpb"
)

// fakeMessage records how a job ended.
type fakeMessage struct {
	body  string
	mu    sync.Mutex
	ended []string
}

func (f *fakeMessage) Body() []byte { return []byte(f.body) }
func (f *fakeMessage) end(how string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ended = append(f.ended, how)
}
func (f *fakeMessage) Done(json.RawMessage) { f.end("done") }
func (f *fakeMessage) Failed(error)         { f.end("failed") }
func (f *fakeMessage) Reject(error)         { f.end("rejected") }
func (f *fakeMessage) Release()             { f.end("released") }
func (f *fakeMessage) Attempt() (int, bool) { return 1, false }

// A job ends exactly one way: done, failed, or (stopping, past the grace)
// handed back; a job that finishes within the grace is still done.
func TestProcess(t *testing.T) {
	tests := []struct {
		name string
		job  time.Duration
		fail bool
		// permanent: the job can never succeed (errPermanent).
		permanent bool
		stop      bool
		grace     time.Duration
		want      outcome
		wantEnds  string
	}{
		{name: "done", want: done, wantEnds: "done"},
		{name: "failed", fail: true, want: failed, wantEnds: "failed"},
		{name: "failed for good: not retried", permanent: true, want: failed, wantEnds: "rejected"},
		{name: "stopping, finishes within the grace", job: 50 * time.Millisecond, stop: true, grace: time.Second, want: done, wantEnds: "done"},
		{name: "stopping, too long for the grace", job: time.Hour, stop: true, grace: 50 * time.Millisecond, want: released, wantEnds: "released"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stopping := make(chan struct{})
			if tt.stop {
				close(stopping)
			}
			m := &fakeMessage{body: "job"}
			got := process(stopping, tt.grace, m, func(ctx context.Context, _ []byte) (json.RawMessage, error) {
				select {
				case <-time.After(tt.job):
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				if tt.fail {
					return nil, errors.New("CUDA out of memory")
				}
				if tt.permanent {
					return nil, fmt.Errorf("%w: input.seconds -1", errPermanent)
				}
				return nil, nil
			})
			if got != tt.want || fmt.Sprint(m.ended) != "["+tt.wantEnds+"]" {
				t.Fatalf("outcome %d, ended %v; want %d, [%s]", got, m.ended, tt.want, tt.wantEnds)
			}
		})
	}
}

// pubSub is the official in-memory Pub/Sub fake with one topic and one
// subscription of the given ack deadline, and a client on it.
func pubSub(t *testing.T, ackDeadline time.Duration) (*pstest.Server, *pubsub.Client, string, string) {
	t.Helper()
	pstest.SetMinAckDeadline(time.Second)
	t.Cleanup(pstest.ResetMinAckDeadline)
	srv := pstest.NewServer()
	t.Cleanup(func() { _ = srv.Close() })
	ctx := context.Background()
	client, err := pubsub.NewClient(ctx, "p", option.WithEndpoint(srv.Addr), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	topic, sub := "projects/p/topics/gpu-jobs", "projects/p/subscriptions/gpu-jobs"
	if _, err := client.TopicAdminClient.CreateTopic(ctx, &pb.Topic{Name: topic}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.SubscriptionAdminClient.CreateSubscription(ctx, &pb.Subscription{
		Name: sub, Topic: topic, AckDeadlineSeconds: int32(ackDeadline / time.Second),
		RetryPolicy: &pb.RetryPolicy{MinimumBackoff: durationpb.New(0), MaximumBackoff: durationpb.New(0)},
	}); err != nil {
		t.Fatal(err)
	}
	return srv, client, topic, sub
}

// deliveries counts how often the fake handed each message out.
func deliveries(srv *pstest.Server) map[string]int {
	out := map[string]int{}
	for _, m := range srv.Messages() {
		out[string(m.Data)] = m.Deliveries
	}
	return out
}

// A job that runs longer than the subscription's ack deadline and longer
// than the client's first lease (10 s, its minimum per extension) is
// delivered once: the official client keeps extending the lease, up to
// maxJob. (With MaxExtension off, this job is delivered twice.)
func TestPubSubLongJobIsDeliveredOnce(t *testing.T) {
	srv, client, topic, sub := pubSub(t, time.Second)
	srv.Publish(topic, []byte("long"), nil)
	src := newPubSubSource(client, sub, time.Hour, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var runs int
	outcome, err := runOne(ctx, src, time.Second, 10*time.Second, func(context.Context, []byte) (json.RawMessage, error) {
		runs++
		time.Sleep(13 * time.Second)
		return nil, nil
	})
	if err != nil || outcome != done || runs != 1 {
		t.Fatalf("outcome %d, err %v, runs %d", outcome, err, runs)
	}
	// Give a redelivery, were there one, the time to happen.
	time.Sleep(1500 * time.Millisecond)
	if got := deliveries(srv); got["long"] != 1 {
		t.Fatalf("deliveries %v: want the long job delivered exactly once", got)
	}
	if srv.Messages()[0].Acks != 1 {
		t.Fatalf("acks %d, want 1", srv.Messages()[0].Acks)
	}
}

// A failing job is not acknowledged: Pub/Sub delivers it again.
func TestPubSubFailedJobIsNotAcknowledged(t *testing.T) {
	srv, client, topic, sub := pubSub(t, 10*time.Second)
	srv.Publish(topic, []byte("bad"), nil)
	src := newPubSubSource(client, sub, time.Hour, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var mu sync.Mutex
	runs := 0
	go func() {
		_ = consume(ctx, src, time.Second, func(context.Context, []byte) (json.RawMessage, error) {
			mu.Lock()
			runs++
			if runs == 2 {
				cancel()
			}
			mu.Unlock()
			return nil, errors.New("CUDA out of memory")
		})
	}()
	<-ctx.Done()
	time.Sleep(200 * time.Millisecond)
	m := srv.Messages()[0]
	if m.Acks != 0 || m.Deliveries < 2 {
		t.Fatalf("acks %d, deliveries %d: a failed job must not be acknowledged, and must come back", m.Acks, m.Deliveries)
	}
}

// On shutdown a job that cannot finish within the grace is handed back at
// once: another worker gets it long before the 60 s ack deadline.
func TestPubSubShutdownHandsTheJobBack(t *testing.T) {
	srv, client, topic, sub := pubSub(t, 60*time.Second)
	srv.Publish(topic, []byte("slow"), nil)
	first := newPubSubSource(client, sub, time.Hour, 10*time.Second)
	ctx, sigterm := context.WithCancel(context.Background())
	started := make(chan struct{})
	stopped := make(chan error, 1)
	go func() {
		stopped <- consume(ctx, first, 100*time.Millisecond, func(jobCtx context.Context, _ []byte) (json.RawMessage, error) {
			close(started)
			<-jobCtx.Done() // a job far longer than the grace
			return nil, jobCtx.Err()
		})
	}()
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the first worker never got the job")
	}
	sigterm()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	handedBack := time.Now()
	second := newPubSubSource(client, sub, time.Hour, 10*time.Second)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	outcome, err := runOne(ctx2, second, time.Second, 15*time.Second, func(context.Context, []byte) (json.RawMessage, error) { return nil, nil })
	if err != nil || outcome != done {
		t.Fatalf("the second worker: outcome %d, err %v", outcome, err)
	}
	if waited := time.Since(handedBack); waited > 10*time.Second {
		t.Fatalf("the job came back after %s: it waited out its lease instead of being handed back", waited)
	}
	if m := srv.Messages()[0]; m.Acks != 1 || m.Deliveries != 2 {
		t.Fatalf("acks %d, deliveries %d: want 1 and 2", m.Acks, m.Deliveries)
	}
}

func TestLoadSettings(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	s, err := loadSettings(env(map[string]string{"QUEUE_BACKEND": "redis", "REDIS_ADDRESS": "127.0.0.1:6379", "QUEUE_SOURCE": "gpu-jobs",
		"QUEUE_GRACE_SECONDS": "15", "QUEUE_MAX_JOB_SECONDS": "600", "QUEUE_MAX_DELIVERY_ATTEMPTS": "7",
		"QUEUE_LEASE_SECONDS": "30", "QUEUE_LEASE_RENEW_SECONDS": "10", "HOSTNAME": "gpu-worker-7d9f"}))
	if err != nil || s.grace != 15*time.Second || s.maxJob != 10*time.Minute || s.maxDeliveries != 7 || s.deadLetter != "gpu-jobs:dead" || s.mode != modeWorker ||
		s.lease != 30*time.Second || s.renew != 10*time.Second || s.consumer != "gpu-worker-7d9f" || s.group != "workers" {
		t.Fatalf("%+v %v", s, err)
	}
	for _, bad := range []map[string]string{
		{"QUEUE_BACKEND": "pubsub", "QUEUE_SOURCE": "gpu-jobs"},
		{"QUEUE_BACKEND": "redis", "QUEUE_SOURCE": "gpu-jobs"},
		{"QUEUE_BACKEND": "sqs"},
		{"QUEUE_MODE": "batch"},
		{"QUEUE_GRACE_SECONDS": "soon"},
		{"QUEUE_LEASE_SECONDS": "10", "QUEUE_LEASE_RENEW_SECONDS": "6"},
		{"QUEUE_LEASE_RENEW_SECONDS": "0"},
	} {
		if _, err := loadSettings(env(bad)); err == nil {
			t.Errorf("%v: want an error", bad)
		}
	}
	if got := jobGrace(15 * time.Second); got != 13*time.Second {
		t.Fatalf("jobGrace(15s) = %s: 2 s are kept for handing back and exiting", got)
	}
}

// On Pub/Sub too a SIGKILLed worker's job comes back within the lease: the
// real worker process, on the official fake, extends its lease at most
// QUEUE_LEASE_SECONDS at a time (MaxDurationPerAckExtension), so once it
// is killed mid-job the message is delivered again within that, counted.
// (A fresh client extends by 10 s anyway; the setting keeps that bound once
// the client's ack-latency histogram has grown with long jobs, when it
// would extend by up to 600 s at a time.)
func TestPubSubJobOfAKilledWorkerIsDeliveredAgain(t *testing.T) {
	srv, client, topic, sub := pubSub(t, 10*time.Second)
	srv.Publish(topic, []byte(`{"id":"k","input":{"seconds":120}}`), nil)
	smi := filepath.Join(t.TempDir(), "nvidia-smi")
	if err := os.WriteFile(smi, []byte("#!/bin/sh\necho 'GPU 0: Tesla T4 (UUID: GPU-1)'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), "GPU_WORKER_RUN_MAIN=1", "NVIDIA_SMI="+smi, "PUBSUB_EMULATOR_HOST="+srv.Addr,
		"QUEUE_BACKEND=pubsub", "QUEUE_SOURCE="+sub, "QUEUE_LEASE_SECONDS=10", "QUEUE_LEASE_RENEW_SECONDS=5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), "on 1 GPU(s)"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the worker never started the job:\n%s", out.String())
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	killed := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	outcome, err := runOne(ctx, newPubSubSource(client, sub, time.Hour, 10*time.Second), time.Second, 20*time.Second,
		func(context.Context, []byte) (json.RawMessage, error) { return nil, nil })
	after := time.Since(killed)
	if err != nil || outcome != done {
		t.Fatalf("the next worker: outcome %d, err %v, %s after the kill", outcome, err, after)
	}
	if m := srv.Messages()[0]; m.Deliveries != 2 || m.Acks != 1 || after > 12*time.Second {
		t.Fatalf("deliveries %d, acks %d, %s after the kill: want 2, 1, within the 10 s lease", m.Deliveries, m.Acks, after.Round(100*time.Millisecond))
	}
	t.Logf("Pub/Sub: SIGKILL mid-job -> delivered again %s later", after.Round(100*time.Millisecond))
}
