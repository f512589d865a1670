package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReferenceIsCurrent fails when docs/config.md or Pulumi.yaml's config
// block differs from what `make docs` generates from this package.
func TestReferenceIsCurrent(t *testing.T) {
	root := filepath.Join("..", "..")
	files, err := ReferenceFiles(root)
	require.NoError(t, err)
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(root, name))
		require.NoError(t, err)
		if diff := firstDifference(string(got), want); diff != "" {
			t.Errorf("%s is stale (%s): run `make docs` and commit the result", name, diff)
		}
	}
}

// firstDifference names the first line where got and want differ, or "".
func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d is %q, make docs writes %q", i+1, gl, wl)
		}
	}
	return ""
}

// TestReferenceDocumentsEveryField walks the config types: every field a
// stack file can set has a doc comment, so the generated reference has no
// empty meaning, and every project key is in it.
func TestReferenceDocumentsEveryField(t *testing.T) {
	fields, err := Reference(".")
	require.NoError(t, err)
	keys := map[string]bool{}
	for _, f := range fields {
		keys[f.Key] = true
		assert.NotEmpty(t, f.Doc, "%s has no doc comment", f.Key)
		assert.NotContains(t, f.Doc, "Default:", "%s: the Default sentence must end with a period", f.Key)
	}
	for _, k := range KnownKeys() {
		assert.True(t, keys[k], "project key %s missing from the reference", k)
	}
	for _, k := range []string{"gcp:project", "gcp:zone", "apps[].queue.maxJobSeconds", "apps[].queue.warm[].start", "cost.bursts.perDay"} {
		assert.True(t, keys[k], "%s missing from the reference", k)
	}
	// Every json field of every struct reachable from Config is listed.
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			if typ.Kind() == reflect.Slice {
				prefix += "[]"
			}
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct {
			return
		}
		for i := range typ.NumField() {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			assert.True(t, keys[prefix+"."+name], "%s.%s missing from the reference", prefix, name)
			walk(prefix+"."+name, typ.Field(i).Type)
		}
	}
	c := reflect.TypeOf(Config{})
	for _, name := range []string{"Cluster", "CPUPool", "GPUPool", "Registry", "Apps", "Ingress", "Cost", "Local"} {
		f, _ := c.FieldByName(name)
		walk(topKey(fieldDoc(t, "Config."+name)), f.Type)
	}
}

func fieldDoc(t *testing.T, name string) string {
	t.Helper()
	comments, err := fieldComments(".")
	require.NoError(t, err)
	return comments[name]
}

// TestReferenceDefaultsComeFromDefaults: a default shown is the one the
// program applies, not a copy.
func TestReferenceDefaultsComeFromDefaults(t *testing.T) {
	fields, err := Reference(".")
	require.NoError(t, err)
	byKey := map[string]Field{}
	for _, f := range fields {
		byKey[f.Key] = f
	}
	d := Defaults("stack")
	assert.Equal(t, d.CPUPool.MachineType, byKey["cpuPool.machineType"].Default)
	assert.Equal(t, "platform-<stack>", byKey["cluster.name"].Default)
	assert.Equal(t, "3600", byKey["apps[].queue.maxJobSeconds"].Default)
	assert.Equal(t, "/healthz", byKey["apps[].healthPath"].Default)
	assert.Equal(t, "map of strings", byKey["apps[].env"].Type)
	assert.Equal(t, "list of objects", byKey["apps[].queue.warm"].Type)
}
