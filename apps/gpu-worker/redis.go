package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisSource is the local platform's queue, with a Pub/Sub subscription's
// contract built from Redis Streams' own primitives
// (https://redis.io/docs/latest/develop/data-types/streams/#consumer-groups):
//
//   - producers XADD each job to the stream (field "job");
//   - workers read it in one consumer group (XREADGROUP ... >): an entry
//     read and not yet acknowledged sits in the group's pending-entries list
//     (PEL), owned by one worker, with the time of its last delivery and a
//     delivery counter;
//   - the owner renews its lease every renew while the job runs (XCLAIM of
//     its own entry resets the idle time) and acknowledges it when done
//     (XACK, then XDEL: nothing done stays in memory);
//   - an entry idle for lease, its worker gone (SIGKILL, a lost node), is
//     taken by the next worker (XAUTOCLAIM, which counts a delivery);
//   - an entry delivered more than maxDeliveries times goes to the
//     dead-letter stream, with its last error.
//
// KEDA's redis-streams scaler reads the same group: lagCount (not yet
// delivered) and pendingEntriesCount (in flight, including leases that ran
// out), so the workers stay scaled while any job is unfinished.
type redisSource struct {
	client *redis.Client
	// stream is the queue; group the consumer group; consumer this worker
	// (its pod's name: unique, and what XINFO CONSUMERS shows).
	stream, group, consumer string
	deadLetter              string
	maxDeliveries           int
	// lease is how long an entry stays with a worker that stopped renewing
	// it; renew how often a working worker renews it; maxJob how long it
	// keeps renewing one job.
	lease, renew, maxJob time.Duration
	// cursor is where XAUTOCLAIM resumes its scan of the PEL.
	cursor string
}

// jobField is the stream entry's field that holds the job.
const jobField = "job"

// ifOwner runs XCLAIM (ARGV[4:] are its options) on one pending entry only
// while ARGV[2] still owns it: a worker whose lease ran out and was taken
// must not take the entry back, nor hand back another worker's delivery.
// Returns 1 when it ran, 0 when the entry is someone else's or gone.
var ifOwner = redis.NewScript(`
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], unpack(ARGV, 4))
return 1`)

// ensureGroup creates the stream and its group if either is missing
// (producers and the local harness do too): reading from ID 0, so jobs
// added before the first worker are delivered.
func ensureGroup(ctx context.Context, c *redis.Client, stream, group string) error {
	err := c.XGroupCreateMkStream(ctx, stream, group, "0").Err()
	if err != nil && strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return nil
	}
	return err
}

func (r *redisSource) Receive(ctx context.Context, handle func(message)) error {
	defer r.leave()
	ready := false
	for ctx.Err() == nil {
		var m *redisMessage
		var err error
		if !ready {
			err = ensureGroup(ctx, r.client, r.stream, r.group)
			ready = err == nil
		}
		if ready {
			m, err = r.next(ctx)
		}
		switch {
		case ctx.Err() != nil:
			// Stopping: a job that arrived meanwhile (the blocking read
			// finished after SIGTERM) goes back at once, not after its lease.
			if m != nil {
				m.Release()
			}
			return nil
		case err != nil:
			// Redis restarting, or the stream deleted (`bin/local drain`):
			// make sure of the group again, after a pause.
			log.Printf("queue: %v; retrying", err)
			ready = false
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(2 * time.Second):
			}
		case m != nil:
			r.run(m, handle)
		}
	}
	return nil
}

// leave removes this worker from the group when it holds no entry, so
// the group lists only live pods. Never with entries pending: deleting a
// consumer drops its pending entries (https://redis.io/docs/latest/commands/xgroup-delconsumer/).
func (r *redisSource) leave() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p, err := r.client.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: r.stream, Group: r.group, Consumer: r.consumer, Start: "-", End: "+", Count: 1}).Result()
	if err == nil && len(p) == 0 {
		_ = r.client.XGroupDelConsumer(ctx, r.stream, r.group, r.consumer).Err()
	}
}

