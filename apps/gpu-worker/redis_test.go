package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// realRedis starts Debian's redis-server (the local platform's queue) on a
// free loopback port for one test and returns a client on it.
func realRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	exe, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server is needed: `bash tools/build.sh redis` installs it (Debian: apt-get install redis-server)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	cmd := exec.Command(exe, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	for deadline := time.Now().Add(10 * time.Second); c.Ping(context.Background()).Err() != nil; {
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not answer")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c, addr
}

// worker is a redisSource on the stream "gpu-jobs" as consumer name.
func worker(c *redis.Client, name string, lease, renew time.Duration) *redisSource {
	return &redisSource{
		client: c, stream: "gpu-jobs", group: "workers", consumer: name, deadLetter: "gpu-jobs:dead",
		maxDeliveries: 3, lease: lease, renew: renew, maxJob: time.Hour,
	}
}

func addJob(t *testing.T, c *redis.Client, body string) string {
	t.Helper()
	id, err := c.XAdd(context.Background(), &redis.XAddArgs{Stream: "gpu-jobs", Values: []any{jobField, body}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// queueState is what Redis holds: entries in the stream, in flight (the
// group's PEL) and dead-lettered.
func queueState(t *testing.T, c *redis.Client) (stream, pending, dead int64) {
	t.Helper()
	ctx := context.Background()
	stream, _ = c.XLen(ctx, "gpu-jobs").Result()
	if p, err := c.XPending(ctx, "gpu-jobs", "workers").Result(); err == nil {
		pending = p.Count
	}
	dead, _ = c.XLen(ctx, "gpu-jobs:dead").Result()
	return stream, pending, dead
}

// receiveOne runs src until one job arrives and ends as do says; it
// returns the delivery count the worker saw and how long it waited.
func receiveOne(t *testing.T, src *redisSource, limit time.Duration, do func(message)) (deliveries int, waited time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	start := time.Now()
	_ = src.Receive(ctx, func(m message) {
		waited = time.Since(start)
		deliveries = m.(*redisMessage).deliveries
		do(m)
		cancel()
	})
	if deliveries == 0 {
		t.Fatalf("no job within %s", limit)
	}
	return deliveries, waited
}

// The whole contract on a real redis-server: done jobs are removed; a
// failed job comes back counted and is dead-lettered with its last error on
// the last permitted delivery; a released job comes back uncounted.
func TestRedisStreamDeliveries(t *testing.T) {
	t.Run("done: acknowledged and deleted", func(t *testing.T) {
		c, _ := realRedis(t)
		addJob(t, c, `{"id":"a"}`)
		n, _ := receiveOne(t, worker(c, "w1", 5*time.Second, time.Second), 10*time.Second, func(m message) { m.Done(nil) })
		stream, pending, dead := queueState(t, c)
		if n != 1 || stream != 0 || pending != 0 || dead != 0 {
			t.Fatalf("deliveries %d, stream %d, pending %d, dead %d: want 1, 0, 0, 0", n, stream, pending, dead)
		}
	})
	t.Run("failed: delivered again at once, counted, then dead-lettered", func(t *testing.T) {
		c, _ := realRedis(t)
		addJob(t, c, `{"id":"b"}`)
		src := worker(c, "w1", 5*time.Second, time.Second)
		for want := 1; want <= 3; want++ {
			n, waited := receiveOne(t, src, 10*time.Second, func(m message) { m.Failed(errors.New("CUDA out of memory")) })
			if n != want || (want > 1 && waited > 3*time.Second) {
				t.Fatalf("delivery %d after %s: want %d, at once", n, waited, want)
			}
		}
		stream, pending, dead := queueState(t, c)
		if stream != 0 || pending != 0 || dead != 1 {
			t.Fatalf("stream %d, pending %d, dead %d: want the job only in the dead letters", stream, pending, dead)
		}
		e, err := c.XRange(context.Background(), "gpu-jobs:dead", "-", "+").Result()
		if err != nil || e[0].Values[jobField] != `{"id":"b"}` || !strings.Contains(fmt.Sprint(e[0].Values["error"]), "failed on delivery 3 of 3: CUDA out of memory") {
			t.Fatalf("dead letter %v, %v", e, err)
		}
	})
	t.Run("released: handed back at once, not counted", func(t *testing.T) {
		c, _ := realRedis(t)
		addJob(t, c, `{"id":"c"}`)
		receiveOne(t, worker(c, "w1", 30*time.Second, time.Second), 10*time.Second, func(m message) { m.Release() })
		n, waited := receiveOne(t, worker(c, "w2", 30*time.Second, time.Second), 10*time.Second, func(m message) { m.Done(nil) })
		if n != 1 || waited > 3*time.Second {
			t.Fatalf("after a release: delivery %d after %s; want 1, at once (not after the 30 s lease)", n, waited)
		}
	})
}

// A worker that keeps renewing keeps its job: another worker polling the
// same group for three leases' time never gets it.
func TestRedisRenewedLeaseIsKept(t *testing.T) {
	c, _ := realRedis(t)
	addJob(t, c, `{"id":"long"}`)
	lease := 2 * time.Second
	var mu sync.Mutex
	var got []string
	take := func(name string, hold time.Duration) func() {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = worker(c, name, lease, lease/4).Receive(ctx, func(m message) {
				mu.Lock()
				got = append(got, name)
				mu.Unlock()
				time.Sleep(hold)
				m.Done(nil)
			})
		}()
		return func() { cancel(); <-done }
	}
	stopFirst := take("w1", 3*lease)
	time.Sleep(200 * time.Millisecond) // w1 has it
	stopSecond := take("w2", 0)
	time.Sleep(3*lease + time.Second)
	stopFirst()
	stopSecond()
	if fmt.Sprint(got) != "[w1]" {
		t.Fatalf("deliveries %v: want only w1's, its lease renewed every %s", got, lease/4)
	}
	if stream, pending, _ := queueState(t, c); stream != 0 || pending != 0 {
		t.Fatalf("stream %d, pending %d after done", stream, pending)
	}
}

// The real worker process, SIGKILLed mid-job (an OOM kill, a lost node):
// the job stays pending, and once its lease runs out the next worker takes
// it, counted as the second delivery, and finishes it. Nothing is lost.
func TestRedisJobOfAKilledWorkerIsDeliveredAgain(t *testing.T) {
	c, addr := realRedis(t)
	smi := filepath.Join(t.TempDir(), "nvidia-smi")
	if err := os.WriteFile(smi, []byte("#!/bin/sh\necho 'GPU 0: Tesla T4 (UUID: GPU-1)'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	id := addJob(t, c, `{"id":"k","input":{"seconds":60}}`)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), "GPU_WORKER_RUN_MAIN=1", "NVIDIA_SMI="+smi, "HOSTNAME=doomed",
		"QUEUE_BACKEND=redis", "REDIS_ADDRESS="+addr, "QUEUE_SOURCE=gpu-jobs", "QUEUE_GROUP=workers",
		"QUEUE_LEASE_SECONDS=3", "QUEUE_LEASE_RENEW_SECONDS=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), "on 1 GPU(s)"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the worker never started the job:\n%s", out.String())
		}
	}
	time.Sleep(4 * time.Second) // past one lease: renewals kept it
	if p, err := c.XPendingExt(context.Background(), &redis.XPendingExtArgs{Stream: "gpu-jobs", Group: "workers", Start: "-", End: "+", Count: 10}).Result(); err != nil ||
		len(p) != 1 || p[0].Consumer != "doomed" || p[0].Idle > 2*time.Second {
		t.Fatalf("while the worker runs, its job is pending with it, idle under a renewal period: %+v %v", p, err)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	killed := time.Now()

	n, _ := receiveOne(t, worker(c, "next", 3*time.Second, time.Second), 15*time.Second, func(m message) {
		if m.(*redisMessage).id != id {
			t.Errorf("got %s, want the killed worker's %s", m.(*redisMessage).id, id)
		}
		m.Done(nil)
	})
	after := time.Since(killed)
	if n != 2 || after < 2*time.Second || after > 6*time.Second {
		t.Fatalf("delivery %d, %s after the kill: want 2, once the 3 s lease ran out", n, after.Round(100*time.Millisecond))
	}
	if stream, pending, dead := queueState(t, c); stream != 0 || pending != 0 || dead != 0 {
		t.Fatalf("stream %d, pending %d, dead %d: want the job done once", stream, pending, dead)
	}
	t.Logf("SIGKILL mid-job -> taken by the next worker %s later, delivery 2", after.Round(100*time.Millisecond))
}

// A job whose worker died on its last permitted delivery is dead-lettered
// when its lease runs out, not run again.
func TestRedisLeaseRunsOutOnTheLastDelivery(t *testing.T) {
	c, _ := realRedis(t)
	id := addJob(t, c, `{"id":"d"}`)
	ctx := context.Background()
	if err := ensureGroup(ctx, c, "gpu-jobs", "workers"); err != nil {
		t.Fatal(err)
	}
	// Three deliveries to consumers that vanish without a word.
	if err := c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "workers", Consumer: "gone", Streams: []string{"gpu-jobs", ">"}, Count: 1}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "XCLAIM", "gpu-jobs", "workers", "gone", 0, id, "IDLE", 10000, "RETRYCOUNT", 3).Err(); err != nil {
		t.Fatal(err)
	}
	src := worker(c, "w1", time.Second, 500*time.Millisecond)
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_ = src.Receive(rctx, func(m message) { t.Errorf("delivered %s again past maxDeliveries", m.Body()) })
	stream, pending, dead := queueState(t, c)
	if stream != 0 || pending != 0 || dead != 1 {
		t.Fatalf("stream %d, pending %d, dead %d: want it dead-lettered", stream, pending, dead)
	}
}

// A job that arrives while a stopping worker's blocking read is still out
// (SIGTERM came first) is handed back at once, not left pending with a
// worker that is gone until its lease runs out.
func TestRedisJobArrivingAtShutdownIsHandedBack(t *testing.T) {
	c, _ := realRedis(t)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		_ = worker(c, "stopping", 30*time.Second, 10*time.Second).Receive(ctx, func(m message) {
			t.Errorf("handled %s after shutdown", m.Body())
		})
	}()
	time.Sleep(300 * time.Millisecond) // blocked in XREADGROUP
	cancel()
	addJob(t, c, `{"id":"late"}`)
	<-stopped
	n, waited := receiveOne(t, worker(c, "next", 30*time.Second, 10*time.Second), 10*time.Second, func(m message) { m.Done(nil) })
	if n != 1 || waited > 3*time.Second {
		t.Fatalf("delivery %d after %s: want the late job at once and uncounted, not after the 30 s lease", n, waited)
	}
}
