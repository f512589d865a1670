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
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"strings"
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

// work is one job: here, a look at the GPUs the job would run on.
func work(ctx context.Context, smi string, body []byte) error {
	gpus, err := listGPUs(ctx, smi)
	if err != nil {
		return fmt.Errorf("no GPU visible: %w", err)
	}
	log.Printf("job %s on %d GPU(s): %s", body, len(gpus), strings.Join(gpus, "; "))
	return nil
}

// consume takes jobs until ctx ends (SIGTERM when KEDA scales down). A job
// that fails is not acknowledged, so the queue delivers it again.
func consume(ctx context.Context, queue consumer, do func(context.Context, []byte) error) {
	for ctx.Err() == nil {
		d, err := queue.Next(ctx)
		if err != nil {
			log.Printf("queue: %v", err)
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Second):
			}
			continue
		}
		if d == nil {
			continue
		}
		if err := do(ctx, d.Body); err != nil {
			log.Printf("job failed, left for redelivery: %v", err)
			continue
		}
		if err := d.Ack(ctx); err != nil {
			log.Printf("ack: %v", err)
		}
	}
}

// errNoJob is runOne's answer when the queue stayed empty for its whole
// wait: another Job took the message KEDA started this one for.
var errNoJob = errors.New("no job arrived")

// runOne takes one job (waiting up to wait for it), does it and
// acknowledges it: job mode, where each pod is one Job's run.
func runOne(ctx context.Context, queue consumer, do func(context.Context, []byte) error, wait time.Duration) error {
	waiting, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		d, err := queue.Next(waiting)
		switch {
		case waiting.Err() != nil:
			return errNoJob
		case err != nil:
			log.Printf("queue: %v", err)
			select {
			case <-waiting.Done():
				return errNoJob
			case <-time.After(2 * time.Second):
			}
			continue
		case d == nil:
			continue
		}
		// The job runs on the pod's context, not the wait's.
		if err := do(ctx, d.Body); err != nil {
			return fmt.Errorf("job failed, left for redelivery: %w", err)
		}
		return d.Ack(ctx)
	}
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
	queue, err := newConsumer(os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	do := func(ctx context.Context, body []byte) error { return work(ctx, smi, body) }
	if queue != nil {
		switch mode := os.Getenv("QUEUE_MODE"); mode {
		case modeJob:
			err := runOne(ctx, queue, do, time.Minute)
			switch {
			case errors.Is(err, errNoJob):
				log.Print("no job within a minute: another Job took it; done")
			case err != nil:
				log.Print(err)
				stop()
				os.Exit(1) // the Job's backoffLimit decides what happens next
			default:
				log.Print("job done")
			}
		case modeWorker, "":
			log.Print("taking jobs from the queue")
			consume(ctx, queue, do)
			log.Print("stopping")
		default:
			log.Fatalf("QUEUE_MODE=%q: want %s or %s", mode, modeWorker, modeJob)
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
