// Command gpu-worker is the sample GPU worker. Queue-driven (QUEUE_BACKEND
// set), it does each job on the GPUs the device plugin gave its container
// and acknowledges it when done. QUEUE_MODE, which the platform sets, says
// how it was started:
//
//   - worker (a Deployment KEDA scales): take jobs one at a time until
//     SIGTERM, when KEDA scales it in.
//   - job (one Kubernetes Job per message, from a KEDA ScaledJob): take one
//     job, do it, acknowledge it and exit 0; exit 1 if it failed (left
//     unacknowledged, so the queue delivers it again and the Job's backoff
//     applies). A Job whose pod never exits would hold its GPU node forever.
//
// Without a queue it reports the GPUs it sees every minute. Replace work()
// with real work; the pod spec (GPU limit, toleration, node selector) stays.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

// listGPUs returns one line per visible GPU, as `nvidia-smi -L` prints them.
// GKE's driver installer mounts nvidia-smi under /usr/local/nvidia/bin.
func listGPUs(ctx context.Context, smi string) ([]string, error) {
	out, err := exec.CommandContext(ctx, smi, "-L").Output()
	if err != nil {
		return nil, err
	}
	var gpus []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(line, "GPU ") {
			gpus = append(gpus, line)
		}
	}
	return gpus, nil
}

