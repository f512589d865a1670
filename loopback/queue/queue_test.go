package queue

import (
	"context"
	"fmt"
	"os/exec"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/controlplane"
)

// startRedis runs redis-server as the platform does (Durability in dir) on
// a free port and returns its process.
func startRedis(t *testing.T, port int, dir string) *exec.Cmd {
	t.Helper()
	exe, err := redisServer()
	require.NoError(t, err)
	cmd := exec.Command(exe, append([]string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1"}, Durability(dir)...)...)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	require.NoError(t, waitForPing(context.Background(), fmt.Sprintf("127.0.0.1:%d", port), dir))
	return cmd
}

// What Redis answered for survives SIGKILL: jobs waiting, a job in flight
// (the group's pending entry, with its delivery count) and a dead letter
// are all there when the same files are loaded again.
func TestAcceptedJobsSurviveAKilledRedis(t *testing.T) {
	ports, err := controlplane.FreePorts(1)
	require.NoError(t, err)
	dir := t.TempDir()
	srv := startRedis(t, ports[0], dir)
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", ports[0])})
	defer c.Close()

	require.NoError(t, EnsureGroup(ctx, c, "gpu-jobs"))
	require.NoError(t, EnsureGroup(ctx, c, "gpu-jobs"), "a second call is a no-op")
	require.NoError(t, Add(ctx, c, "gpu-jobs", `{"id":"1"}`, `{"id":"2"}`, `{"id":"3"}`))
	require.NoError(t, c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: Group, Consumer: "w", Streams: []string{"gpu-jobs", ">"}, Count: 1}).Err())
	require.NoError(t, c.XAdd(ctx, &redis.XAddArgs{Stream: "gpu-jobs:dead", Values: []any{Field, `{"id":"0"}`}}).Err())
	before, err := Count(ctx, c, "gpu-jobs")
	require.NoError(t, err)
	assert.Equal(t, Counts{Waiting: 2, InFlight: 1, Dead: 1}, before)

	require.NoError(t, srv.Process.Signal(syscall.SIGKILL))
	_ = srv.Wait()
	startRedis(t, ports[0], dir)
	after, err := Count(ctx, c, "gpu-jobs")
	require.NoError(t, err)
	assert.Equal(t, before, after, "the append-only file, fsynced before each reply, kept everything")
	p, err := c.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: "gpu-jobs", Group: Group, Start: "-", End: "+", Count: 1}).Result()
	require.NoError(t, err)
	require.Len(t, p, 1)
	assert.Equal(t, "w", p[0].Consumer)
	assert.Equal(t, int64(1), p[0].RetryCount)
}

// Counts before anything exists, and for a stream no worker group reads.
func TestCountWithoutAGroup(t *testing.T) {
	ports, err := controlplane.FreePorts(1)
	require.NoError(t, err)
	startRedis(t, ports[0], t.TempDir())
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", ports[0])})
	defer c.Close()
	n, err := Count(ctx, c, "gpu-jobs")
	require.NoError(t, err)
	assert.Equal(t, Counts{}, n)
	require.NoError(t, Add(ctx, c, "gpu-jobs", "a", "b"))
	n, err = Count(ctx, c, "gpu-jobs")
	require.NoError(t, err)
	assert.Equal(t, Counts{Waiting: 2}, n)
}
