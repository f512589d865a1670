// Command gpu-worker is the sample GPU worker. Queue-driven (QUEUE_BACKEND
// set), it takes jobs one at a time, does the work on the GPUs the device
// plugin gave its container, and acknowledges each; KEDA scales it with the
// backlog, from zero and back. Without a queue it reports the GPUs it sees
// every minute. Replace work() with real work; the pod spec (GPU limit,
// toleration, node selector) stays.
package main

import (
	"context"
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
	if queue != nil {
		log.Print("taking jobs from the queue")
		consume(ctx, queue, func(ctx context.Context, body []byte) error { return work(ctx, smi, body) })
		log.Print("stopping")
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
