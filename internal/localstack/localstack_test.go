package localstack

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
