// Package kedaschema checks KEDA triggers against the scaler schema that
// KEDA itself ships (schema/generated/scalers-schema.json in
// github.com/kedacore/keda/v2), at the version the platform pins in
// loopback/cluster/go.mod: unknown metadata keys, missing required ones, values
// outside a parameter's allowed set and parameters KEDA has removed.
//
// It is a test helper: it runs `go mod download`, which needs the Go module
// proxy (or a module cache that holds KEDA's module).
package kedaschema

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Parameter is one scaler parameter as KEDA's schema describes it.
type Parameter struct {
	Name     string   `json:"name"`
	Optional bool     `json:"optional"`
	Default  *string  `json:"default"`
	Allowed  []string `json:"allowedValue"`
	// Deprecated is set on parameters KEDA has removed or will remove.
	Deprecated string `json:"deprecated"`
	// DeprecatedAnnounce is set when the whole scaler is being retired.
	DeprecatedAnnounce string `json:"deprecatedAnnounce"`
	Separator          string `json:"separator"`
	FromMetadata       bool   `json:"metadataVariableReadable"`
	FromEnv            bool   `json:"envVariableReadable"`
	FromAuth           bool   `json:"triggerAuthenticationVariableReadable"`
}

// Schema is KEDA's scaler schema of one KEDA version.
type Schema struct {
	// Module is the KEDA module version the schema came from, e.g. v2.21.0.
	Module  string
	scalers map[string][]Parameter
}

// Load reads the schema of the KEDA version pinned in loopback/cluster/go.mod.
func Load() (*Schema, error) {
	toolsDir, err := clusterModuleDir()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("go", "mod", "download", "-json", "github.com/kedacore/keda/v2")
	cmd.Dir = toolsDir
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go mod download github.com/kedacore/keda/v2 (in %s): %w", toolsDir, err)
	}
	var mod struct{ Dir, Version string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return nil, fmt.Errorf("go mod download gave no module directory: %s", out)
	}
	return LoadFile(filepath.Join(mod.Dir, "schema", "generated", "scalers-schema.json"), mod.Version)
}

// LoadFile reads a scalers-schema.json.
func LoadFile(path, version string) (*Schema, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var file struct {
		Scalers []struct {
			Type       string      `json:"type"`
			Parameters []Parameter `json:"parameters"`
		} `json:"scalers"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s := &Schema{Module: version, scalers: map[string][]Parameter{}}
	for _, sc := range file.Scalers {
		s.scalers[sc.Type] = sc.Parameters
	}
	if len(s.scalers) == 0 {
		return nil, fmt.Errorf("%s: no scalers", path)
	}
	return s, nil
}

// Trigger is one entry of a ScaledObject's or ScaledJob's spec.triggers.
type Trigger struct {
	Type     string
	Metadata map[string]string
	// HasAuth is true when the trigger names a TriggerAuthentication, which
	// may supply parameters KEDA reads from one.
	HasAuth bool
}

// Check returns every way the trigger disagrees with the schema, plus the
// scaler's retirement announcement as a separate note (not an error).
func (s *Schema) Check(t Trigger) (problems []string, notes []string) {
	params, ok := s.scalers[t.Type]
	if !ok {
		return []string{fmt.Sprintf("trigger type %q is no KEDA %s scaler", t.Type, s.Module)}, nil
	}
	byName := map[string]Parameter{}
	for _, p := range params {
		byName[p.Name] = p
		if p.DeprecatedAnnounce != "" && !slices.Contains(notes, p.DeprecatedAnnounce) {
			notes = append(notes, p.DeprecatedAnnounce)
		}
	}
	keys := make([]string, 0, len(t.Metadata))
	for k := range t.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := t.Metadata[k]
		p, known := byName[k]
		if !known {
			// <name>FromEnv reads a parameter from the target's environment.
			if base, ok := strings.CutSuffix(k, "FromEnv"); ok && byName[base].FromEnv {
				continue
			}
			problems = append(problems, fmt.Sprintf("%s: unknown metadata key %q", t.Type, k))
			continue
		}
		if !p.FromMetadata {
			problems = append(problems, fmt.Sprintf("%s: %q is not read from metadata (only from a TriggerAuthentication or the environment)", t.Type, k))
		}
		if p.Deprecated != "" {
			problems = append(problems, fmt.Sprintf("%s: %q: %s", t.Type, k, p.Deprecated))
		}
		if len(p.Allowed) > 0 && !allowed(p, v) {
			problems = append(problems, fmt.Sprintf("%s: %s = %q: allowed %s", t.Type, k, v, strings.Join(p.Allowed, ", ")))
		}
	}
	for _, p := range params {
		if p.Optional || p.Default != nil || !p.FromMetadata {
			continue
		}
		if _, set := t.Metadata[p.Name]; set {
			continue
		}
		if _, set := t.Metadata[p.Name+"FromEnv"]; set && p.FromEnv {
			continue
		}
		if p.FromAuth && t.HasAuth {
			continue
		}
		problems = append(problems, fmt.Sprintf("%s: required metadata key %q is missing", t.Type, p.Name))
	}
	return problems, notes
}

func allowed(p Parameter, v string) bool {
	values := []string{v}
	if p.Separator != "" {
		values = strings.Split(v, p.Separator)
	}
	for _, x := range values {
		if !slices.Contains(p.Allowed, strings.TrimSpace(x)) {
			return false
		}
	}
	return true
}

// Triggers reads spec.triggers of a ScaledObject or ScaledJob given as plain
// JSON-shaped values (map[string]any).
func Triggers(spec map[string]any) ([]Trigger, error) {
	raw, ok := spec["triggers"].([]any)
	if !ok || len(raw) == 0 {
		return nil, fmt.Errorf("spec.triggers is missing or empty")
	}
	var out []Trigger
	for i, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("spec.triggers[%d] is not an object", i)
		}
		typ, _ := m["type"].(string)
		t := Trigger{Type: typ, Metadata: map[string]string{}}
		md, _ := m["metadata"].(map[string]any)
		for k, v := range md {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("spec.triggers[%d].metadata.%s = %v: KEDA takes strings only", i, k, v)
			}
			t.Metadata[k] = s
		}
		_, t.HasAuth = m["authenticationRef"]
		out = append(out, t)
	}
	return out, nil
}

// clusterModuleDir finds loopback/cluster from the working directory up: a
// test runs in its package's directory, somewhere below the project root.
// (Not runtime.Caller: every build here is -trimpath, which leaves source
// paths relative.)
func clusterModuleDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		candidate := filepath.Join(dir, "loopback", "cluster")
		if _, err := os.Stat(filepath.Join(candidate, "go.mod")); err == nil {
			return candidate, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("kedaschema: no loopback/cluster/go.mod above the working directory")
		}
		dir = parent
	}
}
