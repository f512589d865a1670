// Package accelerator is the catalog of GPU types the platform knows how to
// attach to a GKE node pool: which machine family each one needs and how many
// GPUs a node of a given machine type can carry.
//
// Compute Engine only accepts certain (machine type, accelerator, count)
// combinations; checking them here turns a 10-minute failed node-pool create
// into an error at preview time.
package accelerator

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Accelerator describes one GPU model as Compute Engine names it.
type Accelerator struct {
	// Type is the Compute Engine accelerator type, e.g. "nvidia-tesla-t4".
	Type string
	// Family is the machine family the GPU attaches to ("n1", "g2", "a2", "a3").
	Family string
	// Counts are the per-node GPU counts allowed on an attachable family (n1).
	// Empty for bundled families, where the machine type fixes the count.
	Counts []int
	// Bundled maps machine types of a bundled family to their fixed GPU count.
	Bundled map[string]int
}

// catalog is keyed by accelerator type. Sources: cloud.google.com/compute/docs/gpus
// (read 2026-11). Which zones offer each one is in zones.go.
var catalog = map[string]Accelerator{
	"nvidia-tesla-t4":   {Type: "nvidia-tesla-t4", Family: "n1", Counts: []int{1, 2, 4}},
	"nvidia-tesla-p4":   {Type: "nvidia-tesla-p4", Family: "n1", Counts: []int{1, 2, 4}},
	"nvidia-tesla-p100": {Type: "nvidia-tesla-p100", Family: "n1", Counts: []int{1, 2, 4}},
	"nvidia-tesla-v100": {Type: "nvidia-tesla-v100", Family: "n1", Counts: []int{1, 2, 4, 8}},
	"nvidia-l4": {Type: "nvidia-l4", Family: "g2", Bundled: map[string]int{
		"g2-standard-4": 1, "g2-standard-8": 1, "g2-standard-12": 1, "g2-standard-16": 1,
		"g2-standard-32": 1, "g2-standard-24": 2, "g2-standard-48": 4, "g2-standard-96": 8,
	}},
	"nvidia-tesla-a100": {Type: "nvidia-tesla-a100", Family: "a2", Bundled: map[string]int{
		"a2-highgpu-1g": 1, "a2-highgpu-2g": 2, "a2-highgpu-4g": 4, "a2-highgpu-8g": 8,
		"a2-megagpu-16g": 16,
	}},
	"nvidia-a100-80gb": {Type: "nvidia-a100-80gb", Family: "a2", Bundled: map[string]int{
		"a2-ultragpu-1g": 1, "a2-ultragpu-2g": 2, "a2-ultragpu-4g": 4, "a2-ultragpu-8g": 8,
	}},
	"nvidia-h100-80gb": {Type: "nvidia-h100-80gb", Family: "a3", Bundled: map[string]int{
		"a3-highgpu-1g": 1, "a3-highgpu-2g": 2, "a3-highgpu-4g": 4, "a3-highgpu-8g": 8,
	}},
}

// Types lists the known accelerator types, sorted.
func Types() []string {
	return slices.Sorted(maps.Keys(catalog))
}

// Lookup returns the catalog entry for an accelerator type.
func Lookup(acceleratorType string) (Accelerator, bool) {
	a, ok := catalog[acceleratorType]
	return a, ok
}

// Family returns the machine family of a machine type: "n1" for "n1-standard-4".
func Family(machineType string) string {
	family, _, _ := strings.Cut(machineType, "-")
	return family
}

// CheckMachine reports whether count GPUs of this accelerator fit a node of
// machineType. The error says what would be allowed instead.
func (a Accelerator) CheckMachine(machineType string, count int) error {
	if Family(machineType) != a.Family {
		return fmt.Errorf("%s attaches only to %s-* machine types, not %q", a.Type, a.Family, machineType)
	}
	if len(a.Bundled) > 0 {
		want, ok := a.Bundled[machineType]
		if !ok {
			return fmt.Errorf("%s comes bundled with one of %s, not %q", a.Type, strings.Join(slices.Sorted(maps.Keys(a.Bundled)), ", "), machineType)
		}
		if count != want {
			return fmt.Errorf("%s carries exactly %d x %s, not %d", machineType, want, a.Type, count)
		}
		return nil
	}
	for _, c := range a.Counts {
		if c == count {
			return nil
		}
	}
	return fmt.Errorf("%s can be attached %s per node, not %d", a.Type, joinInts(a.Counts), count)
}

// bootDisks are the Persistent Disk types a family's VMs boot from, of the
// three the platform offers. G2 and A3 take no pd-standard. Sources:
// https://cloud.google.com/compute/docs/accelerator-optimized-machines
// (supported disk types per series), read 2026-12-03; families not listed
// take all three.
var bootDisks = map[string][]string{
	"g2": {"pd-balanced", "pd-ssd"},
	"a3": {"pd-balanced", "pd-ssd"},
}

// CheckBootDisk reports whether a machine type's VMs boot from diskType.
func CheckBootDisk(machineType, diskType string) error {
	allowed, listed := bootDisks[Family(machineType)]
	if !listed || slices.Contains(allowed, diskType) {
		return nil
	}
	return fmt.Errorf("%s machine types boot from %s only, not %s", Family(machineType), strings.Join(allowed, " or "), diskType)
}

func joinInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, ", ")
}
