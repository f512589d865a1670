package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"github.com/redis/go-redis/v9"
)

// message is one job taken from the queue, and the three ways it can end.
type message interface {
	// Body is the job.
	Body() []byte
	// Done acknowledges the job: the queue forgets it. result is what the
	// job produced (JSON, may be nil), kept with its record.
	Done(result json.RawMessage)
	// Failed counts a failed delivery: the queue delivers the job again
	// later, until maxDeliveryAttempts, then it goes to the dead letters
	// (on Redis with cause as its last error).
	Failed(cause error)
	// Release hands the job back at once, without counting a failure (the
	// worker is stopping), so another worker can take it now.
	Release()
	// Reject ends a job that can never succeed (errPermanent: bad input):
	// the queue forgets it, as Done does, and its record says failed.
	Reject(cause error)
	// Attempt is this delivery's number, from 1, and whether it is the last
	// the queue permits (its failure dead-letters the job); 0 if unknown.
	Attempt() (n int, last bool)
}

// source hands out jobs one at a time: Receive calls handle for each, one
// after another, until ctx ends, and keeps the job leased while handle runs.
type source interface {
	Receive(ctx context.Context, handle func(message)) error
}

// settings are what the platform tells a consumer in its environment.
type settings struct {
	backend, source, mode string
	maxJob, grace         time.Duration
	// lease bounds how long a job whose worker died waits before it is
	// delivered again; renew is how often a working worker renews it
	// (Redis; Pub/Sub's client renews on its own schedule within lease).
	lease, renew time.Duration
	// Redis only: Pub/Sub counts deliveries and forwards dead letters itself.
	redisAddress, deadLetter, group, consumer string
	maxDeliveries                             int
}

func loadSettings(env func(string) string) (settings, error) {
	s := settings{
		backend: env("QUEUE_BACKEND"), source: env("QUEUE_SOURCE"), mode: env("QUEUE_MODE"),
		redisAddress: env("REDIS_ADDRESS"), deadLetter: env("QUEUE_DEAD_LETTER"), group: env("QUEUE_GROUP"),
		consumer: env("HOSTNAME"),
		maxJob:   time.Hour, grace: 30 * time.Second, maxDeliveries: 5, lease: time.Minute, renew: 20 * time.Second,
	}
	if s.consumer == "" {
		s.consumer, _ = os.Hostname()
	}
	if s.group == "" {
		s.group = "workers"
	}
	if s.mode == "" {
		s.mode = modeWorker
	}
	if s.deadLetter == "" {
		s.deadLetter = s.source + ":dead"
	}
	for _, n := range []struct {
		key  string
		into func(int)
	}{
		{"QUEUE_MAX_JOB_SECONDS", func(v int) { s.maxJob = time.Duration(v) * time.Second }},
		{"QUEUE_GRACE_SECONDS", func(v int) { s.grace = time.Duration(v) * time.Second }},
		{"QUEUE_MAX_DELIVERY_ATTEMPTS", func(v int) { s.maxDeliveries = v }},
		{"QUEUE_LEASE_SECONDS", func(v int) { s.lease = time.Duration(v) * time.Second }},
		{"QUEUE_LEASE_RENEW_SECONDS", func(v int) { s.renew = time.Duration(v) * time.Second }},
	} {
		if raw := env(n.key); raw != "" {
			v, err := strconv.Atoi(raw)
			if err != nil || v < 0 {
				return s, fmt.Errorf("%s=%q: want a whole number of seconds or attempts", n.key, raw)
			}
			n.into(v)
		}
	}
	switch {
	case s.renew <= 0 || 2*s.renew > s.lease:
		return s, fmt.Errorf("QUEUE_LEASE_RENEW_SECONDS=%d: want at least 1 and at most half of QUEUE_LEASE_SECONDS=%d, so that one missed renewal keeps the lease", int(s.renew/time.Second), int(s.lease/time.Second))
	case s.mode != modeWorker && s.mode != modeJob:
		return s, fmt.Errorf("QUEUE_MODE=%q: want %s or %s", s.mode, modeWorker, modeJob)
	case s.backend == "redis" && (s.redisAddress == "" || s.source == ""):
		return s, errors.New("QUEUE_BACKEND=redis needs REDIS_ADDRESS and QUEUE_SOURCE")
	case s.backend == "pubsub" && !strings.HasPrefix(s.source, "projects/"):
		return s, fmt.Errorf("QUEUE_BACKEND=pubsub needs QUEUE_SOURCE=projects/<p>/subscriptions/<s>, got %q", s.source)
	case s.backend != "" && s.backend != "redis" && s.backend != "pubsub":
		return s, fmt.Errorf("QUEUE_BACKEND=%q: want redis or pubsub", s.backend)
	}
	return s, nil
}

