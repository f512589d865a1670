package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gke-gpu-platform/gke-gpu-platform/loopback"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/controlplane"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/keda"
)

// The KEDA lane: on a first run its operator and adapter (minutes of
// compiling, cold: docs/timings.md) build after the stack is up, not before.

// laneFile holds the PID of a running KEDA lane, in the cluster's directory.
const laneFile = "keda-join.pid"

// kedaBuilt asks tools/build.sh whether KEDA's binaries are built from the
// pinned module (its stamp, not just the files' presence).
func kedaBuilt(ctx context.Context, p paths) bool {
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(p.project, "tools", "build.sh"), "check", "keda")
	cmd.Env = append(os.Environ(), "TOOLS_BIN="+p.bin)
	return cmd.Run() == nil
}

// startKEDALane starts `bin/local keda-join` beside the cluster, as one of
// its processes: `down` stops it (and its compilers) like any other.
func startKEDALane(p paths, cp *controlplane.ControlPlane) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	pid, err := cp.StartProcessPID("keda-join", self, []string{"TOOLS_BIN=" + p.bin}, "keda-join")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(p.cluster, laneFile), []byte(strconv.Itoa(pid)), 0o600); err != nil {
		return err
	}
	fmt.Printf("  KEDA's operator and adapter are not built yet: building them in the background\n"+
		"  (cold: minutes, see docs/timings.md; log: %s)\n", filepath.Join(p.cluster, "logs", "keda-join.log"))
	return nil
}

// laneRunning is the PID of a live KEDA lane, or 0.
func laneRunning(p paths) int {
	raw, err := os.ReadFile(filepath.Join(p.cluster, laneFile))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || syscall.Kill(pid, 0) != nil {
		return 0
	}
	return pid
}

// ensureKEDA, on a cluster that is already running: KEDA serves, or its
// lane is at work, or (a lane that failed or was killed) a new lane starts.
func ensureKEDA(ctx context.Context, p paths) error {
	cp, err := controlplane.Open(p.cluster, p.bin)
	if err != nil {
		return err
	}
	if ok, _, _ := keda.Available(ctx, cp); ok || laneRunning(p) != 0 {
		return nil
	}
	if kedaBuilt(ctx, p) {
		fmt.Println("starting KEDA beside the running cluster")
		return loopback.JoinKEDA(ctx, p.bin, p.cluster)
	}
	return startKEDALane(p, cp)
}

// joinKEDA is the lane itself (bin/local keda-join): build, then join.
func joinKEDA(ctx context.Context, p paths) error {
	start := time.Now()
	fmt.Println("building KEDA's operator and adapter: tools/build.sh keda")
	build := exec.CommandContext(ctx, "bash", filepath.Join(p.project, "tools", "build.sh"), "keda")
	build.Env = append(os.Environ(), "TOOLS_BIN="+p.bin)
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building KEDA: %w", err)
	}
	fmt.Printf("built in %.0f s; starting the operator and adapter beside the cluster\n", time.Since(start).Seconds())
	if err := loopback.JoinKEDA(ctx, p.bin, p.cluster); err != nil {
		return err
	}
	fmt.Printf("KEDA is running (%.0f s after the lane started)\n", time.Since(start).Seconds())
	// Done: this PID must not be signalled later, should it be reused.
	cp, err := controlplane.Open(p.cluster, p.bin)
	if err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(p.cluster, laneFile))
	return cp.Forget(os.Getpid())
}

// kedaStatus is one line: is KEDA serving, building, or stopped?
func kedaStatus(ctx context.Context, p paths) string {
	log := filepath.Join(p.cluster, "logs", "keda-join.log")
	cp, err := controlplane.Open(p.cluster, p.bin)
	if err != nil {
		return "KEDA: no cluster"
	}
	if ok, _, _ := keda.Available(ctx, cp); ok {
		return "KEDA: running (operator and metrics adapter)"
	}
	if pid := laneRunning(p); pid != 0 {
		since := ""
		if fi, err := os.Stat(filepath.Join(p.cluster, laneFile)); err == nil {
			since = fmt.Sprintf(", %.0f s so far", time.Since(fi.ModTime()).Seconds())
		}
		return fmt.Sprintf("KEDA: building in the background (pid %d%s; log: %s); `bin/local status` says when it runs", pid, since, log)
	}
	if _, err := os.Stat(log); errors.Is(err, os.ErrNotExist) {
		return "KEDA: not running"
	}
	return "KEDA: not running; its lane ended, see " + log + " (`make local` starts it again)"
}