// next returns the next job for this worker: first an entry whose lease
// ran out, else a new one (waiting up to 2 s); nil when there is none.
// Entries past maxDeliveries go to the dead letters on the way.
func (r *redisSource) next(ctx context.Context) (*redisMessage, error) {
	for {
		claimed, cursor, err := r.client.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: r.stream, Group: r.group, Consumer: r.consumer,
			MinIdle: r.lease, Start: r.cursorOrStart(), Count: 1,
		}).Result()
		if err != nil {
			return nil, err
		}
		r.cursor = cursor
		if len(claimed) == 0 {
			break
		}
		m := &redisMessage{r: r, id: claimed[0].ID, body: field(claimed[0])}
		if m.deliveries, err = r.deliveries(ctx, m.id); err != nil {
			return nil, err
		}
		if m.deliveries > r.maxDeliveries {
			m.deadLetter(fmt.Sprintf("its lease ran out on delivery %d of %d: the worker stopped (killed, or its node lost) without finishing it", m.deliveries-1, r.maxDeliveries))
			continue
		}
		log.Printf("job %s: taken again (its worker failed it, handed it back or stopped renewing its lease); delivery %d", m.name(), m.deliveries)
		return m, nil
	}
	streams, err := r.client.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: r.group, Consumer: r.consumer, Streams: []string{r.stream, ">"}, Count: 1, Block: 2 * time.Second,
	}).Result()
	if errors.Is(err, redis.Nil) || (err == nil && (len(streams) == 0 || len(streams[0].Messages) == 0)) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	e := streams[0].Messages[0]
	return &redisMessage{r: r, id: e.ID, body: field(e), deliveries: 1}, nil
}

func (r *redisSource) cursorOrStart() string {
	if r.cursor == "" {
		return "0-0"
	}
	return r.cursor
}

// deliveries is the PEL's delivery counter of one entry.
func (r *redisSource) deliveries(ctx context.Context, id string) (int, error) {
	p, err := r.client.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: r.stream, Group: r.group, Start: id, End: id, Count: 1}).Result()
	if err != nil || len(p) == 0 {
		return 0, fmt.Errorf("XPENDING %s %s: %v", r.stream, id, err)
	}
	return int(p[0].RetryCount), nil
}

func field(e redis.XMessage) string {
	s, _ := e.Values[jobField].(string)
	return s
}

// run hands m to handle and renews its lease every renew until handle
// returns, for at most maxJob (then the lease runs out, like Pub/Sub's
// MaxExtension: the job is delivered again).
func (r *redisSource) run(m *redisMessage, handle func(message)) {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		tick := time.NewTicker(r.renew)
		defer tick.Stop()
		until := time.After(r.maxJob)
		for {
			select {
			case <-ctx.Done():
				return
			case <-until:
				log.Printf("job %s: still running after %s (queue.maxJobSeconds); no longer renewing its lease", m.name(), r.maxJob)
				return
			case <-tick.C:
				// A failed renewal (Redis restarting) is tried again at the
				// next tick: one missed renewal fits in a lease (validated).
				if ok, err := m.renew(ctx); err == nil && !ok {
					log.Printf("job %s: lease lost to another worker", m.name())
					return
				}
			}
		}
	}()
	handle(m)
}

// redisMessage is one delivery of a stream entry.
type redisMessage struct {
	r          *redisSource
	id, body   string
	deliveries int
	// mu orders renewals and the ending: once settled, no renewal may
	// reset the idle time a hand-back set.
	mu      sync.Mutex
	settled bool
}

func (m *redisMessage) Body() []byte { return []byte(m.body) }

// renew resets the entry's idle time (XCLAIM JUSTID does not count a
// delivery) unless it has ended or another worker has it.
func (m *redisMessage) renew(ctx context.Context) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.settled {
		return true, nil
	}
	return m.claim(ctx, "JUSTID")
}

// settle marks the delivery ended; false if it already was.
func (m *redisMessage) settle() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	was := m.settled
	m.settled = true
	return !was
}

