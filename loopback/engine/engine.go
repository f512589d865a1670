// Package engine drives the platform program through the Pulumi engine
// (the Automation API, with stacks.Program as an inline program) against a
// cluster named by a kubeconfig, with a file state backend: no Pulumi Cloud,
// no Google account, and no Go language host (the program runs in-process).
package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
	"github.com/gke-gpu-platform/gke-gpu-platform/stacks"
)

// ProjectName is the Pulumi project; it must match Pulumi.yaml.
const ProjectName = "gke-gpu-platform"

// Options say where everything lives.
type Options struct {
	// Stack is the stack name; its config is Pulumi.<Stack>.yaml in WorkDir.
	Stack string
	// WorkDir holds Pulumi.yaml and Pulumi.<Stack>.yaml.
	WorkDir string
	// StateDir is the file backend's directory.
	StateDir string
	// ToolsBin holds the pulumi CLI and the pulumi-resource-kubernetes plugin.
	ToolsBin string
	// Kubeconfig is the cluster's kubeconfig, handed to the Kubernetes
	// provider through $KUBECONFIG.
	Kubeconfig string
}

// Passphrase encrypts the local stacks' secrets. Nothing secret lives in
// them (the local stack has no cloud credentials), so it is fixed.
const Passphrase = "gke-gpu-platform-local"

// Env is the environment every Pulumi command here runs with.
func (o Options) Env() map[string]string {
	return map[string]string{
		"PATH":                     o.ToolsBin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"KUBECONFIG":               o.Kubeconfig,
		"PULUMI_BACKEND_URL":       "file://" + o.StateDir,
		"PULUMI_CONFIG_PASSPHRASE": Passphrase,
		"PULUMI_SKIP_UPDATE_CHECK": "true",
		// Plugins come from ToolsBin; never download one.
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
		"PULUMI_HOME": filepath.Join(o.StateDir, ".pulumi-home"),
	}
}

// Open selects (creating if needed) the stack, ready for Preview, Up,
// Refresh and Destroy.
func Open(ctx context.Context, o Options) (auto.Stack, error) {
	for _, d := range []string{o.StateDir, filepath.Join(o.StateDir, ".pulumi-home")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return auto.Stack{}, err
		}
	}
	// The CLI finds itself at Root/bin/pulumi.
	root := filepath.Dir(o.ToolsBin)
	if filepath.Base(o.ToolsBin) != "bin" {
		return auto.Stack{}, fmt.Errorf("engine: ToolsBin must be a directory named bin, got %s", o.ToolsBin)
	}
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: root})
	if err != nil {
		return auto.Stack{}, fmt.Errorf("engine: the Pulumi CLI in %s: %w (run tools/build.sh)", o.ToolsBin, err)
	}
	return auto.UpsertStackInlineSource(ctx, o.Stack, ProjectName, Program(o),
		auto.WorkDir(o.WorkDir),
		auto.Pulumi(cmd),
		auto.EnvVars(o.Env()),
		auto.SecretsProvider("passphrase"),
	)
}

// Program is the platform as an inline program of the stack in o.WorkDir.
// An inline program has no language host to hand it the stack's config keys
// (the CLI's passes them in PULUMI_CONFIG), so without this a mistyped
// top-level key would be ignored here while the CLI refuses it: Program
// reads the keys from the stack file the engine itself reads, and the
// program refuses an unknown one, with the closest known key.
func Program(o Options) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		values, err := config.StackFileConfig(o.WorkDir, o.Stack)
		if err != nil {
			return err
		}
		return stacks.Run(ctx, slices.Sorted(maps.Keys(values)))
	}
}

// CopyProject copies Pulumi.yaml and Pulumi.<stack>.yaml from projectDir to
// dir, so the engine's writes (the passphrase's encryptionsalt) stay out of
// the repo and a test can change config without touching the repo's files.
// An encryptionsalt already in dir's copy is kept: the stack's state was
// encrypted with it.
func CopyProject(projectDir, dir, stack string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range []string{"Pulumi.yaml", "Pulumi." + stack + ".yaml"} {
		data, err := os.ReadFile(filepath.Join(projectDir, name))
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, name)
		if old, err := os.ReadFile(dst); err == nil && !strings.Contains(string(data), "encryptionsalt:") {
			for _, line := range strings.Split(string(old), "\n") {
				if strings.HasPrefix(line, "encryptionsalt:") {
					data = []byte(line + "\n" + string(data))
				}
			}
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// FindProjectDir walks up from dir to the folder holding Pulumi.yaml.
func FindProjectDir(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "Pulumi.yaml")); err == nil {
			return d, nil
		}
		if d == filepath.Dir(d) {
			return "", fmt.Errorf("no Pulumi.yaml above %s", dir)
		}
	}
}

// Summary renders an operation's resource changes, e.g. "create=12 same=1".
func Summary(changes map[string]int) string {
	var parts []string
	for _, op := range []string{"create", "update", "replace", "delete", "same"} {
		if n := changes[op]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", op, n))
		}
	}
	return strings.Join(parts, " ")
}

