package engine

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/graphtest"
)

func TestCopyProjectKeepsTheEncryptionSalt(t *testing.T) {
	project, work := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(project, "Pulumi.yaml"), []byte("name: p\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(project, "Pulumi.local.yaml"), []byte("config:\n  p:x: \"1\"\n"), 0o644))

	require.NoError(t, CopyProject(project, work, "local"))
	got, err := os.ReadFile(filepath.Join(work, "Pulumi.local.yaml"))
	require.NoError(t, err)
	assert.Equal(t, "config:\n  p:x: \"1\"\n", string(got))

	// The engine adds a salt to the copy; the next copy brings the repo's
	// edits and keeps the salt the state was encrypted with.
	require.NoError(t, os.WriteFile(filepath.Join(work, "Pulumi.local.yaml"), []byte("encryptionsalt: v1:abc\nconfig:\n  p:x: \"1\"\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(project, "Pulumi.local.yaml"), []byte("config:\n  p:x: \"2\"\n"), 0o644))
	require.NoError(t, CopyProject(project, work, "local"))
	got, err = os.ReadFile(filepath.Join(work, "Pulumi.local.yaml"))
	require.NoError(t, err)
	assert.Equal(t, "encryptionsalt: v1:abc\nconfig:\n  p:x: \"2\"\n", string(got))
}

func TestFindProjectDir(t *testing.T) {
	dir, err := FindProjectDir(".")
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(dir, "Pulumi.yaml"))
	require.NoError(t, err)
	_, err = FindProjectDir(t.TempDir())
	assert.Error(t, err)
}

func TestSummary(t *testing.T) {
	assert.Equal(t, "create=3 update=1 same=9", Summary(map[string]int{"same": 9, "create": 3, "update": 1}))
}

func TestEnvNeverReachesPulumiCloud(t *testing.T) {
	env := Options{StateDir: "/s", ToolsBin: "/t/bin", Kubeconfig: "/k"}.Env()
	assert.Equal(t, "file:///s", env["PULUMI_BACKEND_URL"])
	assert.Equal(t, "true", env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"])
	assert.Equal(t, "/k", env["KUBECONFIG"])
	assert.Contains(t, env["PATH"], "/t/bin")
}

func TestClearStaleLocks(t *testing.T) {
	o := Options{Stack: "local", StateDir: t.TempDir()}
	dir := filepath.Join(o.StateDir, ".pulumi", "locks", "organization", ProjectName, "local")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	host, err := os.Hostname()
	require.NoError(t, err)
	// A process that certainly exited: one we started and waited for.
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	dead := cmd.Process.Pid
	write := func(name string, pid int, hostname string) {
		raw := fmt.Sprintf(`{"pid":%d,"username":"root","hostname":%q,"timestamp":"2026-11-25T19:16:50Z"}`, pid, hostname)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+".json"), []byte(raw), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+".json.attrs"), []byte("{}"), 0o644))
	}
	write("stale", dead, host)
	write("live", os.Getpid(), host)
	write("elsewhere", dead, host+"-other")

	removed, err := ClearStaleLocks(o)
	require.NoError(t, err)
	assert.Equal(t, []string{fmt.Sprintf("stale.json (pid %d, gone)", dead)}, removed)
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range left {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"live.json", "live.json.attrs", "elsewhere.json", "elsewhere.json.attrs"}, names)
}

// The token is made once, kept private, and the same on every later run.
func TestEnqueueTokenLastsAsLongAsTheState(t *testing.T) {
	opts := Options{StateDir: filepath.Join(t.TempDir(), "state")}
	first, err := EnqueueToken(opts)
	require.NoError(t, err)
	assert.Len(t, first, 64)
	info, err := os.Stat(filepath.Join(opts.StateDir, "secrets", "enqueueToken"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	again, err := EnqueueToken(opts)
	require.NoError(t, err)
	assert.Equal(t, first, again)
	other, err := EnqueueToken(Options{StateDir: t.TempDir()})
	require.NoError(t, err)
	assert.NotEqual(t, first, other, "random per stack")
}

// Local secrets are kept beside the state, private, and refused with a
// reason when the name or value cannot be one.
func TestLocalSecrets(t *testing.T) {
	opts := Options{StateDir: filepath.Join(t.TempDir(), "state")}
	require.NoError(t, SetSecret(opts, "apiKey", "s3cret"))
	info, err := os.Stat(filepath.Join(opts.StateDir, "secrets", "apiKey"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	token, err := EnqueueToken(opts)
	require.NoError(t, err)
	got, err := Secrets(opts)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"apiKey": "s3cret", "enqueueToken": token}, got)

	require.NoError(t, SetSecret(opts, "enqueueToken", "chosen"))
	token, err = EnqueueToken(opts)
	require.NoError(t, err)
	assert.Equal(t, "chosen", token, "a token set by hand is the one used")

	for _, tt := range []struct{ name, value, want string }{
		{"../escape", "x", `secret name "../escape": must be a letter followed by letters, digits, '_' or '-', at most 63`},
		{"1st", "x", `secret name "1st": must be a letter followed by letters, digits, '_' or '-', at most 63`},
		{"empty", "", "secret empty: the value is empty (give it on standard input)"},
	} {
		assert.EqualError(t, SetSecret(opts, tt.name, tt.value), tt.want)
	}
}

// The inline program refuses a mistyped top-level key, as the CLI does: the
// keys come from the stack file the engine reads, not from a language host's
// environment (an Automation API program has none). Here the environment
// does not even hold the typo; the stack file does.
func TestInlineProgramRefusesUnknownKeys(t *testing.T) {
	work := t.TempDir()
	require.NoError(t, CopyProject(filepath.Join("..", ".."), work, "local"))
	f, err := os.OpenFile(filepath.Join(work, "Pulumi.local.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("  gke-gpu-platform:ingres:\n    className: nginx\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())

	values, err := config.StackFileConfig(filepath.Join("..", ".."), "local")
	require.NoError(t, err)
	g, err := graphtest.Run(t, Program(Options{WorkDir: work, Stack: "local"}), "local", values)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `gke-gpu-platform:ingres: unknown config key (did you mean "ingress"?)`)
	assert.Empty(t, g.Resources, "nothing registered")
}
