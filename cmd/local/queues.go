package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/controlplane"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/engine"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/keda"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/queue"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/storage"
	"github.com/redis/go-redis/v9"
)

// stackQueues are the local stack's queues, in the order its apps declare
// them, and the queue the backend app publishes to ("" when none): read
// from Pulumi.local.yaml, the file `make local` deploys.
func stackQueues(p paths) (names []string, backend string, err error) {
	cfg, err := config.LoadStackFile(p.project, "local")
	if err != nil {
		return nil, "", err
	}
	for _, a := range cfg.Apps {
		if a.Queue != nil && !slices.Contains(names, a.Queue.Name) {
			names = append(names, a.Queue.Name)
		}
		if a.Name == "backend" && len(a.Publishes) > 0 {
			backend = a.Publishes[0]
		}
	}
	if len(names) == 0 {
		return nil, "", errors.New("Pulumi.local.yaml declares no queue (apps[].queue)")
	}
	return names, backend, nil
}

// queueArgs parses a verb's `-queue NAME` and positional arguments; the
// queue defaults to the stack's first. It also returns the queue the backend
// publishes to (stackQueues).
func queueArgs(p paths, verb string, args []string) (name string, rest []string, backend string, err error) {
	names, backend, err := stackQueues(p)
	if err != nil {
		return "", nil, "", err
	}
	fs := flag.NewFlagSet(verb, flag.ContinueOnError)
	queue := fs.String("queue", names[0], "the queue: one of "+strings.Join(names, ", "))
	if err := fs.Parse(args); err != nil {
		return "", nil, "", err
	}
	if !slices.Contains(names, *queue) {
		return "", nil, "", fmt.Errorf("-queue %q: no such queue in Pulumi.local.yaml; its queues are %s", *queue, strings.Join(names, ", "))
	}
	return *queue, fs.Args(), backend, nil
}

// redisOf is a client on the running platform's queue; close it after use.
func redisOf(p paths) (*redis.Client, error) {
	addr, err := queue.Address(p.cluster)
	if err != nil {
		return nil, fmt.Errorf("no local cluster is running (make local): %w", err)
	}
	return redis.NewClient(&redis.Options{Addr: addr}), nil
}

// ensureQueues creates every stack queue's stream and consumer group, so
// that KEDA can count each backlog before any app ran, and its results
// bucket on the job records' server.
func ensureQueues(ctx context.Context, p paths) error {
	cfg, err := config.LoadStackFile(p.project, "local")
	if err != nil {
		return err
	}
	names, _, err := stackQueues(p)
	if err != nil {
		return err
	}
	q, err := redisOf(p)
	if err != nil {
		return err
	}
	defer q.Close()
	objects, err := storage.Address(p.cluster)
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := queue.EnsureGroup(ctx, q, name); err != nil {
			return fmt.Errorf("queue %s: %w", name, err)
		}
		if err := (storage.Client{Addr: objects}).EnsureBucket(ctx, cfg.ResultsBucket(name)); err != nil {
			return fmt.Errorf("queue %s: %w", name, err)
		}
	}
	return nil
}

// drain empties a queue, jobs in flight included: simulated pods run
// nothing to consume it. Its dead letters stay.
func drain(ctx context.Context, p paths, args []string) error {
	name, _, _, err := queueArgs(p, "drain", args)
	if err != nil {
		return err
	}
	q, err := redisOf(p)
	if err != nil {
		return err
	}
	defer q.Close()
	n, err := queue.Count(ctx, q, name)
	if err != nil {
		return err
	}
	if err := q.Del(ctx, name).Err(); err != nil {
		return err
	}
	if err := queue.EnsureGroup(ctx, q, name); err != nil {
		return err
	}
	fmt.Printf("removed %d waiting and %d in-flight job(s) from %s; KEDA scales its workers to zero after their cooldown\n", n.Waiting, n.InFlight, name)
	return nil
}

