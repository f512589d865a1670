package accelerator

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckMachine(t *testing.T) {
	tests := []struct {
		accelerator, machine string
		count                int
		wantErr              string
	}{
		{"nvidia-tesla-t4", "n1-standard-4", 1, ""},
		{"nvidia-tesla-t4", "n1-highmem-8", 4, ""},
		{"nvidia-tesla-t4", "n1-standard-4", 3, "nvidia-tesla-t4 can be attached 1, 2, 4 per node, not 3"},
		{"nvidia-tesla-t4", "e2-standard-4", 1, `nvidia-tesla-t4 attaches only to n1-* machine types, not "e2-standard-4"`},
		{"nvidia-tesla-v100", "n1-standard-8", 8, ""},
		{"nvidia-l4", "g2-standard-8", 1, ""},
		{"nvidia-l4", "g2-standard-24", 2, ""},
		{"nvidia-l4", "g2-standard-24", 1, "g2-standard-24 carries exactly 2 x nvidia-l4, not 1"},
		{"nvidia-l4", "g2-custom-4", 1, `nvidia-l4 comes bundled with one of g2-standard-12,`},
		{"nvidia-tesla-a100", "a2-highgpu-2g", 2, ""},
		{"nvidia-h100-80gb", "a3-highgpu-8g", 8, ""},
		{"nvidia-a100-80gb", "a2-highgpu-1g", 1, `nvidia-a100-80gb comes bundled with one of a2-ultragpu-1g`},
	}
	for _, tt := range tests {
		t.Run(tt.accelerator+"/"+tt.machine, func(t *testing.T) {
			a, ok := Lookup(tt.accelerator)
			require.True(t, ok)
			err := a.CheckMachine(tt.machine, tt.count)
			if tt.wantErr == "" {
				assert.NoError(t, err)
			} else {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
			}
		})
	}
}

func TestTypesAreSortedAndKnown(t *testing.T) {
	types := Types()
	assert.IsIncreasing(t, types)
	for _, typ := range types {
		_, ok := Lookup(typ)
		assert.True(t, ok, typ)
	}
	_, ok := Lookup("nvidia-tesla-k80")
	assert.False(t, ok, "K80s are retired")
}

func TestFamily(t *testing.T) {
	assert.Equal(t, "n1", Family("n1-standard-1"))
	assert.Equal(t, "g2", Family("g2-standard-4"))
}

func TestCheckZone(t *testing.T) {
	tests := []struct {
		accelerator, zone string
		wantErr           string
	}{
		{"nvidia-tesla-t4", "us-central1-a", ""},
		{"nvidia-tesla-t4", "us-east1-c", ""},
		// The published example: T4 in us-east1-c and -d, not -b.
		{"nvidia-tesla-t4", "us-east1-b", "nvidia-tesla-t4 is not offered in zone us-east1-b; in us-east1 it is offered in us-east1-c, us-east1-d"},
		{"nvidia-l4", "us-east1-b", ""},
		{"nvidia-l4", "us-central1-f", "in us-central1 it is offered in us-central1-a, us-central1-b, us-central1-c"},
		{"nvidia-tesla-a100", "us-east1-c", "in us-east1 it is offered in us-east1-b"},
		{"nvidia-h100-80gb", "us-east1-b", "nvidia-h100-80gb is not offered in any zone of us-east1; regions that offer it: asia-east1,"},
		{"nvidia-tesla-p4", "europe-west1-b", "regions that offer it: asia-southeast1, australia-southeast1, europe-west4,"},
	}
	for _, tt := range tests {
		t.Run(tt.accelerator+"/"+tt.zone, func(t *testing.T) {
			a, ok := Lookup(tt.accelerator)
			require.True(t, ok)
			err := a.CheckZone(tt.zone)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.Contains(t, err.Error(), ZonesSource, "the error says how current its table is")
		})
	}
}

// Every accelerator in the catalog has zones, and every zone is well formed.
func TestZoneTableCoversTheCatalog(t *testing.T) {
	for _, typ := range Types() {
		a, _ := Lookup(typ)
		require.NotEmpty(t, a.Zones(), typ)
		for _, z := range a.Zones() {
			assert.Regexp(t, `^[a-z]+-[a-z]+[0-9]+-[a-z]$`, z, typ)
		}
	}
	assert.Equal(t, "us-east1", Region("us-east1-c"))
}