// ClearStaleLocks removes the stack's file-backend locks whose process, on
// this host, no longer exists: what a Ctrl-C'd `make local` leaves behind,
// and which would otherwise block every later up and down. It returns what
// it removed. Locks of live processes, or of other hosts, are kept.
func ClearStaleLocks(o Options) ([]string, error) {
	dir := filepath.Join(o.StateDir, ".pulumi", "locks", "organization", ProjectName, o.Stack)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	var removed []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		raw, err := os.ReadFile(path)
		if err != nil {
			return removed, err
		}
		var lock struct {
			PID      int    `json:"pid"`
			Hostname string `json:"hostname"`
		}
		if json.Unmarshal(raw, &lock) != nil || lock.Hostname != host || lock.PID <= 0 || processAlive(lock.PID) {
			continue
		}
		for _, f := range []string{path, path + ".attrs"} {
			if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
				return removed, err
			}
		}
		removed = append(removed, fmt.Sprintf("%s (pid %d, gone)", e.Name(), lock.PID))
	}
	return removed, nil
}

// processAlive reports whether a process with this PID exists.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	return err == nil && p.Signal(syscall.Signal(0)) == nil
}

// Configure points the stack at the running cluster: the settings the
// harness owns, written into the engine's copy of the stack file, never the
// repo's: local.kubeconfig (opts.Kubeconfig), local.redisAddress and
// local.storageAddress (the cluster's queue and job records' server),
// local.images (the apps' own images on real nodes; none when images is
// empty, so a stack that ran on real nodes goes back to the stack file's
// images), and every local secret (Secrets) as secrets.<name>, encrypted,
// the enqueue token among them. An explicit kubeconfig also keeps the
// provider's inputs stable: left empty, the provider would take whatever
// $KUBECONFIG the caller's shell has, and show it as a diff.
func Configure(ctx context.Context, stack auto.Stack, opts Options, redisAddress, storageAddress string, images map[string]string) error {
	set := func(key, value string, secret bool) error {
		return stack.SetConfigWithOptions(ctx, "gke-gpu-platform:"+key, auto.ConfigValue{Value: value, Secret: secret}, &auto.ConfigOptions{Path: true})
	}
	for key, value := range map[string]string{"local.kubeconfig": opts.Kubeconfig, "local.redisAddress": redisAddress, "local.storageAddress": storageAddress} {
		if err := set(key, value, false); err != nil {
			return err
		}
	}
	if _, err := stack.GetConfigWithOptions(ctx, "gke-gpu-platform:local.images", &auto.ConfigOptions{Path: true}); err == nil {
		if err := stack.RemoveConfigWithOptions(ctx, "gke-gpu-platform:local.images", &auto.ConfigOptions{Path: true}); err != nil {
			return err
		}
	}
	for _, app := range slices.Sorted(maps.Keys(images)) {
		if err := set("local.images."+app, images[app], false); err != nil {
			return err
		}
	}
	if _, err := EnqueueToken(opts); err != nil {
		return err
	}
	secrets, err := Secrets(opts)
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(secrets)) {
		if err := set("secrets."+name, secrets[name], true); err != nil {
			return err
		}
	}
	return nil
}

// secretName is what a local secret may be called: a config path element.
var secretName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,62}$`)

// secretsDir holds the local stack's secret values, one file each (0600),
// beside the stack's state: they last as long as the stack does, and the
// stack file the engine reads (rewritten on every run) and the repo's
// Pulumi.local.yaml never hold them.
func secretsDir(opts Options) string { return filepath.Join(opts.StateDir, "secrets") }

// SetSecret keeps value as the local stack's secret name; the next up
// passes it to the program as secrets.<name>, encrypted. Errors: a name
// that is not a letter followed by letters, digits, '_' or '-' (at most
// 63), or an empty value.
func SetSecret(opts Options, name, value string) error {
	if !secretName.MatchString(name) {
		return fmt.Errorf("secret name %q: must be a letter followed by letters, digits, '_' or '-', at most 63", name)
	}
	if value == "" {
		return fmt.Errorf("secret %s: the value is empty (give it on standard input)", name)
	}
	if err := os.MkdirAll(secretsDir(opts), 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(secretsDir(opts), name), []byte(value), 0o600)
}

// Secrets are the local stack's secret values by name.
func Secrets(opts Options) (map[string]string, error) {
	entries, err := os.ReadDir(secretsDir(opts))
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range entries {
		if !secretName.MatchString(e.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(secretsDir(opts), e.Name()))
		if err != nil {
			return nil, err
		}
		out[e.Name()] = string(b)
	}
	return out, nil
}

// EnqueueToken is the local stack's enqueue token (its
// secrets.enqueueToken, the bearer token the backend's POST /api/jobs asks
// for): 32 random bytes in hex, made on first use and kept as a local
// secret (SetSecret), unless one was set by hand.
func EnqueueToken(opts Options) (string, error) {
	if b, err := os.ReadFile(filepath.Join(secretsDir(opts), "enqueueToken")); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := hex.EncodeToString(raw)
	return token, SetSecret(opts, "enqueueToken", token)
}
