// Command local runs the platform's apps on a loopback Kubernetes control
// plane through the real Pulumi engine, with no Google account and no Docker:
//
//	bin/local up             # start the cluster (if needed) and `pulumi up` the local stack
//	bin/local -nodes real up # the same on real nodes (root): the apps' own images in real containers
//	bin/local enqueue 3      # 3 jobs for the GPU worker (real nodes: POSTed to the backend); KEDA scales it
//	bin/local enqueue 4 10   # real nodes: 4 jobs that each hold the GPU 10 s (the second worker waits for a GPU)
//	bin/local enqueue -queue other 2  # jobs on another queue of the stack
//	bin/local drain          # empty a queue (-queue NAME; simulated pods run nothing to consume it)
//	bin/local replay         # put a queue's dead letters back on it (-queue NAME)
//	bin/local jobs [N]       # a queue's N most recent jobs: state, attempts, times (-queue NAME)
//	bin/local job ID         # one job's record and result (-queue NAME)
//	bin/local token          # the backend's enqueue token (POST /api/jobs)
//	bin/local secret NAME    # set a secret of the local stack from standard input (no NAME: list them)
//	bin/local down           # destroy the stack and stop every process
//	bin/local status         # is the cluster up, on which nodes, KEDA with it, and every queue
//
// On real nodes (package loopback's StartReal) the apps run their own images,
// built without Docker, in containers under kubelets over containerd, with
// kube-proxy, cluster DNS and NetworkPolicies enforced: jobs POSTed to the
// backend's Service scale the real GPU worker from zero, which does them
// and acknowledges them, and KEDA takes it back to zero.
//
// On a machine where KEDA's operator is not built yet, `up` does not wait
// for it: KEDA's CRDs come from its module's files, so the stack (its
// ScaledObjects included) deploys at once, and a background lane (`bin/local
// keda-join`, its PID recorded with the cluster's) builds the operator and
// adapter and starts them beside the running cluster, which then reconciles
// the ScaledObjects already there.
//
// `make local` and `make local-down` call it after tools/build.sh. State
// lives in .local/ (gitignored): the control plane, its kubeconfig, the
// file backend of the stack, and logs/ with the engine's full output.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"

	"github.com/gke-gpu-platform/gke-gpu-platform/loopback"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/controlplane"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/display"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/engine"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/queue"
	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/storage"
)

// nodes chooses the nodes a new cluster gets: simulated (kwok, no root)
// or real (kubelets over containerd running the apps' own images; root).
var nodes = flag.String("nodes", "simulated", "the nodes a new cluster gets: simulated or real (root)")

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: local [-nodes simulated|real] up|down|status|token\n"+
			"       local enqueue [-queue NAME] [N [SECONDS]] | drain [-queue NAME] | replay [-queue NAME]\n"+
			"       local jobs [-queue NAME] [N] | job [-queue NAME] ID\n"+
			"       local budget SPENT [PERIOD-START]   (a budget message for the spend guard)\n"+
			"       local secret [NAME]   (NAME's value on standard input; no NAME lists them)")
	}
	flag.Parse()
	if *nodes != "simulated" && *nodes != "real" {
		fmt.Fprintf(os.Stderr, "local: -nodes %q: must be simulated or real\n", *nodes)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, flag.Arg(0), flag.Args()[min(1, flag.NArg()):]); err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

type paths struct {
	project, bin, cluster, state, work, logs string
}

func locate() (paths, error) {
	wd, err := os.Getwd()
	if err != nil {
		return paths{}, err
	}
	project, err := engine.FindProjectDir(wd)
	if err != nil {
		return paths{}, err
	}
	bin := os.Getenv("TOOLS_BIN")
	if bin == "" {
		bin = filepath.Join(project, ".tools", "bin")
	}
	return paths{
		project: project,
		bin:     bin,
		cluster: filepath.Join(project, ".local", "cluster"),
		state:   filepath.Join(project, ".local", "state"),
		work:    filepath.Join(project, ".local", "project"),
		logs:    filepath.Join(project, ".local", "logs"),
	}, nil
}

