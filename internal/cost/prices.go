// Package cost estimates what a stack costs per month, idle and busy, from
// its typed config and a price table kept as data in this folder
// (prices.json: every price with its source and the date it was read).
package cost

import (
	_ "embed"
	"encoding/json"
	"fmt"
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

// Prices is the whole table for one region.
type Prices struct {
	Region        string  `json:"region"`
	Currency      string  `json:"currency"`
	HoursPerMonth float64 `json:"hoursPerMonth"`
	GKE           struct {
		ClusterPerHour   Price `json:"clusterPerHour"`
		FreeTierPerMonth Price `json:"freeTierPerMonth"`
	} `json:"gke"`
	Machines              map[string]HourlyPrice `json:"machines"`
	Accelerators          map[string]HourlyPrice `json:"accelerators"`
	Disks                 map[string]DiskPrice   `json:"disks"`
	ForwardingRulePerHour Price                  `json:"forwardingRulePerHour"`
	StaticIPPerHour       Price                  `json:"staticIpPerHour"`
	ArtifactRegistry      struct {
		PerGBMonth Price `json:"perGbMonth"`
		FreeGB     Price `json:"freeGb"`
	} `json:"artifactRegistry"`
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
