package toolchain

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pinned reads one version from tools/versions.env, the one file the
// Makefile, tools/build.sh, the workflows and apply.sh read them from.
func pinned(t *testing.T, key string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "tools", "versions.env"))
	require.NoError(t, err)
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), "="); ok && k == key {
			return v
		}
	}
	require.FailNow(t, "tools/versions.env sets no "+key)
	return ""
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", path))
	require.NoError(t, err)
	return string(b)
}

// The go.mod files and the Go constants that must agree with
// tools/versions.env do.
func TestPinnedVersionsAgree(t *testing.T) {
	tests := []struct{ file, pattern, key string }{
		{"tools/pulumi/go.mod", `github.com/pulumi/pulumi/pkg/v3 v(\S+)`, "PULUMI_VERSION"},
		{"loopback/cluster/go.mod", `github.com/kedacore/keda/v2 v(\S+)`, "KEDA_VERSION"},
		{"loopback/cluster/go.mod", `k8s.io/kubernetes v(\S+)`, "KUBERNETES_VERSION"},
		{"components/keda.go", `KEDAChartVersion = "([^"]+)"`, "KEDA_VERSION"},
	}
	for _, tt := range tests {
		t.Run(tt.file+" "+tt.key, func(t *testing.T) {
			m := regexp.MustCompile(tt.pattern).FindStringSubmatch(read(t, tt.file))
			require.NotNil(t, m, "%s: no match for %s", tt.file, tt.pattern)
			assert.Equal(t, pinned(t, tt.key), m[1], "%s disagrees with tools/versions.env", tt.file)
		})
	}
}

// The workflows and the Deployments settings name the CLI through
// tools/versions.env, not a literal; apply.sh fills it in.
func TestDeployPathsReadThePinnedCLI(t *testing.T) {
	for _, wf := range []string{".github/workflows/deploy.yml", ".github/workflows/preview.yml"} {
		text := read(t, wf)
		assert.Contains(t, text, `tools/versions.env >> "$GITHUB_ENV"`, wf)
		for _, m := range regexp.MustCompile(`pulumi-version: (.+)`).FindAllStringSubmatch(text, -1) {
			assert.Equal(t, "${{ env.PULUMI_VERSION }}", m[1], wf)
		}
	}
	for _, stack := range []string{"dev", "pr", "prod"} {
		assert.Contains(t, read(t, ".ci/deployments/"+stack+".json"), `"pulumi/pulumi:${PULUMI_VERSION}"`)
	}
	out, err := exec.Command("bash", filepath.Join("..", "..", ".ci", "deployments", "apply.sh"), "org", "dev", "--dry-run").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), `"pulumi/pulumi:`+pinned(t, "PULUMI_VERSION")+`"`)
}

// No other tracked file writes a pinned tool's version: a version lives in
// tools/versions.env (or the go.mod that pins it) and is read from there.
// The one exception is components.KEDAChartVersion, a constant the program
// compiles in; TestPinnedVersionsAgree holds it to the file.
func TestNoVersionWrittenTwice(t *testing.T) {
	out, err := exec.Command("git", "-C", filepath.Join("..", ".."), "ls-files").Output()
	require.NoError(t, err)
	literals := map[string]*regexp.Regexp{}
	for _, key := range []string{"PULUMI_VERSION", "KUBERNETES_PROVIDER_VERSION", "KEDA_VERSION", "KUBERNETES_VERSION"} {
		v := pinned(t, key)
		literals[key] = regexp.MustCompile(`(^|[^\w.])v?` + regexp.QuoteMeta(v) + `($|[^\w.])`)
	}
	for _, path := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		base := filepath.Base(path)
		if base == "go.mod" || base == "go.sum" || path == "tools/versions.env" || strings.HasPrefix(path, "apps/") {
			continue
		}
		text := read(t, path)
		for key, re := range literals {
			for _, line := range strings.Split(text, "\n") {
				if re.MatchString(line) && !sdkVersion(line) && !strings.Contains(line, "KEDAChartVersion = ") {
					assert.Fail(t, "a pinned version written twice", "%s writes %s's value: %q; read it from tools/versions.env", path, key, strings.TrimSpace(line))
				}
			}
		}
	}
}

// sdkVersion is a line naming a Go module's version (the pulumi SDK happens
// to share the CLI's number): go.mod's business, not a tool pin.
func sdkVersion(line string) bool {
	return regexp.MustCompile(`(sdk/v3|pkg/v3)@?\s*v\d`).MatchString(line)
}
