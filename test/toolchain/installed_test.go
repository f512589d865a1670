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

// buildScript runs tools/build.sh with a fresh TOOLS_BIN, a PATH that starts
// with dir, and PULUMI_HOME; it returns what the script logged.
func buildScript(t *testing.T, toolsBin, dir, pulumiHome string, args ...string) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	cmd := exec.Command("bash", append([]string{filepath.Join(root, "tools", "build.sh")}, args...)...)
	cmd.Env = append(os.Environ(), "TOOLS_BIN="+toolsBin, "PATH="+dir+":"+os.Getenv("PATH"), "PULUMI_HOME="+pulumiHome)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	return string(out)
}

// fakePulumi writes an executable `pulumi` that reports version.
func fakePulumi(t *testing.T, version string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pulumi"), []byte("#!/bin/sh\necho "+version+"\n"), 0o755))
	return dir
}

// fakeProviderPlugin puts a resource-kubernetes plugin of version in a
// Pulumi plugin cache, the way an official CLI installs it.
func fakeProviderPlugin(t *testing.T, home, version string) string {
	t.Helper()
	dir := filepath.Join(home, "plugins", "resource-kubernetes-v"+version)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	p := filepath.Join(dir, "pulumi-resource-kubernetes")
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755))
	return p
}

// A Pulumi CLI on PATH at the pinned version, and a provider plugin at the
// pinned version or newer, are used as they are: linked into TOOLS_BIN,
// nothing built; a second run finds them ready.
func TestInstalledToolsAreUsedNotRebuilt(t *testing.T) {
	bin, home := t.TempDir(), t.TempDir()
	path := fakePulumi(t, "v"+pinned(t, "PULUMI_VERSION"))
	fakeProviderPlugin(t, home, "4.20.0") // older than pinned: never used
	provider := fakeProviderPlugin(t, home, "4.33.0")

	plan := buildScript(t, bin, path, home, "plan", "pulumi", "kubernetes-provider")
	assert.Contains(t, plan, "pulumi: found "+filepath.Join(path, "pulumi")+", using it as it is")
	assert.Contains(t, plan, "kubernetes-provider: found "+provider+", using it as it is")
	assert.NoFileExists(t, filepath.Join(bin, "pulumi"), "plan changes nothing")

	out := buildScript(t, bin, path, home, "pulumi", "kubernetes-provider")
	assert.NotContains(t, out, "building")
	for name, want := range map[string]string{"pulumi": filepath.Join(path, "pulumi"), "pulumi-resource-kubernetes": provider} {
		got, err := os.Readlink(filepath.Join(bin, name))
		require.NoError(t, err, name)
		assert.Equal(t, want, got)
	}
	again := buildScript(t, bin, path, home, "plan", "pulumi", "kubernetes-provider")
	assert.Contains(t, again, "pulumi: ready in "+bin)
	assert.Contains(t, again, "kubernetes-provider: ready in "+bin)
}

// A CLI at another version, or no plugin, is built, and the plan says why.
func TestThePlanSaysWhyItBuilds(t *testing.T) {
	bin, home := t.TempDir(), t.TempDir()
	path := fakePulumi(t, "v3.200.0")
	plan := buildScript(t, bin, path, home, "plan", "pulumi", "kubernetes-provider", "controlplane", "keda", "keda-crds")
	lines := map[string]string{}
	for _, l := range strings.Split(plan, "\n") {
		if tool, rest, ok := strings.Cut(strings.TrimPrefix(l, "[tools]   "), ": "); ok {
			lines[tool] = rest
		}
	}
	assert.Contains(t, lines["pulumi"], "to build (the pulumi at "+filepath.Join(path, "pulumi")+" is v3.200.0, not v"+pinned(t, "PULUMI_VERSION")+")")
	assert.Contains(t, lines["kubernetes-provider"], "to build (no resource-kubernetes plugin >= v"+pinned(t, "KUBERNETES_PROVIDER_VERSION")+" in "+home+"/plugins)")
	assert.Contains(t, lines["controlplane"], "to build (built from the Go module proxy)")
	assert.Contains(t, lines["keda"], "to build")
	assert.Contains(t, lines["keda-crds"], "to build (copied from KEDA's module files)")
	for _, tool := range []string{"pulumi", "kubernetes-provider", "controlplane", "keda", "keda-crds"} {
		assert.Contains(t, lines[tool], "docs/timings.md", "%s: the plan says where its cold build time is logged", tool)
	}
}

// `check` is how bin/local decides whether KEDA's operator must be built in
// the background: exit 0 only when every named tool is ready or found.
func TestCheckSaysWhetherAToolIsReady(t *testing.T) {
	bin, home := t.TempDir(), t.TempDir()
	path := fakePulumi(t, "v"+pinned(t, "PULUMI_VERSION"))
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	check := func(tools ...string) error {
		cmd := exec.Command("bash", append([]string{filepath.Join(root, "tools", "build.sh"), "check"}, tools...)...)
		cmd.Env = append(os.Environ(), "TOOLS_BIN="+bin, "PATH="+path+":"+os.Getenv("PATH"), "PULUMI_HOME="+home)
		return cmd.Run()
	}
	assert.NoError(t, check("pulumi"), "an installed CLI at the pinned version")
	assert.Error(t, check("keda-crds"), "nothing built yet")
	assert.Error(t, check("pulumi", "keda"), "one missing tool fails the check")

	buildScript(t, bin, path, home, "keda-crds")
	assert.FileExists(t, filepath.Join(bin, "keda-crds", "keda.sh_scaledobjects.yaml"))
	assert.NoError(t, check("keda-crds", "pulumi"))
	// A stale stamp (the pinned module changed) is not ready.
	require.NoError(t, os.WriteFile(filepath.Join(bin, ".keda-crds.stamp"), []byte("old\n"), 0o644))
	assert.Error(t, check("keda-crds"))
}
