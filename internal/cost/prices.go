// Package cost estimates what a stack costs per month, idle and busy, from
// its typed config and a price table kept as data in this folder
// (prices.json: every price with its source and the date it was read).
package cost

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

//go:embed prices.json
var pricesJSON []byte

// Price is one figure with where it came from. Guess marks a figure that was
// derived or assumed rather than read off a price list; reports say so.
type Price struct {
	Price  float64 `json:"price"`
	Source string  `json:"source"`
	Read   string  `json:"read"`
	Guess  bool    `json:"guess"`
}

// HourlyPrice is a machine or GPU price per hour, on demand and on Spot.
type HourlyPrice struct {
	OnDemand      float64 `json:"onDemand"`
	Spot          float64 `json:"spot"`
	Source        string  `json:"source"`
	Read          string  `json:"read"`
	OnDemandGuess bool    `json:"onDemandGuess"`
	SpotGuess     bool    `json:"spotGuess"`
}

// For returns the price per hour and whether it is a guess.
func (h HourlyPrice) For(spot bool) (float64, bool) {
	if spot {
		return h.Spot, h.SpotGuess
	}
	return h.OnDemand, h.OnDemandGuess
}

// DiskPrice is a persistent disk price per GB-month.
type DiskPrice struct {
	PerGBMonth float64 `json:"perGbMonth"`
	Source     string  `json:"source"`
	Read       string  `json:"read"`
	Guess      bool    `json:"guess"`
}

// SustainedUse is Compute Engine's automatic discount for on-demand VMs of
// some machine families that run a large part of the month.
type SustainedUse struct {
	Source string `json:"source"`
	Read   string `json:"read"`
	// Families maps a machine family ("n1") to its tiers: the share of the
	// base rate billed in each quarter of the month (N1: 1, 0.8, 0.6, 0.4).
	Families map[string]struct {
		Tiers  []float64 `json:"tiers"`
		Source string    `json:"source"`
		Guess  bool      `json:"guess"`
	} `json:"families"`
	// GPUsOn are the families whose attached GPUs get the same discount.
	GPUsOn []string `json:"gpusOn"`
}

// Factor is the share of the base rate paid by one VM of family that runs
// fraction (0..1) of the month, and whether the family's tiers are a guess;
// 1 for families without a discount.
func (s SustainedUse) Factor(family string, fraction float64) (float64, bool) {
	f, ok := s.Families[family]
	if !ok || fraction <= 0 {
		return 1, false
	}
	fraction = min(fraction, 1)
	quarter := 1 / float64(len(f.Tiers))
	paid := 0.0
	for i, tier := range f.Tiers {
		used := min(max(fraction-float64(i)*quarter, 0), quarter)
		paid += used * tier
	}
	return paid / fraction, f.Guess
}

// Prices is the whole table for one region.
type Prices struct {
	Region        string       `json:"region"`
	Currency      string       `json:"currency"`
	HoursPerMonth float64      `json:"hoursPerMonth"`
	SustainedUse  SustainedUse `json:"sustainedUse"`
	GKE           struct {
		ClusterPerHour   Price `json:"clusterPerHour"`
		FreeTierPerMonth Price `json:"freeTierPerMonth"`
	} `json:"gke"`
	Machines              map[string]HourlyPrice `json:"machines"`
	Accelerators          map[string]HourlyPrice `json:"accelerators"`
	Disks                 map[string]DiskPrice   `json:"disks"`
	NodeExternalIPPerHour HourlyPrice            `json:"nodeExternalIpPerHour"`
	ForwardingRulePerHour Price                  `json:"forwardingRulePerHour"`
	StaticIPPerHour       Price                  `json:"staticIpPerHour"`
	BurstTimings          BurstTimings           `json:"burstTimings"`
	CloudNAT              struct {
		PerVMHour  Price `json:"perVmHour"`
		MaxPerHour Price `json:"maxPerHour"`
		PerGB      Price `json:"perGb"`
		IPPerHour  Price `json:"ipPerHour"`
	} `json:"cloudNat"`
	Autopilot        AutopilotPrices               `json:"autopilot"`
	ServerlessGPU    map[string]ServerlessGPUPrice `json:"serverlessGpu"`
	ArtifactRegistry struct {
		PerGBMonth Price `json:"perGbMonth"`
		FreeGB     Price `json:"freeGb"`
	} `json:"artifactRegistry"`
	CloudStorage struct {
		StandardPerGBMonth Price `json:"standardPerGbMonth"`
		ClassAPer1000      Price `json:"classAPer1000"`
		ClassBPer1000      Price `json:"classBPer1000"`
	} `json:"cloudStorage"`
	// FlexStartDiscount is the share off the on-demand price of a
	// flex-start node's vCPUs, memory and GPUs.
	FlexStartDiscount Price `json:"flexStartDiscount"`
}

// LoadPrices parses the embedded table.
func LoadPrices() (*Prices, error) {
	var p Prices
	if err := json.Unmarshal(pricesJSON, &p); err != nil {
		return nil, fmt.Errorf("internal/cost/prices.json: %w", err)
	}
	return &p, nil
}

func (p *Prices) machine(key, machineType string) (HourlyPrice, error) {
	m, ok := p.Machines[machineType]
	if !ok {
		return HourlyPrice{}, fmt.Errorf("%s = %q: no price for this machine type in internal/cost/prices.json; add it (with its source) or pick one of %s", key, machineType, sortedNames(p.Machines))
	}
	return m, nil
}

func (p *Prices) accelerator(key, acceleratorType string) (HourlyPrice, error) {
	a, ok := p.Accelerators[acceleratorType]
	if !ok {
		return HourlyPrice{}, fmt.Errorf("%s = %q: no price for this GPU in internal/cost/prices.json; add it (with its source) or pick one of %s", key, acceleratorType, sortedNames(p.Accelerators))
	}
	return a, nil
}

func (p *Prices) disk(key, diskType string) (DiskPrice, error) {
	d, ok := p.Disks[diskType]
	if !ok {
		return DiskPrice{}, fmt.Errorf("%s = %q: no price for this disk type in internal/cost/prices.json", key, diskType)
	}
	return d, nil
}

// CheaperMachine returns the cheapest priced machine type of the same
// family as current that costs less per hour and for which fits is true,
// with how much less per hour; ok is false when there is none.
func (p *Prices) CheaperMachine(current string, spot bool, fits func(machineType string) bool) (machineType string, savingPerHour float64, ok bool) {
	now, found := p.Machines[current]
	if !found {
		return "", 0, false
	}
	base, _ := now.For(spot)
	family := func(t string) string { f, _, _ := strings.Cut(t, "-"); return f }
	best := base
	for _, t := range slices.Sorted(maps.Keys(p.Machines)) {
		price, _ := p.Machines[t].For(spot)
		if family(t) != family(current) || price >= best || !fits(t) {
			continue
		}
		machineType, best, ok = t, price, true
	}
	return machineType, base - best, ok
}
