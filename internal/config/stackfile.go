package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"gopkg.in/yaml.v3"
)

// StackFileConfig reads the config block of Pulumi.<stack>.yaml in dir the
// way the CLI hands it to the program: strings as they are, objects and
// lists as JSON, secrets as an opaque placeholder (nothing here needs them).
func StackFileConfig(dir, stack string) (map[string]string, error) {
	path := filepath.Join(dir, "Pulumi."+stack+".yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var file struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string]string{}
	for key, v := range file.Config {
		if s, ok := v.(string); ok {
			out[key] = s
			continue
		}
		if isSecure(v) {
			out[key] = secretPlaceholder
			continue
		}
		v = hideSecure(v)
		// Objects and lists as JSON; numbers and booleans as their text.
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, key, err)
		}
		out[key] = string(b)
	}
	return out, nil
}

// secretPlaceholder stands for an encrypted value read from a stack file.
const secretPlaceholder = "[secret]"

// isSecure reports whether a YAML value is an encrypted one ({secure: ...}).
func isSecure(v any) bool {
	m, ok := v.(map[string]any)
	return ok && len(m) == 1 && m["secure"] != nil
}

// hideSecure replaces encrypted values inside objects and lists (set with
// --path) with the placeholder.
func hideSecure(v any) any {
	switch t := v.(type) {
	case map[string]any:
		if isSecure(t) {
			return secretPlaceholder
		}
		out := map[string]any{}
		for k, e := range t {
			out[k] = hideSecure(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = hideSecure(e)
		}
		return out
	}
	return v
}

// Values serves config from a map of full keys to values as the engine
// would pass them (objects as JSON text): a Source for files and tests.
type Values map[string]string

// GetConfig returns the value of a full key and whether it is set.
func (m Values) GetConfig(key string) (string, bool) {
	v, ok := m[key]
	return v, ok
}

// LoadStackFile loads and validates a stack's config straight from its file
// for a report: secrets an app names need not be set (a deploy needs them),
// without the engine: for reports (make cost) and tests.
func LoadStackFile(dir, stack string) (Config, error) {
	values, err := StackFileConfig(dir, stack)
	if err != nil {
		return Config{}, err
	}
	cfg, err := Load(Values(values), stack, slices.Sorted(maps.Keys(values)), ForReport)
	if err != nil {
		return Config{}, err
	}
	if err := checkSiblings(cfg, dir); err != nil {
		return Config{}, err
	}
	return cfg, nil
}
