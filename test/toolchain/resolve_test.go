// Package toolchain checks tools/build.sh, the script `make local` and
// `make test` build the real-engine toolchain with.
package toolchain

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tools/build.sh copies files out of two modules' source trees. On a machine
// that has never seen the project the module cache is empty, and a lookup
// that does not download (`go list -m -f {{.Dir}}`) prints an empty line:
// the build then copied from "/cmd/..." and failed. This resolves both
// modules against an EMPTY module cache, as a newcomer's machine has, and
// checks the files the build needs are there. It downloads two module zips
// and builds nothing.
func TestToolSourcesResolveOnAnEmptyModuleCache(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads two modules from the Go module proxy")
	}
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	tests := []struct {
		tool  string
		files []string
	}{
		{tool: "kubernetes-provider", files: []string{
			"cmd/pulumi-resource-kubernetes/main.go", "cmd/pulumi-resource-kubernetes/generate.go",
			"cmd/pulumi-resource-kubernetes/schema.json", "cmd/pulumi-resource-kubernetes/terraform-mapping.json",
		}},
		{tool: "keda", files: []string{
			"config/crd/bases/keda.sh_scaledobjects.yaml", "config/crd/bases/keda.sh_scaledjobs.yaml",
			"config/crd/bases/keda.sh_triggerauthentications.yaml",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.tool, func(t *testing.T) {
			cache := t.TempDir()
			cmd := exec.Command("bash", filepath.Join(root, "tools", "build.sh"), "resolve", tt.tool)
			// -modcacherw: the test's temporary directory must be removable.
			cmd.Env = append(os.Environ(), "GOMODCACHE="+cache, "GOFLAGS=-modcacherw", "GOTOOLCHAIN=local")
			out, err := cmd.Output()
			var stderr string
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			require.NoError(t, err, stderr)
			dir := strings.TrimSpace(string(out))
			require.NotEmpty(t, dir, "resolve printed no directory: %s", stderr)
			assert.True(t, strings.HasPrefix(dir, cache), "%s must come from the empty cache %s", dir, cache)
			for _, f := range tt.files {
				assert.FileExists(t, filepath.Join(dir, f))
			}
		})
	}
}