func run(ctx context.Context, verb string, args []string) error {
	p, err := locate()
	if err != nil {
		return err
	}
	// The engine runs in a copy of the project files, refreshed from the
	// repo's Pulumi.yaml and Pulumi.local.yaml on every run.
	if err := engine.CopyProject(p.project, p.work, "local"); err != nil {
		return err
	}
	opts := engine.Options{
		Stack: "local", WorkDir: p.work, StateDir: p.state, ToolsBin: p.bin,
		Kubeconfig: filepath.Join(p.cluster, "kubeconfig"),
	}
	// A Ctrl-C'd run leaves its lock behind; it would block every later run.
	removed, err := engine.ClearStaleLocks(opts)
	if err != nil {
		return err
	}
	for _, r := range removed {
		fmt.Println("removed a stale stack lock:", r)
	}
	switch verb {
	case "up":
		return up(ctx, p, opts)
	case "token":
		token, err := engine.EnqueueToken(opts)
		if err != nil {
			return err
		}
		fmt.Println(token)
		return nil
	case "secret":
		return secret(p, opts, args)
	case "keda-join":
		return joinKEDA(ctx, p)
	case "drain":
		return drain(ctx, p, args)
	case "replay":
		return replay(ctx, p, args)
	case "jobs":
		return jobs(ctx, p, args)
	case "job":
		return job(ctx, p, args)
	case "budget":
		return budget(ctx, p, args)
	case "enqueue":
		return enqueue(ctx, p, opts, args)
	case "down":
		return down(ctx, p, opts)
	case "status":
		if !controlplane.Running(ctx, p.bin, p.cluster) {
			fmt.Println("not running")
			return nil
		}
		fmt.Printf("running on %s nodes; KUBECONFIG=%s\n", nodesOf(p), opts.Kubeconfig)
		fmt.Println(kedaStatus(ctx, p))
		printQueues(ctx, p)
		return nil
	default:
		flag.Usage()
		return fmt.Errorf("unknown command %q", verb)
	}
}

// up starts the cluster when none runs (on the nodes -nodes names), points
// the local stack at it and runs `pulumi up`.
func up(ctx context.Context, p paths, opts engine.Options) error {
	redis, objects, images, err := startOrJoin(ctx, p)
	if err != nil {
		return err
	}
	if err := ensureQueues(ctx, p); err != nil {
		return err
	}
	stack, err := engine.Open(ctx, opts)
	if err != nil {
		return err
	}
	if err := engine.Configure(ctx, stack, opts, redis, objects, images); err != nil {
		return err
	}
	logPath, engineLog, err := openLog(p.logs, "up")
	if err != nil {
		return err
	}
	defer engineLog.Close()
	fmt.Printf("\npulumi up (stack local; full engine log: %s)\n", logPath)
	start := time.Now()
	ch := make(chan events.EngineEvent)
	done := make(chan struct{})
	go func() { display.New(os.Stdout).Run(ch); close(done) }()
	res, err := stack.Up(ctx, optup.ProgressStreams(engineLog), optup.EventStreams(ch))
	<-done
	if err != nil {
		return engineFailure("up", logPath, err)
	}
	fmt.Printf("\nResources: %s in %.1f s\n", engine.Summary(*res.Summary.ResourceChanges), time.Since(start).Seconds())
	fmt.Println("\nOutputs:")
	for _, k := range slices.Sorted(maps.Keys(res.Outputs)) {
		if o := res.Outputs[k]; o.Secret {
			fmt.Printf("  %-22s [secret]\n", k)
		} else {
			fmt.Printf("  %-22s %v\n", k, o.Value)
		}
	}
	printNextSteps(ctx, p, opts)
	return nil
}

// startOrJoin starts the loopback cluster, or joins the running one (which
// must run on the nodes asked for); it returns the queue's address, the
// job records server's and, on real nodes, the apps' own images by app name.
func startOrJoin(ctx context.Context, p paths) (redis, objects string, images map[string]string, err error) {
	if controlplane.Running(ctx, p.bin, p.cluster) {
		if realNodes(p) != (*nodes == "real") {
			return "", "", nil, fmt.Errorf("a cluster on %s nodes is running: make local-down first to switch to -nodes %s", nodesOf(p), *nodes)
		}
		if redis, err = queue.Address(p.cluster); err != nil {
			return "", "", nil, err
		}
		if objects, err = storage.Address(p.cluster); err != nil {
			return "", "", nil, fmt.Errorf("%w: a cluster started before job records existed; make local-down, then make local", err)
		}
		if err := ensureKEDA(ctx, p); err != nil {
			return "", "", nil, err
		}
		if !realNodes(p) {
			return redis, objects, nil, nil
		}
		fmt.Println("rebuilding the apps' images (seconds when unchanged) and importing them into the nodes")
		images, err := loopback.RefreshImages(ctx, p.project, p.cluster)
		return redis, objects, images, err
	}
	built := kedaBuilt(ctx, p)
	var c *loopback.Cluster
	progress := func(s string) { fmt.Println("  " + s) }
	if *nodes == "real" {
		fmt.Println("starting the loopback cluster on real nodes:")
		c, err = loopback.StartReal(ctx, loopback.RealOptions{BinDir: p.bin, Dir: p.cluster, Project: p.project, WithKEDA: built, Progress: progress})
	} else {
		fmt.Println("starting the loopback cluster:")
		c, err = loopback.StartCluster(ctx, p.bin, p.cluster, built, progress)
	}
	if err != nil {
		return "", "", nil, err
	}
	if !built {
		if err := startKEDALane(p, c.ControlPlane); err != nil {
			return "", "", nil, err
		}
	}
	return c.RedisAddress, c.StorageAddress, c.AppImages, nil
}

