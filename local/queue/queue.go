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

	"github.com/gke-gpu-platform/gke-gpu-platform/local/controlplane"
)

// addressFile records the address in the control plane's directory, so a
// later `make local` finds the running queue.
const addressFile = "redis-address"

// Start runs redis-server beside cp and waits until it answers PING. It
// listens on 127.0.0.1 (the harness, KEDA) and on each of also: the real
// nodes' bridge addresses, which pods reach the host by. The address it
// returns and records is the first of also, or 127.0.0.1.
func Start(ctx context.Context, cp *controlplane.ControlPlane, also ...string) (string, error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return "", errors.New("queue: redis-server not found: install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis); tools/build.sh does on Debian as root")
	}
	ports, err := controlplane.FreePorts(1)
	if err != nil {
		return "", err
	}
	host := "127.0.0.1"
	if len(also) > 0 {
		host = also[0]
	}
	addr := fmt.Sprintf("%s:%d", host, ports[0])
	// In memory only: nothing is saved, nothing outlives the process.
	args := []string{"--port", strconv.Itoa(ports[0]), "--bind"}
	args = append(append(args, "127.0.0.1"), also...)
	if len(also) > 0 {
		// Protected mode refuses every client off loopback when no password
		// is set; the bridges' addresses are the host's own, reached only by
		// its pods (nothing routes 10.88.0.0/16 to this host from outside).
		args = append(args, "--protected-mode", "no")
	}
	if err := cp.StartProcess("redis", path, nil, append(args, "--save", "", "--appendonly", "no", "--dir", cp.Dir)...); err != nil {
		return "", err
	}
	c := Client{Addr: addr}
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := c.Do(ctx, "PING")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("queue: redis at %s did not answer: %w (see %s)", addr, err, filepath.Join(cp.Dir, "logs", "redis.log"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return addr, os.WriteFile(filepath.Join(cp.Dir, addressFile), []byte(addr), 0o600)
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
