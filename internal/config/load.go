package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
)

// objectKeys are the project-namespace keys holding JSON objects or lists,
// each decoded strictly into its field.
func (c *Config) objectKeys() map[string]any {
	return map[string]any{
		"cluster":  &c.Cluster,
		"cpuPool":  &c.CPUPool,
		"gpuPool":  &c.GPUPool,
		"registry": &c.Registry,
		"apps":     &c.Apps,
		"ingress":  &c.Ingress,
		"cost":     &c.Cost,
		"local":    &c.Local,
		"budget":   &c.Budget,
		"alerts":   &c.Alerts,
		"secrets":  &c.Secrets,
	}
}

// scalarKeys are the project-namespace keys holding plain strings.
func (c *Config) scalarKeys() map[string]*string {
	return map[string]*string{
		"platform":  &c.Platform,
		"namespace": &c.Namespace,
	}
}

// KnownKeys lists every key of the project namespace, sorted.
func KnownKeys() []string {
	var c Config
	keys := slices.Collect(maps.Keys(c.objectKeys()))
	keys = append(keys, slices.Collect(maps.Keys(c.scalarKeys()))...)
	slices.Sort(keys)
	return keys
}

// Source is where config values come from: the engine's context (a
// *pulumi.Context has this method), or a stack file read without the engine.
type Source interface {
	// GetConfig returns the value of a full key ("gke-gpu-platform:apps") and
	// whether the stack sets it.
	GetConfig(key string) (string, bool)
}

// Engine is the engine's side of a running program or policy pack: a
// *pulumi.Context. This package names only the methods it calls, so that it
// compiles without the Pulumi SDK.
type Engine interface {
	Source
	// Stack is the stack's name.
	Stack() string
}

// FromEngine reads, defaults and validates the config of the stack the
// engine runs, to deploy it, and checks it against the other stack files of
// the project directory (the engine's working directory). It registers
// nothing; on error the program stops before any resource exists.
func FromEngine(e Engine) (Config, error) {
	cfg, err := Load(e, e.Stack(), EngineKeys(), ForDeploy)
	if err != nil {
		return Config{}, err
	}
	if err := checkSiblings(cfg, "."); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// EngineKeys returns every config key of the stack when the language
// host passed them in PULUMI_CONFIG (the CLI, Deployments and CI do); nil
// otherwise (inline Automation API programs), where the check is skipped.
func EngineKeys() []string {
	raw := os.Getenv("PULUMI_CONFIG")
	if raw == "" {
		return nil
	}
	var all map[string]string
	if err := json.Unmarshal([]byte(raw), &all); err != nil {
		return nil
	}
	return slices.Collect(maps.Keys(all))
}

// Why a config is loaded: to deploy it, or for a report (make cost, the
// policy pack's view), which needs no secret values.
const (
	// ForDeploy: the secrets apps name must be set.
	ForDeploy = true
	// ForReport: no secret value is needed (make cost, the policy pack's view).
	ForReport = false
)

// Load reads the stack's config from src onto Defaults(stack), decodes each
// key strictly, and validates the whole. setKeys, when not nil, are every key
// the stack sets (unknown ones are errors); deploy is ForDeploy or ForReport.
// Every error is returned at once, joined, each naming key, value and rule.
func Load(src Source, stack string, setKeys []string, deploy bool) (Config, error) {
	cfg := Defaults(stack)
	cfg.deploy = deploy
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}

	known := map[string]bool{}
	for _, k := range KnownKeys() {
		known[k] = true
	}
	for _, full := range setKeys {
		ns, key, ok := strings.Cut(full, ":")
		if !ok || ns != ConfigNamespace {
			continue
		}
		// The engine passes object keys' paths as the whole object, so a
		// dotted sub-key never appears here.
		if !known[key] {
			fail("%s:%s: unknown config key%s; known keys are %s", ConfigNamespace, key, didYouMean(key, KnownKeys()), strings.Join(KnownKeys(), ", "))
		}
	}

	for key, field := range cfg.scalarKeys() {
		// Empty is Pulumi.yaml's declared default: keep the program's.
		if v, ok := src.GetConfig(ConfigNamespace + ":" + key); ok && v != "" {
			*field = v
		}
	}
	for key, field := range cfg.objectKeys() {
		v, ok := src.GetConfig(ConfigNamespace + ":" + key)
		if !ok {
			continue
		}
		if err := decodeKey(key, v, field); err != nil {
			errs = append(errs, err)
		}
	}
	cfg.secretsInClear = clearSecrets(src, cfg.Secrets)
	if v, ok := src.GetConfig("gcp:project"); ok {
		cfg.Project = v
	}
	if v, ok := src.GetConfig("gcp:zone"); ok {
		cfg.Zone = v
	}
	for i := range cfg.Apps {
		appDefaults(&cfg.Apps[i])
	}
	for i := range cfg.GPUPool.Fallbacks {
		fallbackDefaults(&cfg.GPUPool.Fallbacks[i])
	}
	sharingDefaults(cfg.GPUPool.Sharing)
	budgetDefaults(&cfg)
	alertsDefaults(&cfg)
	cfg.useLocalImages()

	if len(errs) == 0 {
		errs = cfg.validate()
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("invalid stack config for %q:\n%w", stack, errors.Join(errs...))
	}
	return cfg, nil
}

// secretSource is a config source that knows which keys are secret (the
// engine's context does).
type secretSource interface {
	IsConfigSecret(key string) bool
}

// clearSecrets names the secrets the stack holds unencrypted.
func clearSecrets(src Source, secrets map[string]string) []string {
	var clear []string
	for _, name := range slices.Sorted(maps.Keys(secrets)) {
		switch s, ok := src.(secretSource); {
		case ok && !s.IsConfigSecret(ConfigNamespace+":secrets"):
			clear = append(clear, name)
		case !ok && secrets[name] != secretPlaceholder:
			clear = append(clear, name)
		}
	}
	return clear
}

// didYouMean is ` (did you mean "x"?)` for the known name closest to name,
// when one is within two edits; "" otherwise.
func didYouMean(name string, known []string) string {
	best, bestDistance := "", 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(name), strings.ToLower(k)); d < bestDistance {
			best, bestDistance = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
