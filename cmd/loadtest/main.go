// Command loadtest measures the enqueue path as a founder's app uses it:
// the real backend (apps/backend, built here) on loopback, publishing to the
// real local queue (redis-server with the platform's durability flags) and
// recording each job on the real job records' server (fake-gcs-server),
// driven by POST /api/jobs then GET /api/jobs/{id}, with the enqueue
// token, at several concurrencies for a bounded time each. It prints, per
// concurrency, jobs/s, p50 and p99 latency of each request, errors and the
// backend's memory, and beside them the floor: redis-benchmark's XADD rate
// on the same Redis in the same run.
//
//	make bench                          # what docs/timings.md records
//	go run ./cmd/loadtest -duration 5s -concurrency 1,50
//
// A benchmark, not a test: it asserts nothing, it measures.
package main

import (
	"context"
	"encoding/json"
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
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/storage"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "how long each concurrency runs")
	levels := flag.String("concurrency", "1,10,50,100", "comma-separated numbers of concurrent clients")
	project := flag.String("project", ".", "the repository (holds apps/backend)")
	tools := flag.String("tools", ".tools/bin", "where tools/build.sh put fake-gcs-server (the job records' server)")
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
	if err := run(*project, *tools, *duration, conc); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// result is one concurrency's figures.
type result struct {
	clients   int
	ok, errs  int
	elapsed   time.Duration
	post, get quantiles
}

// quantiles of one request kind's latencies.
type quantiles struct{ p50, p99 time.Duration }

func quantilesOf(lat []time.Duration) quantiles {
	if len(lat) == 0 {
		return quantiles{}
	}
	slices.Sort(lat)
	return quantiles{lat[len(lat)/2], lat[len(lat)*99/100]}
}

func run(project, tools string, d time.Duration, conc []int) error {
	dir, err := os.MkdirTemp("", "loadtest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, stop, err := startStack(dir, project, tools)
	defer stop()
	if err != nil {
		return err
	}
	fmt.Printf("machine: %d cores; redis-server with %s; job records on fake-gcs-server (filesystem); each level %s\n\n", runtime.NumCPU(), strings.Join(queue.Durability("<dir>")[2:6], " "), d)
	fmt.Println("Each client POSTs a job, then GETs its status once.")
	fmt.Println()
	fmt.Println("| clients | jobs/s | POST p50 | POST p99 | GET p50 | GET p99 | errors | backend RSS (peak) |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, c := range conc {
		r := drive(st.url, token, c, d)
		rss, peak := memory(st.backendPID)
		fmt.Printf("| %d | %.0f | %s | %s | %s | %s | %d | %d MB (%d MB) |\n", r.clients, float64(r.ok)/r.elapsed.Seconds(),
			ms(r.post.p50), ms(r.post.p99), ms(r.get.p50), ms(r.get.p99), r.errs, rss, peak)
	}
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", st.redisPort)})
	defer c.Close()
	n, _ := c.XLen(context.Background(), "bench").Result()
	fmt.Printf("\n%d jobs in the stream\n", n)
	floor, err := xaddFloor(st.redisPort)
	if err != nil {
		return err
	}
	fmt.Printf("floor: redis-benchmark XADD of the same job, 50 clients, same Redis: %s\n", floor)
	return nil
}

// token is the enqueue token the benchmark's backend takes.
const token = "loadtest-token"

// stack is what startStack runs.
type stack struct {
	url        string // POST /api/jobs
	backendPID int
	redisPort  int
}

// startStack runs, in dir, fake-gcs-server (tools holds it) with the
// bucket bench-jobs, redis-server with the platform's durability, and the
// backend built from project's apps/backend on them. stop ends what
// started, whatever the error.
func startStack(dir, project, tools string) (stack, func(), error) {
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	tools, err := filepath.Abs(tools)
	if err != nil {
		return stack{}, stop, err
	}
	ports, err := controlplane.FreePorts(3)
	if err != nil {
		return stack{}, stop, err
	}
	// The job records, as the local platform keeps them.
	objects := fmt.Sprintf("127.0.0.1:%d", ports[2])
	s, err := start(dir, filepath.Join(tools, "fake-gcs-server"), nil, "-scheme", "http", "-host", "127.0.0.1", "-port", fmt.Sprint(ports[2]),
		"-backend", "filesystem", "-filesystem-root", filepath.Join(dir, "storage"), "-log-level", "error")
	if err != nil {
		return stack{}, stop, fmt.Errorf("%w (tools/build.sh fake-gcs-server builds it)", err)
	}
	stops = append(stops, s)
	if err := waitFor(func() error { return storage.Client{Addr: objects}.EnsureBucket(context.Background(), "bench-jobs") }); err != nil {
		return stack{}, stop, err
	}
	if s, err = start(dir, "redis-server", nil, append([]string{"--port", fmt.Sprint(ports[0]), "--bind", "127.0.0.1"}, queue.Durability(dir)...)...); err != nil {
		return stack{}, stop, err
	}
	stops = append(stops, s)
	backend := filepath.Join(dir, "backend")
	build := exec.Command("go", "build", "-trimpath", "-o", backend, ".")
	build.Dir = filepath.Join(project, "apps", "backend")
	if out, err := build.CombinedOutput(); err != nil {
		return stack{}, stop, fmt.Errorf("go build apps/backend: %w: %s", err, out)
	}
	env := []string{"PORT=" + fmt.Sprint(ports[1]), "ENQUEUE_TOKEN=" + token, "QUEUE_BACKEND=redis",
		"REDIS_ADDRESS=" + fmt.Sprintf("127.0.0.1:%d", ports[0]), "QUEUE_TOPIC=bench", "QUEUE_GROUP=" + queue.Group,
		"JOBS_BUCKET=bench-jobs", "STORAGE_EMULATOR_HOST=" + objects}
	if s, err = start(dir, backend, env); err != nil {
		return stack{}, stop, err
	}
	stops = append(stops, s)
	if err := waitFor(func() error {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", ports[1]))
		if err == nil {
			resp.Body.Close()
		}
		return err
	}); err != nil {
		return stack{}, stop, err
	}
	pid, err := pidOf(dir, "backend")
	return stack{url: fmt.Sprintf("http://127.0.0.1:%d/api/jobs", ports[1]), backendPID: pid, redisPort: ports[0]}, stop, err
}

// drive runs clients goroutines for d, each POSTing a job and then
// GETting its status, and collects both latencies.
func drive(url, token string, clients int, d time.Duration) result {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	call := func(method, u, body string) (int, []byte, time.Duration, error) {
		req, _ := http.NewRequest(method, u, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		t0 := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil, 0, err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, b, time.Since(t0), nil
	}
	var mu sync.Mutex
	var posts, gets []time.Duration
	errs := 0
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var p, g []time.Duration
			bad := 0
			for time.Now().Before(deadline) {
				code, body, took, err := call(http.MethodPost, url, `{"prompt":"a cat","seconds":1}`)
				var posted struct{ Status string }
				if err != nil || code != http.StatusAccepted || json.Unmarshal(body, &posted) != nil {
					bad++
					continue
				}
				p = append(p, took)
				code, _, took, err = call(http.MethodGet, strings.TrimSuffix(url, "/api/jobs")+posted.Status, "")
				if err != nil || code != http.StatusOK {
					bad++
					continue
				}
				g = append(g, took)
			}
			mu.Lock()
			posts, gets, errs = append(posts, p...), append(gets, g...), errs+bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	return result{clients: clients, ok: len(gets), errs: errs, elapsed: time.Since(start), post: quantilesOf(posts), get: quantilesOf(gets)}
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

// waitFor retries f for up to 15 s.
func waitFor(f func() error) error {
	var err error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err = f(); err == nil {
			return nil
		}
	}
	return err
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
