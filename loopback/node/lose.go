package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/controlplane"
)

// processesFile records how a node's containerd and kubelet were started
// (and their PIDs), so that Restart can start them again after Lose.
const processesFile = "processes.json"

type process struct {
	Name string   `json:"name"`
	Exe  string   `json:"exe"`
	Args []string `json:"args"`
	PID  int      `json:"pid"`
}

// startRecorded starts one of the node's processes beside cp and appends
// it to the node's processes file.
func startRecorded(cp *controlplane.ControlPlane, d dirs, name, exe string, args ...string) error {
	pid, err := cp.StartProcessPID(name, exe, nil, args...)
	if err != nil {
		return err
	}
	procs, _ := readProcesses(d)
	return writeProcesses(d, append(procs, process{Name: name, Exe: exe, Args: args, PID: pid}))
}

func readProcesses(d dirs) ([]process, error) {
	raw, err := os.ReadFile(filepath.Join(d.home, processesFile))
	if err != nil {
		return nil, err
	}
	var procs []process
	return procs, json.Unmarshal(raw, &procs)
}

func writeProcesses(d dirs, procs []process) error {
	raw, err := json.Marshal(procs)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(d.home, processesFile), raw, 0o600)
}

// Lose does to a real node what losing its VM does: its kubelet, its
// containerd and every container process and shim on it are killed with
// SIGKILL, at once, with no chance to stop anything cleanly. The Node
// object stays; Restart brings the node back.
func Lose(cp *controlplane.ControlPlane, name string) error {
	d := dirsOf(cp.Dir, name)
	procs, err := readProcesses(d)
	if err != nil {
		return fmt.Errorf("node %s: %w", name, err)
	}
	pids := []int{}
	for _, p := range procs {
		pids = append(pids, p.PID)
	}
	// Each task's bundle holds the container's init.pid and its shim's shim.pid.
	files, _ := filepath.Glob(filepath.Join(d.containerdState, "io.containerd.runtime.v2.task", "*", "*", "*.pid"))
	for _, f := range files {
		if raw, err := os.ReadFile(f); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(raw))); err == nil && pid > 1 {
				pids = append(pids, pid)
			}
		}
	}
	var errs []error
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("kill %d: %w", pid, err))
		}
	}
	for _, p := range procs {
		for deadline := time.Now().Add(10 * time.Second); syscall.Kill(p.PID, 0) == nil; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				errs = append(errs, fmt.Errorf("%s (PID %d) alive 10 s after SIGKILL", p.Name, p.PID))
				break
			}
		}
		errs = append(errs, cp.Forget(p.PID))
	}
	return errors.Join(errs...)
}

// Restart starts a lost node's containerd and kubelet again, as Start
// started them, and waits until the node is Ready. The kubelet then finds
// its pods' sandboxes dead and starts them again.
func Restart(ctx context.Context, cp *controlplane.ControlPlane, name string) error {
	d := dirsOf(cp.Dir, name)
	procs, err := readProcesses(d)
	if err != nil {
		return fmt.Errorf("node %s: %w", name, err)
	}
	if err := writeProcesses(d, nil); err != nil {
		return err
	}
	for i, p := range procs {
		if err := startRecorded(cp, d, p.Name, p.Exe, p.Args...); err != nil {
			return err
		}
		if i == 0 { // containerd first, as Start does
			if err := wait(ctx, 30*time.Second, "containerd of "+name, func() error {
				_, err := ctr(ctx, d, "version")
				return err
			}); err != nil {
				return err
			}
		}
	}
	return waitReady(ctx, cp, name)
}

// waitReady waits up to 90 s for the node's Ready condition.
func waitReady(ctx context.Context, cp *controlplane.ControlPlane, name string) error {
	if err := wait(ctx, 90*time.Second, "node "+name+" Ready", func() error {
		out, err := cp.Kubectl(ctx, "get", "node", name, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err != nil {
			return err
		}
		if out != "True" {
			return fmt.Errorf("Ready=%q", out)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("%w (kubelet log: %s)", err, filepath.Join(cp.Dir, "logs", "kubelet-"+name+".log"))
	}
	return nil
}