func printNextSteps(ctx context.Context, p paths, opts engine.Options) {
	fmt.Printf("\nLook around:\n  export KUBECONFIG=%s\n  %s/kubectl get pods -n platform -o wide\n", opts.Kubeconfig, p.bin)
	if realNodes(p) {
		printCurls(ctx, p)
		fmt.Printf("Queue work for the GPU worker (KEDA scales it from zero; one GPU, so a second worker waits):\n"+
			"  bin/local enqueue 4 10 && %s/kubectl get pods -n platform -o wide -w   # 4 jobs of 10 s; Ctrl-C ends the watch\n"+
			"  %s/kubectl logs -n platform deploy/gpu-worker -f                        # the jobs, as the worker does them\n", p.bin, p.bin)
	} else {
		fmt.Printf("Queue work for the GPU worker (KEDA scales it from zero):\n  bin/local enqueue 3 && %s/kubectl get pods -n platform -o wide -w\n", p.bin)
	}
	fmt.Printf("Every queue: bin/local status; another queue: bin/local enqueue -queue NAME 3\n")
	fmt.Printf("Stop it all: make local-down\n")
	fmt.Println("\n" + kedaStatus(ctx, p))
}

// secret reads a secret's value from standard input and keeps it for the
// local stack (engine.SetSecret); with no name, it lists the names set.
func secret(p paths, opts engine.Options, args []string) error {
	if len(args) == 0 {
		all, err := engine.Secrets(opts)
		if err != nil {
			return err
		}
		for _, name := range slices.Sorted(maps.Keys(all)) {
			fmt.Println(name)
		}
		return nil
	}
	if len(args) > 1 {
		return fmt.Errorf("secret takes one name and reads its value from standard input, e.g. echo -n VALUE | bin/local secret %s", args[0])
	}
	raw, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	if err := engine.SetSecret(opts, args[0], strings.TrimRight(string(raw), "\r\n")); err != nil {
		return err
	}
	fmt.Printf("secret %s set for the local stack (kept in %s, not in Pulumi.local.yaml); an app takes it with\n"+
		"  secretEnv: {SOME_VARIABLE: %s}\nand `make local` deploys it\n", args[0], filepath.Join(p.state, "secrets"), args[0])
	return nil
}

// down destroys the stack and stops every process of the loopback platform.
func down(ctx context.Context, p paths, opts engine.Options) error {
	if controlplane.Running(ctx, p.bin, p.cluster) {
		stack, err := engine.Open(ctx, opts)
		if err != nil {
			return err
		}
		logPath, engineLog, err := openLog(p.logs, "destroy")
		if err != nil {
			return err
		}
		defer engineLog.Close()
		ch := make(chan events.EngineEvent)
		done := make(chan struct{})
		go func() { display.New(os.Stdout).Run(ch); close(done) }()
		_, err = stack.Destroy(ctx, optdestroy.ProgressStreams(engineLog), optdestroy.EventStreams(ch))
		<-done
		if err != nil {
			return engineFailure("destroy", logPath, err)
		}
		if err := stack.Workspace().RemoveStack(ctx, "local"); err != nil {
			return err
		}
	}
	if realNodes(p) {
		cp, err := controlplane.Open(p.cluster, p.bin)
		if err != nil {
			return err
		}
		if err := loopback.StopReal(ctx, cp, p.bin); err != nil {
			return err
		}
		fmt.Println("control plane, real nodes, queue and KEDA stopped; their bridges, rules and namespaces removed")
		return nil
	}
	if err := controlplane.StopDir(p.cluster); err != nil {
		return err
	}
	fmt.Println("control plane, queue and KEDA stopped")
	return nil
}

// engineFailure reports a failed engine operation once: the display has
// already printed the engine's diagnostics (a config error among them), and
// the Automation API's error repeats the whole engine output after its first
// line, which the log file keeps.
func engineFailure(op, logPath string, err error) error {
	first, _, _ := strings.Cut(err.Error(), "\n")
	return fmt.Errorf("pulumi %s failed (%s); the engine's messages are above, its full log is %s", op, first, logPath)
}

// openLog creates logs/<op>.log for the engine's full output.
func openLog(dir, op string) (string, *os.File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	path := filepath.Join(dir, op+".log")
	f, err := os.Create(path)
	return path, f, err
}
