// Package queue runs the local platform's queue: a real Redis (Debian's
// redis-server) on a free loopback port, started beside the loopback control
// plane and stopped with it, by PID. KEDA's redis scaler reads the length of
// a list; producers LPUSH, workers BRPOP.
package queue

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

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

// run starts the queue's process (args after exe), in memory only, waits
// until addr answers PING, and records addr.
func run(ctx context.Context, cp *controlplane.ControlPlane, addr, exe string, args ...string) error {
	// In memory only: nothing is saved, nothing outlives the process.
	if err := cp.StartProcess("redis", exe, nil, append(args, "--save", "", "--appendonly", "no", "--dir", cp.Dir)...); err != nil {
		return err
	}
	c := Client{Addr: addr}
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := c.Do(ctx, "PING")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("queue: redis at %s did not answer: %w (see %s)", addr, err, filepath.Join(cp.Dir, "logs", "redis.log"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return os.WriteFile(filepath.Join(cp.Dir, addressFile), []byte(addr), 0o600)
}

// Address is the queue recorded in a control plane directory.
func Address(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, addressFile))
	if err != nil {
		return "", fmt.Errorf("queue: no queue recorded in %s: %w", dir, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Client speaks just enough of Redis's protocol (RESP2) for the harness and
// tests: one command per connection, integer, status, bulk and array replies.
type Client struct {
	// Addr is host:port.
	Addr string
}

// Do runs one command and returns its reply: int64, string, []any or nil.
func (c Client) Do(ctx context.Context, args ...string) (any, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.Addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		return nil, err
	}
	return readReply(bufio.NewReader(conn))
}

// Length is LLEN of a list.
func (c Client) Length(ctx context.Context, list string) (int, error) {
	v, err := c.Do(ctx, "LLEN", list)
	if err != nil {
		return 0, err
	}
	n, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("LLEN %s: unexpected reply %v", list, v)
	}
	return int(n), nil
}

// Push LPUSHes messages onto a list.
func (c Client) Push(ctx context.Context, list string, messages ...string) error {
	_, err := c.Do(ctx, append([]string{"LPUSH", list}, messages...)...)
	return err
}

func readReply(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("redis: empty reply")
	}
	switch body := line[1:]; line[0] {
	case '+':
		return body, nil
	case '-':
		return nil, errors.New("redis: " + body)
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return nil, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = readReply(r); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("redis: unknown reply %q", line)
}
