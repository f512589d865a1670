// Command loadtest measures the enqueue path as a founder's app uses it:
// the real backend (apps/backend, built here) on loopback, publishing to the
// real local queue (redis-server with the platform's durability flags),
// driven by POST /api/jobs with the enqueue token at several concurrencies
// for a bounded time each. It prints, per concurrency, jobs/s, p50 and p99
// latency, errors and the backend's memory, and beside them the floor:
// redis-benchmark's XADD rate on the same Redis in the same run.
//
//	make bench                          # what docs/timings.md records
//	go run ./cmd/loadtest -duration 5s -concurrency 1,50
//
// A benchmark, not a test: it asserts nothing, it measures.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/controlplane"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/queue"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "how long each concurrency runs")
	levels := flag.String("concurrency", "1,10,50,100", "comma-separated numbers of concurrent clients")
	project := flag.String("project", ".", "the repository (holds apps/backend)")
	flag.Parse()
	var conc []int
	for _, f := range strings.Split(*levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "loadtest: -concurrency %q: want numbers >= 1\n", *levels)
			os.Exit(2)
		}
		conc = append(conc, n)
	}
	if err := run(*project, *duration, conc); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// result is one concurrency's figures.
type result struct {
	clients        int
	ok, errs       int
	elapsed        time.Duration
	p50, p99, pmax time.Duration
}

func run(project string, d time.Duration, conc []int) error {
	dir, err := os.MkdirTemp("", "loadtest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ports, err := controlplane.FreePorts(2)
	if err != nil {
		return err
	}
	redisAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	stopRedis, err := start(dir, "redis-server", nil, append([]string{"--port", fmt.Sprint(ports[0]), "--bind", "127.0.0.1"}, queue.Durability(dir)...)...)
	if err != nil {
		return err
	}
	defer stopRedis()

	backend := filepath.Join(dir, "backend")
	build := exec.Command("go", "build", "-trimpath", "-o", backend, ".")
	build.Dir = filepath.Join(project, "apps", "backend")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build apps/backend: %w: %s", err, out)
	}
	const token = "loadtest-token"
	env := []string{"PORT=" + fmt.Sprint(ports[1]), "ENQUEUE_TOKEN=" + token, "QUEUE_BACKEND=redis",
		"REDIS_ADDRESS=" + redisAddr, "QUEUE_TOPIC=bench", "QUEUE_GROUP=" + queue.Group}
	stopBackend, err := start(dir, backend, env)
	if err != nil {
		return err
	}
	defer stopBackend()
	url := fmt.Sprintf("http://127.0.0.1:%d/api/jobs", ports[1])
	if err := waitHTTP(fmt.Sprintf("http://127.0.0.1:%d/healthz", ports[1])); err != nil {
		return err
	}
	pid, err := pidOf(dir, "backend")
	if err != nil {
		return err
	}

	fmt.Printf("machine: %d cores; redis-server with %s; each level %s\n\n", runtime.NumCPU(), strings.Join(queue.Durability("<dir>")[2:6], " "), d)
	fmt.Println("| clients | jobs/s | p50 | p99 | max | errors | backend RSS (peak) |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|")
	for _, c := range conc {
		r := drive(url, token, c, d)
		rss, peak := memory(pid)
		fmt.Printf("| %d | %.0f | %s | %s | %s | %d | %d MB (%d MB) |\n", r.clients, float64(r.ok)/r.elapsed.Seconds(),
			ms(r.p50), ms(r.p99), ms(r.pmax), r.errs, rss, peak)
	}
	c := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer c.Close()
	n, _ := c.XLen(context.Background(), "bench").Result()
	fmt.Printf("\n%d jobs in the stream\n", n)
	floor, err := xaddFloor(ports[0])
	if err != nil {
		return err
	}
	fmt.Printf("floor: redis-benchmark XADD of the same job, 50 clients, same Redis: %s\n", floor)
	return nil
}

// drive POSTs jobs from clients goroutines for d and collects latencies.
func drive(url, token string, clients int, d time.Duration) result {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			bad := 0
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"prompt":"a cat","seconds":1}`))
				req.Header.Set("Authorization", "Bearer "+token)
				t0 := time.Now()
				resp, err := hc.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != http.StatusAccepted {
					bad++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	r := result{clients: clients, ok: len(lat), errs: errs, elapsed: time.Since(start)}
	if len(lat) > 0 {
		slices.Sort(lat)
		r.p50, r.p99, r.pmax = lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
	}
	return r
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// xaddFloor is redis-benchmark's rate for XADD of a job like the backend's.
func xaddFloor(port int) (string, error) {
	out, err := exec.Command("redis-benchmark", "-p", fmt.Sprint(port), "-n", "50000", "-c", "50", "--csv",
		"XADD", "floor", "*", "job", `{"id":"0123456789abcdef","submittedAt":"2026-12-03T00:00:00Z","input":{"prompt":"a cat"}}`).Output()
	if err != nil {
		return "", fmt.Errorf("redis-benchmark: %w (Debian: apt-get install redis-tools)", err)
	}
	// The last line's last 7 fields: rps, avg, min, p50, p95, p99, max (ms).
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	f := strings.Split(lines[len(lines)-1], ",")
	if len(f) < 8 {
		return "", fmt.Errorf("redis-benchmark: unexpected output %q", out)
	}
	f = f[len(f)-7:]
	for i := range f {
		f[i] = strings.Trim(f[i], `"`)
	}
	return fmt.Sprintf("%s XADD/s, p50 %s ms, p99 %s ms", strings.Split(f[0], ".")[0], f[3], f[5]), nil
}

// start runs exe in dir with env, logging to dir/<name>.log; the func stops it.
func start(dir, exe string, env []string, args ...string) (func(), error) {
	name := filepath.Base(exe)
	log, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr, cmd.Dir = log, log, dir
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".pid"), []byte(fmt.Sprint(cmd.Process.Pid)), 0o600); err != nil {
		return nil, err
	}
	return func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); log.Close() }, nil
}

func pidOf(dir, name string) (int, error) {
	raw, err := os.ReadFile(filepath.Join(dir, name+".pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(string(raw))
}

func waitHTTP(url string) error {
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
	}
	return errors.New("the backend did not answer " + url)
}

// memory is a process's resident and peak resident memory, in MB.
func memory(pid int) (rss, peak int) {
	raw, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(raw), "\n") {
		var kb int
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			fmt.Sscan(v, &kb)
			rss = kb / 1024
		}
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Sscan(v, &kb)
			peak = kb / 1024
		}
	}
	return rss, peak
}
