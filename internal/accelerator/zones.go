package accelerator

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ZonesSource says where the zone table comes from and when it was read.
// Google's own table is cloud.google.com/compute/docs/gpus/gpu-regions-zones;
// this copy is the SkyPilot catalog, which is generated from the Compute
// Engine API (`gcloud compute accelerator-types list`), so it can be diffed:
// github.com/skypilot-org/skypilot-catalog, catalogs/v7/gcp/vms.csv at
// 6f65ab58724c0a5b17dbb81ee124e7d7dee0d4a5, GPU rows, read 2026-11-25.
// Offered is not in stock: a listed zone can still run out (Spot first).
const ZonesSource = "SkyPilot catalog v7 (6f65ab5) of Compute Engine accelerator types, read 2026-11-25"

// zones lists, per accelerator type, every zone that offers it.
var zones = map[string][]string{
	"nvidia-tesla-t4": {
		"asia-east1-a", "asia-east1-c", "asia-east2-a", "asia-east2-c", "asia-northeast1-a", "asia-northeast1-c",
		"asia-northeast3-b", "asia-northeast3-c", "asia-south1-a", "asia-south1-b", "asia-southeast1-a",
		"asia-southeast1-b", "asia-southeast1-c", "asia-southeast2-a", "asia-southeast2-b", "australia-southeast1-a",
		"australia-southeast1-c", "europe-central2-b", "europe-central2-c", "europe-west1-b", "europe-west1-c",
		"europe-west1-d", "europe-west2-a", "europe-west2-b", "europe-west3-b", "europe-west4-a", "europe-west4-b",
		"europe-west4-c", "me-west1-b", "me-west1-c", "northamerica-northeast1-c", "southamerica-east1-a",
		"southamerica-east1-c", "us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f", "us-east1-c",
		"us-east1-d", "us-east4-a", "us-east4-b", "us-east4-c", "us-west1-a", "us-west1-b", "us-west2-b",
		"us-west2-c", "us-west3-b", "us-west4-a", "us-west4-b",
	},
	"nvidia-tesla-p4": {
		"asia-southeast1-b", "asia-southeast1-c", "australia-southeast1-a", "australia-southeast1-b",
		"europe-west4-b", "europe-west4-c", "northamerica-northeast1-a", "northamerica-northeast1-b",
		"northamerica-northeast1-c", "us-central1-a", "us-central1-c", "us-east4-a", "us-east4-b", "us-east4-c",
		"us-west2-b", "us-west2-c",
	},
	"nvidia-tesla-p100": {
		"asia-east1-a", "asia-east1-c", "australia-southeast1-b", "europe-west1-b", "europe-west1-d",
		"europe-west4-a", "us-central1-c", "us-central1-f", "us-east1-b", "us-east1-c", "us-west1-a", "us-west1-b",
	},
	"nvidia-tesla-v100": {
		"asia-east1-c", "europe-west4-a", "europe-west4-b", "europe-west4-c", "us-central1-a", "us-central1-b",
		"us-central1-c", "us-central1-f", "us-east1-c", "us-west1-a", "us-west1-b",
	},
	"nvidia-l4": {
		"asia-east1-a", "asia-east1-b", "asia-east1-c", "asia-northeast1-a", "asia-northeast1-b",
		"asia-northeast1-c", "asia-northeast3-a", "asia-northeast3-b", "asia-south1-a", "asia-south1-b",
		"asia-south1-c", "asia-southeast1-a", "asia-southeast1-b", "asia-southeast1-c", "europe-west1-b",
		"europe-west1-c", "europe-west2-a", "europe-west2-b", "europe-west3-a", "europe-west3-b", "europe-west4-a",
		"europe-west4-b", "europe-west4-c", "europe-west6-b", "europe-west6-c", "me-central2-a", "me-central2-c",
		"northamerica-northeast2-a", "northamerica-northeast2-b", "us-central1-a", "us-central1-b",
		"us-central1-c", "us-east1-b", "us-east1-c", "us-east1-d", "us-east4-a", "us-east4-c", "us-west1-a",
		"us-west1-b", "us-west1-c", "us-west4-a", "us-west4-c",
	},
	"nvidia-tesla-a100": {
		"asia-northeast1-a", "asia-northeast1-c", "asia-northeast3-a", "asia-northeast3-b", "asia-southeast1-b",
		"asia-southeast1-c", "europe-west4-a", "europe-west4-b", "me-west1-a", "me-west1-b", "me-west1-c",
		"us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f", "us-east1-b", "us-west1-b",
		"us-west3-b", "us-west4-b",
	},
	"nvidia-a100-80gb": {
		"asia-southeast1-c", "europe-west4-a", "us-central1-a", "us-central1-c", "us-east4-c", "us-east5-b",
	},
	// a3-highgpu zones; the catalog's H100 rows also hold a3-edgegpu-only
	// zones (asia-northeast3-a/c, asia-south1-c, europe-west2-b,
	// northamerica-northeast2-c), which the a3-highgpu machines here cannot use.
	"nvidia-h100-80gb": {
		"asia-east1-c", "asia-northeast1-b", "asia-southeast1-b", "asia-southeast1-c", "australia-southeast1-c",
		"europe-north1-c", "europe-west1-b", "europe-west1-c", "europe-west3-a", "europe-west3-c",
		"europe-west4-b", "europe-west4-c", "us-central1-a", "us-central1-b", "us-central1-c",
		"us-east4-a", "us-east4-b", "us-east4-c", "us-east5-a", "us-west1-a", "us-west1-b", "us-west4-a",
	},
}

// Region is a location's region: "us-east1" for the zone "us-east1-c", and
// a region itself ("us-central1", a regional cluster's location) unchanged.
func Region(location string) string {
	if i := strings.LastIndex(location, "-"); i > 0 && len(location)-i == 2 {
		return location[:i]
	}
	return location
}

// Zones returns the zones that offer the accelerator, sorted.
func (a Accelerator) Zones() []string {
	return slices.Sorted(slices.Values(zones[a.Type]))
}

// CheckZone reports whether the accelerator is offered in zone; the error
// names the zones of the same region that do offer it, or, when none does,
// the regions that have it.
func (a Accelerator) CheckZone(zone string) error {
	all := zones[a.Type]
	if slices.Contains(all, zone) {
		return nil
	}
	region := Region(zone)
	var inRegion []string
	regions := map[string]bool{}
	for _, z := range all {
		if Region(z) == region {
			inRegion = append(inRegion, z)
		}
		regions[Region(z)] = true
	}
	if len(inRegion) > 0 {
		slices.Sort(inRegion)
		return fmt.Errorf("%s is not offered in zone %s; in %s it is offered in %s (%s)",
			a.Type, zone, region, strings.Join(inRegion, ", "), ZonesSource)
	}
	return fmt.Errorf("%s is not offered in any zone of %s; regions that offer it: %s (%s)",
		a.Type, region, strings.Join(slices.Sorted(maps.Keys(regions)), ", "), ZonesSource)
}
