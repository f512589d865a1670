package config

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
)

// cloudNATRule is the source of the rule natConflicts enforces.
const cloudNATRule = "https://cloud.google.com/compute/docs/reference/rest/v1/routers"

// natConflicts names each other stack that would put a Cloud NAT on the same
// subnetwork as self: Cloud NAT serves a subnet's IP ranges from one gateway
// only, so the second stack's `pulumi up` would fail half-way, after its
// cluster exists. others are the project's other stacks, by name.
func natConflicts(self Config, others map[string]Config) []error {
	if !self.Cluster.PrivateNodes {
		return nil
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(others)) {
		o := others[name]
		if !o.Cluster.PrivateNodes || o.Project != self.Project || o.Region() != self.Region() ||
			o.Cluster.Network != self.Cluster.Network || o.NodeSubnetwork() != self.NodeSubnetwork() {
			continue
		}
		errs = append(errs, fmt.Errorf("cluster.subnetwork: %q (network %q, %s, project %q) already gets a Cloud NAT from stack %q (Pulumi.%s.yaml, cluster.privateNodes true); "+
			"one subnetwork's ranges can be served by one NAT gateway only (%s): give one stack another cluster.subnetwork, or set cluster.privateNodes false on one",
			self.NodeSubnetwork(), self.Cluster.Network, self.Region(), self.Project, name, name, cloudNATRule))
	}
	return errs
}

// siblingStacks loads the other stack files in dir (Pulumi.<stack>.yaml).
// A file that does not load is left out: its own stack reports it.
func siblingStacks(dir, self string) map[string]Config {
	paths, _ := filepath.Glob(filepath.Join(dir, "Pulumi.*.yaml"))
	out := map[string]Config{}
	for _, p := range paths {
		stack := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "Pulumi."), ".yaml")
		if stack == self {
			continue
		}
		values, err := StackFileConfig(dir, stack)
		if err != nil {
			continue
		}
		if cfg, err := Load(Values(values), stack, nil, ForReport); err == nil {
			out[stack] = cfg
		}
	}
	return out
}

// checkSiblings fails when the stack collides with another stack file in dir.
// Only a stack with private nodes can collide, so only it reads the others.
func checkSiblings(cfg Config, dir string) error {
	if !cfg.Cluster.PrivateNodes {
		return nil
	}
	if errs := natConflicts(cfg, siblingStacks(dir, cfg.Stack)); len(errs) > 0 {
		return fmt.Errorf("invalid stack config for %q:\n%w", cfg.Stack, errors.Join(errs...))
	}
	return nil
}
