package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestListGPUs(t *testing.T) {
	// A stand-in nvidia-smi that prints what the real one does on a T4 node.
	fake := filepath.Join(t.TempDir(), "nvidia-smi")
	script := "#!/bin/sh\necho 'GPU 0: Tesla T4 (UUID: GPU-1)'\necho 'GPU 1: Tesla T4 (UUID: GPU-2)'\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	gpus, err := listGPUs(context.Background(), fake)
	if err != nil {
		t.Fatal(err)
	}
	if len(gpus) != 2 || gpus[1] != "GPU 1: Tesla T4 (UUID: GPU-2)" {
		t.Fatalf("got %q", gpus)
	}
	if _, err := listGPUs(context.Background(), filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing nvidia-smi must be an error")
	}
}

// A job's input.seconds holds the GPU that long; cancelled (SIGTERM past the
// grace), the job ends at once with the context's error.
var errAsked = errors.New("CUDA error")

func TestWorkHoldsTheGPU(t *testing.T) {
	smi := filepath.Join(t.TempDir(), "nvidia-smi")
	if err := os.WriteFile(smi, []byte("#!/bin/sh\necho 'GPU 0: Tesla T4 (UUID: GPU-1)'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		body    string
		cancel  time.Duration
		min     time.Duration
		wantErr error
	}{
		{"no input: done at once", `{"id":"a"}`, 0, 0, nil},
		{"not JSON: failed for good", `plain`, 0, 0, errPermanent},
		{"seconds out of range: failed for good", `{"id":"d","input":{"seconds":-1}}`, 0, 0, errPermanent},
		{"seconds not a number: failed for good", `{"id":"e","input":{"seconds":"ten"}}`, 0, 0, errPermanent},
		{"holds 300 ms", `{"id":"b","input":{"seconds":0.3}}`, 0, 300 * time.Millisecond, nil},
		{"asked to fail: fails, to be retried", `{"id":"f","input":{"fail":"CUDA error"}}`, 0, 0, errAsked},
		{"cancelled while holding", `{"id":"c","input":{"seconds":60}}`, 200 * time.Millisecond, 200 * time.Millisecond, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel > 0 {
				time.AfterFunc(tt.cancel, cancel)
			}
			start := time.Now()
			result, err := work(ctx, smi, []byte(tt.body))
			took := time.Since(start)
			if tt.wantErr == errAsked && err != nil && err.Error() == "CUDA error" && !errors.Is(err, errPermanent) {
				err = errAsked
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var r struct {
				GPUs        []string `json:"gpus"`
				HeldSeconds float64  `json:"heldSeconds"`
			}
			if err == nil && (json.Unmarshal(result, &r) != nil || len(r.GPUs) != 1 || r.HeldSeconds != tt.min.Seconds()) {
				t.Fatalf("result %s: want the GPU it saw and the seconds it held", result)
			}
			if took < tt.min || took > tt.min+5*time.Second {
				t.Fatalf("took %s, want about %s", took, tt.min)
			}
		})
	}
}

// TestMain lets a test run the real main() in a child process, as the
// container runs it: the exit code is what the Kubernetes Job sees.
func TestMain(m *testing.M) {
	if os.Getenv("GPU_WORKER_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runMain starts this binary as the worker with env, waiting at most limit.
func runMain(t *testing.T, env []string, limit time.Duration, signalAfter string) (exitCode int, logs string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, "GPU_WORKER_RUN_MAIN=1")...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(limit)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	signalled := false
	for {
		select {
		case err := <-done:
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				return exit.ExitCode(), out.String()
			}
			if err != nil {
				t.Fatal(err)
			}
			return 0, out.String()
		case <-tick.C:
			if signalAfter != "" && !signalled && strings.Contains(out.String(), signalAfter) {
				_ = cmd.Process.Signal(syscall.SIGTERM)
				signalled = true
			}
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("still running after %s; output:\n%s", limit, out.String())
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The platform's QUEUE_MODE decides whether the process ends after one job
// (job mode: the Job completes and frees its GPU node) or keeps taking jobs
// until SIGTERM (worker mode: KEDA scales it in). The real main, on the
// official Pub/Sub fake (PUBSUB_EMULATOR_HOST, which the client honours).
func TestQueueModes(t *testing.T) {
	okSMI := filepath.Join(t.TempDir(), "nvidia-smi")
	if err := os.WriteFile(okSMI, []byte("#!/bin/sh\necho 'GPU 0: Tesla T4 (UUID: GPU-1)'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, mode, smi, signalAfter, wantLog string
		wantExit, wantAcks                    int
	}{
		{name: "job mode, job done: exit 0", mode: "job", smi: okSMI, wantLog: "job done", wantAcks: 1},
		{name: "job mode, job failed: exit 1", mode: "job", smi: filepath.Join(t.TempDir(), "missing"), wantExit: 1, wantLog: "left for redelivery"},
		{name: "worker mode: runs until SIGTERM", mode: "worker", smi: okSMI, signalAfter: "on 1 GPU(s)", wantLog: "stopping", wantAcks: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _, topic, sub := pubSub(t, 10*time.Second)
			srv.Publish(topic, []byte(`{"id":"7"}`), nil)
			code, logs := runMain(t, []string{
				"PUBSUB_EMULATOR_HOST=" + srv.Addr,
				"QUEUE_BACKEND=pubsub", "QUEUE_SOURCE=" + sub, "QUEUE_GRACE_SECONDS=5",
				"QUEUE_MODE=" + tt.mode, "NVIDIA_SMI=" + tt.smi,
			}, 30*time.Second, tt.signalAfter)
			if code != tt.wantExit || !strings.Contains(logs, tt.wantLog) {
				t.Fatalf("exit %d, want %d; want %q in the log:\n%s", code, tt.wantExit, tt.wantLog, logs)
			}
			if acks := srv.Messages()[0].Acks; acks != tt.wantAcks {
				t.Fatalf("acks %d, want %d", acks, tt.wantAcks)
			}
		})
	}
}
