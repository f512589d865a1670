package config

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// Whatever text a stack sets for one of the program's keys, on top of a
// real stack file, Load does not panic: it returns a config, or an error
// whose every line names a key of the stack ("gke-gpu-platform:<key>...")
// or the stack itself. `make fuzz` runs it for a bounded time; go test
// runs the seeds (every key of Pulumi.dev.yaml and Pulumi.local.yaml, and
// malformed values).
func FuzzLoad(f *testing.F) {
	base := map[string]map[string]string{}
	for _, stack := range []string{"dev", "local"} {
		values, err := StackFileConfig("../..", stack)
		if err != nil {
			f.Fatal(err)
		}
		base[stack] = values
		for key, v := range values {
			f.Add(stack, key, v)
		}
	}
	for _, bad := range []string{``, `{`, `[]`, `null`, `{"apps": 1}`, `[{"name": "x", "gpu": -1}]`, `[{"queue": {"leaseSeconds": 1e99}}]`,
		`[{"name": "a", "image": "a:1", "resources": {"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}}]`, "\x00", `"é"`} {
		f.Add("local", ConfigNamespace+":apps", bad)
		f.Add("dev", ConfigNamespace+":gpuPool", bad)
	}
	keys := KnownKeys()
	f.Fuzz(func(t *testing.T, stack, key, value string) {
		values, ok := base[stack]
		if !ok {
			return
		}
		if !strings.HasPrefix(key, ConfigNamespace+":") {
			key = ConfigNamespace + ":" + keys[len(key)%len(keys)]
		}
		edited := maps.Clone(values)
		edited[key] = value
		_, err := Load(Values(edited), stack, slices.Sorted(maps.Keys(edited)), ForReport)
		if err == nil {
			return
		}
		lines := strings.Split(err.Error(), "\n")
		if !strings.HasPrefix(lines[0], "invalid stack config for ") {
			t.Fatalf("error without its stack: %v", err)
		}
		for _, line := range lines[1:] {
			if !strings.Contains(line, ConfigNamespace+":") && !strings.Contains(line, "gcp:") && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t") {
				t.Fatalf("an error line names no key: %q\nin: %v", line, err)
			}
		}
	})
}
