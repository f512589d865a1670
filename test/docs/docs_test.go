// Package docs checks that README.md and docs/ stay true: every relative
// link and anchor resolves, README stays a front page, and every source is a
// full URL.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const root = "../.."

// pages are README.md and every docs page, by path relative to the root.
func pages(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range append(files, filepath.Join(root, "README.md")) {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		rel, err := filepath.Rel(root, f)
		require.NoError(t, err)
		out[rel] = string(b)
	}
	return out
}

var (
	link    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	heading = regexp.MustCompile(`(?m)^#{1,6} +(.+)$`)
	fence   = regexp.MustCompile("(?s)```.*?```")
)

// slug is GitHub's anchor for a heading.
func slug(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	var b strings.Builder
	for _, r := range h {
		switch {
		case r == ' ' || r == '-':
			b.WriteRune('-')
		case r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func anchors(text string) map[string]bool {
	out := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(fence.ReplaceAllString(text, ""), -1) {
		out[slug(m[1])] = true
	}
	return out
}

func TestLinksResolve(t *testing.T) {
	all := pages(t)
	for page, text := range all {
		for _, m := range link.FindAllStringSubmatch(fence.ReplaceAllString(text, ""), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			path := page
			if file != "" {
				path = filepath.Clean(filepath.Join(filepath.Dir(page), file))
				_, err := os.Stat(filepath.Join(root, path))
				if !assert.NoError(t, err, "%s links to %s, which does not exist", page, target) {
					continue
				}
			}
			if anchor == "" || !strings.HasSuffix(path, ".md") {
				continue
			}
			text, ok := all[path]
			if !ok {
				b, err := os.ReadFile(filepath.Join(root, path))
				require.NoError(t, err)
				text = string(b)
			}
			assert.True(t, anchors(text)[anchor], "%s links to %s: no heading #%s in %s", page, target, anchor, path)
		}
	}
}

// README is a front page: what it is, the two commands on the first screen,
// and links; everything else lives in docs/.
func TestReadmeIsAFrontPage(t *testing.T) {
	readme := pages(t)["README.md"]
	lines := strings.Split(readme, "\n")
	assert.LessOrEqual(t, len(lines), 150, "README.md has %d lines: move the rest into docs/", len(lines))
	first := strings.Join(lines[:min(40, len(lines))], "\n")
	assert.Contains(t, first, "make local", "the run command on the first screen")
	assert.Contains(t, first, "make test", "the test command on the first screen")
}

// Every source is a full URL: a bare "github.com/..." or
// "cloud.google.com/..." cannot be clicked and hides where a fact came from.
func TestSourcesAreFullURLs(t *testing.T) {
	bare := regexp.MustCompile(`(^|[\s(])((?:github\.com|cloud\.google\.com|keda\.sh|kubernetes\.io)/\S*)`)
	for page, text := range pages(t) {
		for _, m := range bare.FindAllStringSubmatch(fence.ReplaceAllString(text, ""), -1) {
			assert.Fail(t, "a source that is not a full URL", "%s: %s (write https://%s)", page, m[2], m[2])
		}
		assert.NotContains(t, text, "shared/mission.md", "%s cites a file outside the repository", page)
	}
}
