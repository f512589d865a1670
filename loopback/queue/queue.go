// Package queue runs the local platform's queue: a real Redis (Debian's
// redis-server) on a free loopback port, started beside the loopback control
// plane and stopped with it, by PID, with an append-only file so that what
// it accepted survives a restart. Each queue is a Redis stream read by one
// consumer group (apps/gpu-worker); KEDA's redis-streams scaler reads the
// group's lag and pending entries.
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/controlplane"
)

// addressFile records the address in the control plane's directory, so a
// later `make local` finds the running queue.
const addressFile = "redis-address"

// Start runs redis-server beside cp on 127.0.0.1 (the harness, KEDA and
// the simulated nodes' pods, which never connect) and waits until it
// answers PING. It returns and records its address.
func Start(ctx context.Context, cp *controlplane.ControlPlane) (string, error) {
	path, err := redisServer()
	if err != nil {
		return "", err
	}
	ports, err := controlplane.FreePorts(1)
	if err != nil {
		return "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	return addr, run(ctx, cp, addr, path, "--port", strconv.Itoa(ports[0]), "--bind", "127.0.0.1")
}

// The isolated queue's link: the host's end and the queue's end.
const (
	// Netns is the isolated queue's network namespace.
	Netns      = "ggpq"
	hostLink   = "ggpq0"
	hostAddr   = "10.89.0.1"
	queueAddr  = "10.89.0.2"
	linkPrefix = "/24"
	// IsolatedPort is the isolated queue's port: its address is its own.
	IsolatedPort = 6379
)

// StartIsolated runs redis-server in a network namespace of its own
// (Netns, as root), on 10.89.0.2, linked to the host by a veth pair: the
// real nodes' pods reach it the way GKE's pods reach a managed queue, on
// an address outside the cluster through the host's forwarding path, where
// NetworkPolicy is enforced (a process on the host itself is reached on
// the input path, which no policy enforcer sees: Kubernetes leaves traffic
// between a pod and its node to the implementation). The harness and KEDA
// reach it the same way. CleanupIsolated removes the namespace.
func StartIsolated(ctx context.Context, cp *controlplane.ControlPlane) (string, error) {
	path, err := redisServer()
	if err != nil {
		return "", err
	}
	if err := CleanupIsolated(); err != nil {
		return "", err
	}
	for _, args := range [][]string{
		{"netns", "add", Netns},
		{"link", "add", hostLink, "type", "veth", "peer", "name", "eth0", "netns", Netns},
		{"addr", "add", hostAddr + linkPrefix, "dev", hostLink},
		{"link", "set", hostLink, "up"},
		{"-n", Netns, "addr", "add", queueAddr + linkPrefix, "dev", "eth0"},
		{"-n", Netns, "link", "set", "eth0", "up"},
		{"-n", Netns, "link", "set", "lo", "up"},
		{"-n", Netns, "route", "add", "default", "via", hostAddr},
	} {
		if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
			_ = CleanupIsolated()
			return "", fmt.Errorf("queue: ip %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	addr := net.JoinHostPort(queueAddr, strconv.Itoa(IsolatedPort))
	// Protected mode refuses every client off loopback when no password is
	// set; this address is reached only from this host and its pods.
	ip, _ := exec.LookPath("ip")
	return addr, run(ctx, cp, addr, ip, "netns", "exec", Netns, path,
		"--port", strconv.Itoa(IsolatedPort), "--bind", queueAddr, "--protected-mode", "no")
}

// CleanupIsolated deletes StartIsolated's namespace and link, if any (its
// Redis must be stopped first).
func CleanupIsolated() error {
	if _, err := os.Stat("/run/netns/" + Netns); err == nil {
		if out, err := exec.Command("ip", "netns", "del", Netns).CombinedOutput(); err != nil {
			return fmt.Errorf("queue: ip netns del %s: %w: %s", Netns, err, out)
		}
	}
	// Deleting the namespace deletes the pair, a moment later.
	if _, err := os.Stat("/sys/class/net/" + hostLink); err == nil {
		if out, err := exec.Command("ip", "link", "del", hostLink).CombinedOutput(); err != nil && !strings.Contains(string(out), "Cannot find device") {
			return fmt.Errorf("queue: ip link del %s: %w: %s", hostLink, err, out)
		}
	}
	return nil
}

func redisServer() (string, error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return "", errors.New("queue: redis-server not found: install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis); tools/build.sh does on Debian as root")
	}
	return path, nil
}

// Durability is redis-server's persistence: an append-only file in dir,
// written and fsynced before Redis answers a write
// (https://redis.io/docs/latest/operate/oss_and_stack/management/persistence/#how-durable-is-the-append-only-file),
// so a job the backend answered 202 for survives redis-server being
// killed, and even the machine losing power. Measured here beside
// `everysec`: docs/timings.md (the enqueue benchmark).
func Durability(dir string) []string {
	return []string{"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", dir}
}

// commandFile records how the queue was started, so Restart can start it
// again the same way (from another process too: bin/local, the e2e).
const commandFile = "redis-command.json"

type command struct {
	Exe  string   `json:"exe"`
	Args []string `json:"args"`
	Addr string   `json:"addr"`
	PID  int      `json:"pid"`
}

// run starts the queue's process (args after exe) with its append-only
// file in the control plane's directory, waits until addr answers PING,
// and records addr and how it was started.
func run(ctx context.Context, cp *controlplane.ControlPlane, addr, exe string, args ...string) error {
	args = append(args, Durability(cp.Dir)...)
	pid, err := cp.StartProcessPID("redis", exe, nil, args...)
	if err != nil {
		return err
	}
	if err := waitForPing(ctx, addr, filepath.Join(cp.Dir, "logs", "redis.log")); err != nil {
		return err
	}
	raw, _ := json.Marshal(command{Exe: exe, Args: args, Addr: addr, PID: pid})
	if err := os.WriteFile(filepath.Join(cp.Dir, commandFile), raw, 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(cp.Dir, addressFile), []byte(addr), 0o600)
}

func waitForPing(ctx context.Context, addr, log string) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := c.Ping(ctx).Err()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("queue: redis at %s did not answer: %w (see %s)", addr, err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Restart kills the running queue with SIGKILL (no chance to save
// anything: what a crash or an OOM kill does) and starts it again as it was
// started, on the same address and files. It returns once Redis answers
// again, and how long it was gone.
func Restart(ctx context.Context, cp *controlplane.ControlPlane) (time.Duration, error) {
	raw, err := os.ReadFile(filepath.Join(cp.Dir, commandFile))
	if err != nil {
		return 0, fmt.Errorf("queue: no queue recorded in %s: %w", cp.Dir, err)
	}
	var c command
	if err := json.Unmarshal(raw, &c); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := syscall.Kill(c.PID, syscall.SIGKILL); err != nil {
		return 0, fmt.Errorf("queue: kill redis (PID %d): %w", c.PID, err)
	}
	for syscall.Kill(c.PID, 0) == nil {
		if time.Since(start) > 10*time.Second {
			return 0, fmt.Errorf("queue: redis (PID %d) still alive 10 s after SIGKILL", c.PID)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cp.Forget(c.PID); err != nil {
		return 0, err
	}
	if c.PID, err = cp.StartProcessPID("redis", c.Exe, nil, c.Args...); err != nil {
		return 0, err
	}
	if err := waitForPing(ctx, c.Addr, filepath.Join(cp.Dir, "logs", "redis.log")); err != nil {
		return 0, err
	}
	raw, _ = json.Marshal(c)
	return time.Since(start), os.WriteFile(filepath.Join(cp.Dir, commandFile), raw, 0o600)
}

// Address is the queue recorded in a control plane directory.
func Address(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, addressFile))
	if err != nil {
		return "", fmt.Errorf("queue: no queue recorded in %s: %w", dir, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Group is the consumer group every local queue's workers read in
// (stacks.RedisGroup, which the platform gives the apps as QUEUE_GROUP).
const Group = "workers"

// Field is the stream entry's field that holds the job.
const Field = "job"

// EnsureGroup creates a queue's stream and its consumer group, reading
// from the start, unless they exist: KEDA's pending-entries trigger needs
// the group before any app has run (on simulated nodes, none ever does).
func EnsureGroup(ctx context.Context, c *redis.Client, stream string) error {
	err := c.XGroupCreateMkStream(ctx, stream, Group, "0").Err()
	if err != nil && strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return nil
	}
	return err
}

// Add appends jobs to a queue's stream, in one round trip.
func Add(ctx context.Context, c *redis.Client, stream string, jobs ...string) error {
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, j := range jobs {
			p.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{Field, j}})
		}
		return nil
	})
	return err
}

// Counts are a queue's jobs by where they are.
type Counts struct {
	// Waiting have not been taken by a worker.
	Waiting int64
	// InFlight have been taken and not acknowledged (the group's pending
	// entries): being done, or whose worker died, until their lease runs out.
	InFlight int64
	// Dead are in the dead-letter stream <queue>:dead.
	Dead int64
}

// Count reads a queue's Counts: a worker deletes what it acknowledges or
// dead-letters, so the stream holds the jobs waiting and in flight (the
// length KEDA scales on), and the group's pending entries are those in
// flight. A stream not created yet counts zero.
func Count(ctx context.Context, c *redis.Client, stream string) (Counts, error) {
	var n Counts
	var length, dead *redis.IntCmd
	var pending *redis.XPendingCmd
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		length = p.XLen(ctx, stream)
		dead = p.XLen(ctx, stream+":dead")
		pending = p.XPending(ctx, stream, Group)
		return nil
	})
	if err != nil && !strings.HasPrefix(err.Error(), "NOGROUP") {
		return n, err
	}
	n.Dead = dead.Val()
	if p, err := pending.Result(); err == nil {
		n.InFlight = p.Count
	}
	n.Waiting = length.Val() - n.InFlight
	return n, nil
}
