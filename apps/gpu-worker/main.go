// Command gpu-worker is the sample GPU job: it reports the GPUs the device
// plugin gave its container, then keeps reporting. Replace the loop with
// real work; the pod spec (GPU limit, toleration, node selector) stays.
package main

import (
	"context"
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

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	smi := "/usr/local/nvidia/bin/nvidia-smi"
	if v := os.Getenv("NVIDIA_SMI"); v != "" {
		smi = v
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