// claim runs XCLAIM on m with opts if this worker still owns it.
func (m *redisMessage) claim(ctx context.Context, opts ...string) (bool, error) {
	args := append([]any{m.r.group, m.r.consumer, m.id}, toAny(opts)...)
	n, err := ifOwner.Run(ctx, m.r.client, []string{m.r.stream}, args...).Int()
	return n == 1, err
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// Reject acknowledges and deletes the entry as Done does: a job that can
// never succeed is not retried.
func (m *redisMessage) Reject(error) { m.Done(nil) }

// Attempt is the PEL's delivery count against maxDeliveries.
func (m *redisMessage) Attempt() (int, bool) {
	return m.deliveries, m.deliveries >= m.r.maxDeliveries
}

// Done acknowledges and deletes the entry (MULTI: both or neither).
func (m *redisMessage) Done(json.RawMessage) {
	if !m.settle() {
		return
	}
	if m.retry("acknowledging", func(ctx context.Context) error {
		_, err := m.r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.XAck(ctx, m.r.stream, m.r.group, m.id)
			p.XDel(ctx, m.r.stream, m.id)
			return nil
		})
		return err
	}) {
		log.Printf("job %s done (delivery %d)", m.name(), m.deliveries)
	}
}

// name is the job's own id (the backend's, in its body) and the entry's.
func (m *redisMessage) name() string {
	var j struct {
		ID string `json:"id"`
	}
	if json.Unmarshal([]byte(m.body), &j) == nil && j.ID != "" {
		return j.ID + " (" + m.id + ")"
	}
	return m.id
}

// retry runs a write that ends this delivery until it succeeds, for up to
// half a lease (Redis restarting); after that the lease runs out and the
// job comes back, so nothing is lost either way. It reports success.
func (m *redisMessage) retry(what string, write func(context.Context) error) bool {
	deadline := time.Now().Add(m.r.lease / 2)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := write(ctx)
		cancel()
		if err == nil {
			return true
		}
		if time.Now().After(deadline) {
			log.Printf("job %s: %s: %v; its lease runs out and it is delivered again", m.name(), what, err)
			return false
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// Failed counts this delivery as failed: the entry becomes due again at
// once (its idle time set to the lease) and the next worker takes it, or,
// on the last permitted delivery, it goes to the dead letters.
func (m *redisMessage) Failed(cause error) {
	if !m.settle() {
		return
	}
	if m.deliveries >= m.r.maxDeliveries {
		m.deadLetter(fmt.Sprintf("failed on delivery %d of %d: %v", m.deliveries, m.r.maxDeliveries, cause))
		return
	}
	m.handBack(m.deliveries)
}

// Release hands the entry back at once without counting this delivery
// (RETRYCOUNT sets the counter back): the worker is stopping.
func (m *redisMessage) Release() {
	if m.settle() {
		m.handBack(m.deliveries - 1)
	}
}

func (m *redisMessage) handBack(deliveries int) {
	idle := fmt.Sprint(m.r.lease.Milliseconds())
	m.retry("handing back", func(ctx context.Context) error {
		_, err := m.claim(ctx, "IDLE", idle, "RETRYCOUNT", fmt.Sprint(deliveries), "JUSTID")
		return err
	})
}

// deadLetter moves the entry to the dead-letter stream with why, in one
// MULTI: the job is never in both, never in neither.
func (m *redisMessage) deadLetter(why string) {
	if m.retry("dead-lettering", func(ctx context.Context) error {
		_, err := m.r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.XAdd(ctx, &redis.XAddArgs{Stream: m.r.deadLetter, Values: []any{
				jobField, m.body, "id", m.id, "deliveries", m.deliveries, "error", why,
			}})
			p.XAck(ctx, m.r.stream, m.r.group, m.id)
			p.XDel(ctx, m.r.stream, m.id)
			return nil
		})
		return err
	}) {
		log.Printf("job %s: dead-lettered to %s: %s", m.name(), m.r.deadLetter, why)
	}
}
