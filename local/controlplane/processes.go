package controlplane

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func (cp *ControlPlane) run(name string, args ...string) error {
	return cp.StartProcess(name, filepath.Join(cp.binDir, name), nil, args...)
}

// StartProcess runs one more process beside the control plane (a queue, an
// operator), in its own session, logging to logs/<name>.log. Its PID joins
// the control plane's, so Stop and StopDir end it too, first.
func (cp *ControlPlane) StartProcess(name, path string, env []string, args ...string) error {
	log, err := os.Create(filepath.Join(cp.Dir, "logs", name+".log"))
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(path, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Dir = cp.Dir
	// Its own session: it outlives the command that started it (make local)
	// and a terminal's Ctrl-C, until Stop.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("controlplane: start %s: %w", name, err)
	}
	cp.pids = append(cp.pids, cmd.Process.Pid)
	// Reap it when it exits, so Stop's liveness check sees it gone and a
	// wait fails fast instead of timing out.
	go func() {
		err := cmd.Wait()
		cp.mu.Lock()
		cp.exited = append(cp.exited, fmt.Sprintf("%s exited (%v); see logs/%s.log", name, err, name))
		cp.mu.Unlock()
	}()
	return cp.writePIDs()
}

func (cp *ControlPlane) pidFile() string { return filepath.Join(cp.Dir, "pids") }

func (cp *ControlPlane) writePIDs() error {
	var b strings.Builder
	for _, pid := range cp.pids {
		fmt.Fprintln(&b, pid)
	}
	return os.WriteFile(cp.pidFile(), []byte(b.String()), 0o600)
}

// Stop ends every process Start began, newest first: SIGTERM, then SIGKILL
// after 10 s. Safe to call twice.
func (cp *ControlPlane) Stop() error {
	var errs []error
	for i := len(cp.pids) - 1; i >= 0; i-- {
		if err := stopPID(cp.pids[i]); err != nil {
			errs = append(errs, err)
		}
	}
	cp.pids = nil
	_ = os.Remove(cp.pidFile())
	return errors.Join(errs...)
}

// StopDir stops a control plane started by another process, from the PIDs
// it recorded in dir. Nothing to do if none is recorded.
func StopDir(dir string) error {
	raw, err := os.ReadFile(filepath.Join(dir, "pids"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	cp := &ControlPlane{Dir: dir}
	for _, f := range strings.Fields(string(raw)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return fmt.Errorf("%s: bad pid %q", cp.pidFile(), f)
		}
		cp.pids = append(cp.pids, pid)
	}
	return cp.Stop()
}

// Running reports whether the control plane recorded in dir still has its
// API server up.
func Running(ctx context.Context, binDir, dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, "pids")); err != nil {
		return false
	}
	cp := &ControlPlane{Dir: dir, binDir: binDir, Kubeconfig: filepath.Join(dir, "kubeconfig")}
	_, err := cp.Kubectl(ctx, "get", "--raw", "/readyz")
	return err == nil
}

func stopPID(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return nil
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return nil // already gone
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := p.Signal(syscall.Signal(0)); err != nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		return nil
	}
	return nil
}

// FreePorts picks n distinct free loopback ports below the ephemeral range,
// so they cannot collide with outgoing connections.
func FreePorts(n int) ([]int, error) {
	var ports []int
	seen := map[int]bool{}
	for tries := 0; len(ports) < n && tries < 1000; tries++ {
		p := 20000 + rand.IntN(12000)
		if seen[p] {
			continue
		}
		seen[p] = true
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		_ = l.Close()
		ports = append(ports, p)
	}
	if len(ports) < n {
		return nil, errors.New("controlplane: no free ports on 127.0.0.1")
	}
	return ports, nil
}
