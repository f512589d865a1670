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
	"slices"
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
// the PIDs file, so Stop and StopDir end it too, first. If the control
// plane was stopped meanwhile (by another process: make local-down), the new
// process is stopped again and the error says so.
func (cp *ControlPlane) StartProcess(name, path string, env []string, args ...string) error {
	_, err := cp.StartProcessPID(name, path, env, args...)
	return err
}

// StartProcessPID is StartProcess, returning the process's PID.
func (cp *ControlPlane) StartProcessPID(name, path string, env []string, args ...string) (int, error) {
	log, err := os.Create(filepath.Join(cp.Dir, "logs", name+".log"))
	if err != nil {
		return 0, err
	}
	defer log.Close()
	cmd := exec.Command(path, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Dir = cp.Dir
	// Its own session: it outlives the command that started it (make local)
	// and a terminal's Ctrl-C, until Stop, which signals the whole group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("controlplane: start %s: %w", name, err)
	}
	pid := cmd.Process.Pid
	cp.pids = append(cp.pids, pid)
	// Reap it when it exits, so Stop's liveness check sees it gone and a
	// wait fails fast instead of timing out.
	go func() {
		err := cmd.Wait()
		cp.mu.Lock()
		cp.exited = append(cp.exited, fmt.Sprintf("%s exited (%v); see logs/%s.log", name, err, name))
		cp.mu.Unlock()
	}()
	if err := cp.editPIDs(func(pids []int) []int { return append(pids, pid) }); err != nil {
		_ = stopPID(pid)
		return 0, fmt.Errorf("controlplane: %s: %w", name, err)
	}
	return pid, nil
}

// Forget drops pid from the PIDs file: a process that ended on its own
// (a one-shot helper) must not be signalled later under a reused PID.
func (cp *ControlPlane) Forget(pid int) error {
	return cp.editPIDs(func(pids []int) []int {
		return slices.DeleteFunc(pids, func(p int) bool { return p == pid })
	})
}

func (cp *ControlPlane) pidFile() string { return filepath.Join(cp.Dir, "pids") }

// errStopped: the PIDs file is gone, so the control plane was stopped.
var errStopped = errors.New("the loopback cluster was stopped meanwhile")

// editPIDs rewrites the PIDs file under the directory's lock. Several
// processes add to it: bin/local up, then the KEDA lane that joins later.
func (cp *ControlPlane) editPIDs(edit func([]int) []int) error {
	unlock, err := lockDir(cp.Dir)
	if err != nil {
		return err
	}
	defer unlock()
	pids, err := readPIDs(cp.pidFile())
	if err != nil {
		return err
	}
	return writePIDs(cp.pidFile(), edit(pids))
}

func readPIDs(path string) ([]int, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errStopped
	}
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(raw)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%s: bad pid %q", path, f)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

func writePIDs(path string, pids []int) error {
	var b strings.Builder
	for _, pid := range pids {
		fmt.Fprintln(&b, pid)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// lockDir takes an exclusive lock beside dir (dir itself is wiped by
// Start), so the processes that share a control plane edit its PIDs file
// one at a time and a stop never races a start.
func lockDir(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Clean(dir)+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// Stop ends every process recorded for this control plane (by this process
// or another), newest first: SIGTERM to its process group, then SIGKILL
// after 10 s. Safe to call twice.
func (cp *ControlPlane) Stop() error {
	unlock, err := lockDir(cp.Dir)
	if err != nil {
		return err
	}
	defer unlock()
	pids, err := readPIDs(cp.pidFile())
	if err != nil && !errors.Is(err, errStopped) {
		return err
	}
	for _, pid := range cp.pids {
		if !slices.Contains(pids, pid) {
			pids = append(pids, pid)
		}
	}
	var errs []error
	for i := len(pids) - 1; i >= 0; i-- {
		if err := stopPID(pids[i]); err != nil {
			errs = append(errs, err)
		}
	}
	cp.pids = nil
	_ = os.Remove(cp.pidFile())
	return errors.Join(errs...)
}

// StopDir stops a control plane started by another process, from the PIDs
// recorded in dir. Nothing to do if none is recorded.
func StopDir(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "pids")); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return (&ControlPlane{Dir: dir}).Stop()
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

// stopPID signals pid's process group (every process here leads its own
// session, so a build lane's compilers stop with it), then waits for pid.
func stopPID(pid int) error {
	if err := syscall.Kill(-pid, syscall.SIGTERM); err != nil {
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			return nil // already gone
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); err != nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
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