// newSource connects to the queue the settings name; nil without one.
func newSource(ctx context.Context, s settings) (source, func(), error) {
	switch s.backend {
	case "pubsub":
		project := strings.Split(s.source, "/")[1]
		// Credentials: Application Default Credentials, i.e. the pod's
		// Workload Identity on GKE (no key file anywhere).
		client, err := pubsub.NewClient(ctx, project)
		if err != nil {
			return nil, nil, err
		}
		src := newPubSubSource(client, s.source, s.maxJob, s.lease)
		src.maxDeliveries = s.maxDeliveries
		return src, func() { _ = client.Close() }, nil
	case "redis":
		client := redis.NewClient(&redis.Options{Addr: s.redisAddress})
		return &redisSource{
			client: client, stream: s.source, group: s.group, consumer: s.consumer,
			deadLetter: s.deadLetter, maxDeliveries: s.maxDeliveries,
			lease: s.lease, renew: s.renew, maxJob: s.maxJob,
		}, func() { _ = client.Close() }, nil
	}
	return nil, func() {}, nil
}

// pubSubSource receives with the official client, which keeps each message
// leased (extending its ack deadline) for up to maxJob while the job runs,
// so a job longer than the subscription's ack deadline is delivered once.
type pubSubSource struct {
	sub           *pubsub.Subscriber
	maxDeliveries int
}

func newPubSubSource(client *pubsub.Client, subscription string, maxJob, lease time.Duration) *pubSubSource {
	sub := client.Subscriber(subscription)
	// One job at a time per worker: a GPU does one job; more replicas (and
	// so GPU nodes) is KEDA's call, from the backlog.
	sub.ReceiveSettings.MaxOutstandingMessages = 1
	sub.ReceiveSettings.NumGoroutines = 1
	sub.ReceiveSettings.MaxExtension = maxJob
	// Each extension lasts at most lease: "bounds the maximum amount of
	// time before a message redelivery in the event the subscriber fails
	// to extend the deadline" (a SIGKILLed worker, a lost node):
	// https://pkg.go.dev/cloud.google.com/go/pubsub/v2#ReceiveSettings.
	sub.ReceiveSettings.MaxDurationPerAckExtension = lease
	return &pubSubSource{sub: sub}
}

// Receive pulls until ctx is done. The client's own Receive context is a
// different one, kept open until the job in hand has been acked or nacked:
// the client's maintainers advise separate contexts for shutdown
// (googleapis/google-cloud-go#895), and since pubsub/v2 2.1 a cancelled
// Receive does not nack what it already pulled (#13114), which then waits
// out its ack deadline instead of coming back at once. Seen once here as a
// TestPubSubShutdownHandsTheJobBack failure on a loaded machine (not
// reproduced in 25 runs under load either way). A message that arrives
// after ctx is done goes straight back.
func (p *pubSubSource) Receive(ctx context.Context, handle func(message)) error {
	pull, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	var mu sync.Mutex
	busy := false
	defer context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !busy {
			stop()
		}
	})()
	return p.sub.Receive(pull, func(_ context.Context, m *pubsub.Message) {
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			m.Nack()
			return
		}
		busy = true
		mu.Unlock()
		handle(pubSubMessage{m: m, maxDeliveries: p.maxDeliveries})
		mu.Lock()
		busy = false
		if ctx.Err() != nil {
			stop()
		}
		mu.Unlock()
	})
}

type pubSubMessage struct {
	m *pubsub.Message
	// maxDeliveries is the subscription's dead-letter policy's.
	maxDeliveries int
}

func (p pubSubMessage) Body() []byte         { return p.m.Data }
func (p pubSubMessage) Done(json.RawMessage) { p.m.Ack() }

func (p pubSubMessage) Reject(error) { p.m.Ack() }

// Attempt is Pub/Sub's own count, which it gives only when the
// subscription has a dead-letter policy (every queue of the platform's
// has): https://pkg.go.dev/cloud.google.com/go/pubsub/v2#Message.
func (p pubSubMessage) Attempt() (int, bool) {
	if p.m.DeliveryAttempt == nil {
		return 0, false
	}
	n := *p.m.DeliveryAttempt
	return n, p.maxDeliveries > 0 && n >= p.maxDeliveries
}

// Failed and Release both nack: Pub/Sub counts the delivery either way (it
// cannot tell why) and redelivers per the subscription's retry policy;
// Release's point is that this happens now, not after the ack deadline.
func (p pubSubMessage) Failed(error) { p.m.Nack() }
func (p pubSubMessage) Release()     { p.m.Nack() }