// work is one job: here, a look at the GPUs the job would run on. A job's
// input may ask the sample to hold its GPU for a while ({"input":
// {"seconds": N}}, 0 to maxHold), standing in for real work's duration:
// enough to see the pool's GPUs all busy and the next worker wait for a
// node; {"input": {"fail": "why"}} fails every attempt with that error.
// Its result says what it ran on and for how long. An input it cannot do
// is errPermanent: not worth another GPU.
func work(ctx context.Context, smi string, body []byte) (json.RawMessage, error) {
	var j struct {
		Input *struct {
			Seconds *float64 `json:"seconds"`
			// Fail makes the job fail with this error on every attempt,
			// as a crashing model would: to see retries and dead letters.
			Fail string `json:"fail"`
		} `json:"input"`
	}
	if err := json.Unmarshal(body, &j); err != nil {
		return nil, fmt.Errorf("%w: the job is not JSON: %v", errPermanent, err)
	}
	var hold time.Duration
	if j.Input != nil && j.Input.Seconds != nil {
		s := *j.Input.Seconds
		if s < 0 || s > maxHold.Seconds() {
			return nil, fmt.Errorf("%w: input.seconds %v: want 0 to %v", errPermanent, s, maxHold.Seconds())
		}
		hold = time.Duration(s * float64(time.Second))
	}
	start := time.Now()
	gpus, err := listGPUs(ctx, smi)
	if err != nil {
		return nil, fmt.Errorf("no GPU visible: %w", err)
	}
	log.Printf("job %s on %d GPU(s): %s", body, len(gpus), strings.Join(gpus, "; "))
	if j.Input != nil && j.Input.Fail != "" {
		return nil, errors.New(j.Input.Fail)
	}
	select {
	case <-time.After(hold):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	host, _ := os.Hostname()
	return json.Marshal(map[string]any{
		"gpus": gpus, "pod": host, "node": os.Getenv("NODE_NAME"),
		"heldSeconds": hold.Seconds(), "tookSeconds": time.Since(start).Seconds(),
	})
}

// errPermanent marks a job that can never succeed (bad input): it is
// recorded failed and acknowledged, not retried on a GPU.
var errPermanent = errors.New("permanent")

// maxHold bounds how long a sample job holds its GPU.
const maxHold = 10 * time.Minute

// outcome is how one job ended.
type outcome int

const (
	done     outcome = iota // acknowledged
	failed                  // not acknowledged: delivered again, or dead-lettered
	released                // handed back unfinished: the worker is stopping
)

// process runs one job and ends its message. When stopping closes (SIGTERM:
// KEDA scales in, or a Spot VM is reclaimed) the job gets grace to finish;
// past that it is cancelled and the message handed back at once, instead
// of another worker waiting out its lease.
func process(stopping <-chan struct{}, grace time.Duration, m message, do workFunc) outcome {
	jobCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type ended struct {
		result json.RawMessage
		err    error
	}
	results := make(chan ended, 1)
	go func() {
		r, err := do(jobCtx, m.Body())
		results <- ended{r, err}
	}()
	finish := func(e ended) outcome {
		switch {
		case errors.Is(e.err, errPermanent):
			log.Printf("job failed for good, not retried: %v", e.err)
			m.Reject(e.err)
			return failed
		case e.err != nil:
			log.Printf("job failed, left for redelivery: %v", e.err)
			m.Failed(e.err)
			return failed
		}
		m.Done(e.result)
		return done
	}
	select {
	case e := <-results:
		return finish(e)
	case <-stopping:
	}
	select {
	case e := <-results:
		return finish(e)
	case <-time.After(grace):
		cancel()
		log.Printf("stopping: the job did not finish within %s; handed back to the queue", grace)
		m.Release()
		return released
	}
}

// workFunc does one job (its body) and returns its result (JSON, or nil).
type workFunc func(ctx context.Context, body []byte) (json.RawMessage, error)

// shutdownMargin is kept from the pod's grace period for handing a message
// back and exiting before SIGKILL.
const shutdownMargin = 2 * time.Second

// jobGrace is how long a job may keep running after SIGTERM.
func jobGrace(podGrace time.Duration) time.Duration {
	return max(podGrace-shutdownMargin, 0)
}

// consume takes jobs until ctx ends (worker mode).
func consume(ctx context.Context, src source, grace time.Duration, do workFunc) error {
	return src.Receive(ctx, func(m message) { process(ctx.Done(), grace, m, do) })
}

// errNoJob is runOne's answer when no job came within its wait: another
// Job took the message KEDA started this one for.
var errNoJob = errors.New("no job arrived")

// runOne takes one job, waiting up to wait for it (job mode: each pod is
// one Job's run).
func runOne(ctx context.Context, src source, grace, wait time.Duration, do workFunc) (outcome, error) {
	receiving, stop := context.WithCancel(ctx)
	defer stop()
	var once sync.Once
	got := make(chan struct{})
	go func() {
		select {
		case <-time.After(wait):
			once.Do(stop) // nothing came: stop waiting
		case <-got:
		}
	}()
	result := outcome(-1)
	err := src.Receive(receiving, func(m message) {
		if result >= 0 {
			m.Release() // one job per Job; this one is for another
			return
		}
		close(got)
		result = process(ctx.Done(), grace, m, do)
		once.Do(stop)
	})
	if err != nil {
		return failed, err
	}
	if result < 0 {
		return failed, errNoJob
	}
	return result, nil
}

// Queue modes the platform puts in QUEUE_MODE.
const (
	modeWorker = "worker"
	modeJob    = "job"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	smi := "/usr/local/nvidia/bin/nvidia-smi"
	if v := os.Getenv("NVIDIA_SMI"); v != "" {
		smi = v
	}
	s, err := loadSettings(os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	src, closeSource, err := newSource(ctx, s)
	if err != nil {
		log.Fatal(err)
	}
	defer closeSource()
	records, closeRecords, err := newJobRecords(ctx, os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	defer closeRecords()
	if src != nil && records != nil {
		src = recordedSource{source: src, records: records}
	}
	do := func(ctx context.Context, body []byte) (json.RawMessage, error) { return work(ctx, smi, body) }
	grace := jobGrace(s.grace)
	if src != nil {
		switch s.mode {
		case modeJob:
			result, err := runOne(ctx, src, grace, time.Minute, do)
			switch {
			case errors.Is(err, errNoJob):
				log.Print("no job within a minute: another Job took it; done")
			case err != nil || result != done:
				if err != nil {
					log.Print(err)
				}
				closeSource()
				stop()
				os.Exit(1) // the Job's backoffLimit decides what happens next
			default:
				log.Print("job done")
			}
		default:
			log.Print("taking jobs from the queue")
			if err := consume(ctx, src, grace, do); err != nil {
				log.Print(err)
			}
			log.Print("stopping")
		}
		return
	}
	ticker := time.NewTicker(time.Minute)
	defer ticker.Stop()
	for {
		gpus, err := listGPUs(ctx, smi)
		if err != nil {
			log.Printf("no GPU visible: %v", err)
		} else {
			log.Printf("%d GPU(s): %s", len(gpus), strings.Join(gpus, "; "))
		}
		select {
		case <-ctx.Done():
			log.Print("stopping")
			return
		case <-ticker.C:
		}
	}
}
