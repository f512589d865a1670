package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
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
