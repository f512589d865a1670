package stacks

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
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

// configSource is where config values come from: the engine's context, or a
// stack file read without the engine.
type configSource interface {
	GetConfig(key string) (string, bool)
}

// LoadConfig reads, defaults and validates the stack's config. It registers
// nothing; on error the program stops before any resource exists.
func LoadConfig(ctx *pulumi.Context) (Config, error) {
	return loadConfig(ctx, ctx.Stack(), stackConfigKeys(), forDeploy)
}

// stackConfigKeys returns every config key of the stack when the language
// host passed them in PULUMI_CONFIG (the CLI, Deployments and CI do); nil
// otherwise (inline Automation API programs), where the check is skipped.
func stackConfigKeys() []string {
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
	forDeploy = true
	forReport = false
)

func loadConfig(src configSource, stack string, setKeys []string, deploy bool) (Config, error) {
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
			fail("%s:%s: unknown config key; known keys are %s", ConfigNamespace, key, strings.Join(KnownKeys(), ", "))
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
func clearSecrets(src configSource, secrets map[string]string) []string {
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
