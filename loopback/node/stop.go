package node

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Names are the real nodes recorded under a cluster directory.
func Names(clusterDir string) []string {
	entries, _ := os.ReadDir(filepath.Join(clusterDir, "nodes"))
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

// Drain cordons the real nodes, deletes every pod bound to them and waits (up to 60 s)
// until their kubelets have stopped the sandboxes, so each pod's network is
// taken down by CNI itself (its bridge port, address lease and iptables
// rules). kubectl is the control plane's; the cluster must still run.
func Drain(ctx context.Context, kubectl func(ctx context.Context, args ...string) (string, error), clusterDir string) error {
	names := Names(clusterDir)
	var errs []error
	for _, n := range names {
		// Cordoned first: the controllers' replacements must not land here.
		if _, err := kubectl(ctx, "cordon", n); err != nil {
			errs = append(errs, err)
		}
		if _, err := kubectl(ctx, "delete", "pods", "-A", "--field-selector", "spec.nodeName="+n,
			"--grace-period=2", "--wait=false"); err != nil {
			errs = append(errs, err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, n := range names {
		d := dirsOf(clusterDir, n)
		for time.Now().Before(deadline) {
			// Running sandboxes are tasks in containerd's k8s.io namespace.
			out, err := ctr(ctx, d, "-n", "k8s.io", "tasks", "ls", "-q")
			if err != nil || strings.TrimSpace(out) == "" {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	return errors.Join(errs...)
}

// Cleanup removes what the nodes leave on the host once their processes
// (kubelets, containerds) are stopped: container processes and their shims
// (they outlive containerd by design), mounts under the nodes' directories,
// the bridges, any iptables rule of the nodes' CNI networks, and kube-proxy's
// and the network policy enforcers' rules. binDir holds nodeagents.
func Cleanup(clusterDir, binDir string) error {
	var errs []error
	if err := cleanupNetwork(clusterDir, binDir); err != nil {
		errs = append(errs, err)
	}
	for _, n := range Names(clusterDir) {
		d := dirsOf(clusterDir, n)
		// Each task's bundle holds the container's init.pid and its shim's shim.pid.
		pidFiles, _ := filepath.Glob(filepath.Join(d.containerdState, "io.containerd.runtime.v2.task", "*", "*", "*.pid"))
		for _, f := range pidFiles {
			if raw, err := os.ReadFile(f); err == nil {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(raw))); err == nil && pid > 1 {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		if err := unmountUnder(d.home); err != nil {
			errs = append(errs, err)
		}
	}
	if err := removeBridges(clusterDir); err != nil {
		errs = append(errs, err)
	}
	if err := removeRules(clusterDir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// unmountUnder detaches every mount below dir, deepest first: container
// root filesystems, network namespaces, the kubelet's volumes.
func unmountUnder(dir string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	defer f.Close()
	var points []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
			points = append(points, fields[4])
		}
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// bridges are the nodes' bridge names, from their CNI configs.
func bridges(clusterDir string) []string {
	var out []string
	for _, n := range Names(clusterDir) {
		raw, err := os.ReadFile(filepath.Join(dirsOf(clusterDir, n).cniConf, "10-ggp.conflist"))
		if err != nil {
			continue
		}
		if _, rest, ok := strings.Cut(string(raw), `"bridge": "`); ok {
			if b, _, ok := strings.Cut(rest, `"`); ok {
				out = append(out, b)
			}
		}
	}
	return out
}

func removeBridges(clusterDir string) error {
	var errs []error
	for _, b := range bridges(clusterDir) {
		if _, err := os.Stat("/sys/class/net/" + b); err != nil {
			continue
		}
		if out, err := exec.Command("ip", "link", "delete", b).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("ip link delete %s: %w: %s", b, err, out))
		}
	}
	return errors.Join(errs...)
}

// removeRules deletes the nat rules the bridge plugin's masquerade left for
// the nodes' networks (each carries the comment `name: "ggp-<node>" id: ...`)
// and the per-pod chains they jump to. CNI removes them itself when a pod
// is stopped normally; this is for a pod killed with its node.
func removeRules(clusterDir string) error {
	nets := map[string]bool{}
	for _, n := range Names(clusterDir) {
		nets[network(n)] = true
	}
	if len(nets) == 0 {
		return nil
	}
	if _, err := exec.LookPath("iptables-save"); err != nil {
		return nil
	}
	out, err := exec.Command("iptables-save", "-t", "nat").Output()
	if err != nil {
		return fmt.Errorf("iptables-save: %w", err)
	}
	var errs []error
	chains := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "-A ") {
			continue
		}
		ours := false
		for n := range nets {
			if strings.Contains(line, `name: \"`+n+`\"`) {
				ours = true
			}
		}
		if !ours {
			continue
		}
		args := shellWords(strings.TrimPrefix(line, "-A "))
		if i := slices.Index(args, "-j"); i >= 0 && i+1 < len(args) && strings.HasPrefix(args[i+1], "CNI-") {
			chains[args[i+1]] = true
		}
		if o, err := exec.Command("iptables", append([]string{"-t", "nat", "-D"}, args...)...).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("iptables -D %s: %w: %s", line, err, o))
		}
	}
	for c := range chains {
		_ = exec.Command("iptables", "-t", "nat", "-F", c).Run()
		_ = exec.Command("iptables", "-t", "nat", "-X", c).Run()
	}
	return errors.Join(errs...)
}

// shellWords splits an iptables-save rule into arguments: double quotes
// group, backslash escapes the next character.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == '"':
			quoted = !quoted
			inWord = true
		case c == ' ' && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}
