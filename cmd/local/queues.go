package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
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

// onQueue parses a verb's queue arguments (queueArgs) and opens the
// running platform's Redis; close it after use.
func onQueue(p paths, verb string, args []string) (name string, rest []string, backend string, q *redis.Client, err error) {
	if name, rest, backend, err = queueArgs(p, verb, args); err != nil {
		return "", nil, "", nil, err
	}
	q, err = redisOf(p)
	return name, rest, backend, q, err
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
	name, _, _, q, err := onQueue(p, "drain", args)
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
	name, _, _, q, err := onQueue(p, "replay", args)
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
		if err := requeueRecord(ctx, p, name, job); err != nil {
			fmt.Printf("  its record stays dead-lettered until a worker takes it: %v\n", err)
		}
	}
	fmt.Printf("replayed %d dead letter(s) onto %s\n", len(dead), name)
	return nil
}

// requeueRecord moves a replayed job's record back to queued (its
// attempts and last error kept), if it has one.
func requeueRecord(ctx context.Context, p paths, queueName, body string) error {
	var j struct {
		ID string `json:"id"`
	}
	if json.Unmarshal([]byte(body), &j) != nil || j.ID == "" {
		return nil
	}
	c, bucket, err := recordsOf(p, queueName)
	if err != nil {
		return err
	}
	raw, err := c.Read(ctx, bucket, "jobs/"+j.ID+".json")
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var r map[string]any
	if err := json.Unmarshal(raw, &r); err != nil {
		return err
	}
	r["state"] = "queued"
	delete(r, "finishedAt")
	out, _ := json.Marshal(r)
	return c.Write(ctx, bucket, "jobs/"+j.ID+".json", out)
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

// jobRecord is what `jobs` and `job` read of a job's record (the apps
// write it: apps/backend, apps/gpu-worker).
type jobRecord struct {
	ID          string     `json:"id"`
	State       string     `json:"state"`
	Attempts    int        `json:"attempts"`
	SubmittedAt time.Time  `json:"submittedAt"`
	StartedAt   *time.Time `json:"startedAt"`
	FinishedAt  *time.Time `json:"finishedAt"`
	Worker      *struct{ Pod, Node string }
	Error       string          `json:"error"`
	Result      json.RawMessage `json:"result"`
}

// recordsOf is the job records' server and a queue's bucket on it.
func recordsOf(p paths, queueName string) (storage.Client, string, error) {
	addr, err := storage.Address(p.cluster)
	if err != nil {
		return storage.Client{}, "", fmt.Errorf("no local cluster with job records is running (make local): %w", err)
	}
	cfg, err := config.LoadStackFile(p.project, "local")
	if err != nil {
		return storage.Client{}, "", err
	}
	return storage.Client{Addr: addr}, cfg.ResultsBucket(queueName), nil
}

// jobs lists a queue's most recent jobs (-n, default 20): state, attempts
// and times, newest first.
func jobs(ctx context.Context, p paths, args []string) error {
	name, rest, _, err := queueArgs(p, "jobs", args)
	if err != nil {
		return err
	}
	limit := 20
	if len(rest) > 0 {
		if limit, err = strconv.Atoi(rest[0]); err != nil || limit < 1 {
			return fmt.Errorf("jobs takes how many to show, >= 1, got %q", rest[0])
		}
	}
	c, bucket, err := recordsOf(p, name)
	if err != nil {
		return err
	}
	objects, err := c.List(ctx, bucket, "jobs/")
	if err != nil {
		return err
	}
	var records []jobRecord
	for _, o := range objects {
		if !strings.HasSuffix(o.Name, ".json") || strings.Count(o.Name, "/") != 1 {
			continue // results, under jobs/<id>/
		}
		raw, err := c.Read(ctx, bucket, o.Name)
		if err != nil {
			return err
		}
		var r jobRecord
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("%s: %w", o.Name, err)
		}
		records = append(records, r)
	}
	slices.SortFunc(records, func(a, b jobRecord) int { return b.SubmittedAt.Compare(a.SubmittedAt) })
	fmt.Printf("%-32s  %-13s  %8s  %-20s  %s\n", "JOB", "STATE", "ATTEMPTS", "SUBMITTED", "TOOK")
	for _, r := range records[:min(limit, len(records))] {
		took := ""
		if r.StartedAt != nil && r.FinishedAt != nil {
			took = r.FinishedAt.Sub(r.SubmittedAt).Round(100 * time.Millisecond).String()
		}
		fmt.Printf("%-32s  %-13s  %8d  %-20s  %s\n", r.ID, r.State, r.Attempts, r.SubmittedAt.Local().Format("2006-01-02 15:04:05"), took)
	}
	fmt.Printf("%d job(s) in %s; bin/local job ID shows one\n", len(records), bucket)
	return nil
}

// job shows one job's record and its result.
func job(ctx context.Context, p paths, args []string) error {
	name, rest, _, err := queueArgs(p, "job", args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return errors.New("job takes one job id (bin/local jobs lists them)")
	}
	id := rest[0]
	c, bucket, err := recordsOf(p, name)
	if err != nil {
		return err
	}
	raw, err := c.Read(ctx, bucket, "jobs/"+id+".json")
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no job %s in %s", id, bucket)
	}
	if err != nil {
		return err
	}
	var pretty bytes.Buffer
	_ = json.Indent(&pretty, raw, "", "  ")
	fmt.Println(pretty.String())
	result, err := c.Read(ctx, bucket, "jobs/"+id+"/result")
	switch {
	case errors.Is(err, os.ErrNotExist):
		fmt.Println("no result (yet)")
	case err != nil:
		return err
	default:
		fmt.Printf("result (jobs/%s/result):\n%s\n", id, result)
	}
	return nil
}