// replay puts a queue's dead letters back on it, oldest first, each as a
// new job (its deliveries start again from zero).
func replay(ctx context.Context, p paths, args []string) error {
	name, _, _, err := queueArgs(p, "replay", args)
	if err != nil {
		return err
	}
	q, err := redisOf(p)
	if err != nil {
		return err
	}
	defer q.Close()
	dead, err := q.XRange(ctx, name+":dead", "-", "+").Result()
	if err != nil {
		return err
	}
	for _, e := range dead {
		job, _ := e.Values[queue.Field].(string)
		// Both or neither: a replayed job is never in both streams.
		if _, err := q.TxPipelined(ctx, func(tx redis.Pipeliner) error {
			tx.XAdd(ctx, &redis.XAddArgs{Stream: name, Values: []any{queue.Field, job}})
			tx.XDel(ctx, name+":dead", e.ID)
			return nil
		}); err != nil {
			return err
		}
		fmt.Printf("replayed %s (dead-lettered after %v deliveries: %v)\n", e.Values["id"], e.Values["deliveries"], e.Values["error"])
	}
	fmt.Printf("replayed %d dead letter(s) onto %s\n", len(dead), name)
	return nil
}

// enqueue queues N jobs (default 1) on a queue; on real nodes, jobs for the
// backend's queue are POSTed to the backend, as a user's request arrives,
// each holding the GPU SECONDS long.
func enqueue(ctx context.Context, p paths, opts engine.Options, args []string) error {
	name, rest, backend, err := queueArgs(p, "enqueue", args)
	if err != nil {
		return err
	}
	n, seconds := 1, 0
	if len(rest) > 0 {
		if n, err = strconv.Atoi(rest[0]); err != nil || n < 1 {
			return fmt.Errorf("enqueue takes a count >= 1, got %q", rest[0])
		}
	}
	if len(rest) > 1 {
		if seconds, err = strconv.Atoi(rest[1]); err != nil || seconds < 0 || seconds > 600 {
			return fmt.Errorf("enqueue's second argument is the seconds each job holds the GPU, 0-600, got %q", rest[1])
		}
	}
	q, err := redisOf(p)
	if err != nil {
		return err
	}
	defer q.Close()
	if realNodes(p) && name == backend {
		return enqueueThroughBackend(ctx, p, opts, n, seconds)
	}
	var jobs []string
	for i := range n {
		jobs = append(jobs, fmt.Sprintf(`{"id":"local-%d-%d","input":{"seconds":%d}}`, time.Now().Unix(), i, seconds))
	}
	if err := queue.EnsureGroup(ctx, q, name); err != nil {
		return err
	}
	if err := queue.Add(ctx, q, name, jobs...); err != nil {
		return err
	}
	c, err := queue.Count(ctx, q, name)
	if err != nil {
		return err
	}
	fmt.Printf("queued %d job(s) on %s (%d waiting)\n", n, name, c.Waiting)
	if cp, err := controlplane.Open(p.cluster, p.bin); err == nil {
		if ok, _, _ := keda.Available(ctx, cp); !ok {
			fmt.Println(kedaStatus(ctx, p) + "\nThe workers scale from zero once KEDA runs.")
		}
	}
	return nil
}

// printQueues prints every queue of the stack: waiting, in flight and
// dead-lettered jobs.
func printQueues(ctx context.Context, p paths) {
	names, _, err := stackQueues(p)
	if err != nil {
		fmt.Println("queues:", err)
		return
	}
	q, err := redisOf(p)
	if err != nil {
		return
	}
	defer q.Close()
	for _, name := range names {
		c, err := queue.Count(ctx, q, name)
		if err != nil {
			fmt.Printf("queue %s: %v\n", name, err)
			continue
		}
		fmt.Printf("queue %s: %d waiting, %d in flight, %d dead-lettered\n", name, c.Waiting, c.InFlight, c.Dead)
	}
}
