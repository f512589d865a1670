package machine

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Allocatable follows GKE's documented reservations; the expected figures
// are worked by hand from plan-node-sizes, and checked against what GKE
// documents and nodes report.
func TestAllocatable(t *testing.T) {
	tests := []struct {
		machine string
		want    Resources
	}{
		// 1000m - 6%; 3840Mi - 25% (960) - 100 eviction.
		{"n1-standard-1", Resources{940, 2780}},
		// 4000m - (60 + 10 + 10): 3920m, as GKE's docs show for a 4-vCPU node.
		// 15360Mi - (1024 + 819.2 + 716.8) - 100.
		{"n1-standard-4", Resources{3920, 12700}},
		// 2000m - (60 + 10); 7680Mi - (1024 + 716.8, rounded up) - 100.
		{"n1-standard-2", Resources{1930, 5839}},
		// Shared-core E2: 1,060m reserved in total; 4096Mi - 1024 - 100.
		{"e2-medium", Resources{940, 2972}},
		// Exactly 1 GiB is not "less than 1 GiB": 25% of it, 256Mi.
		{"e2-micro", Resources{940, 668}},
		// 8 vCPU: 60 + 10 + 10 + 4000 x 0.25% = 90m;
		// 32 GiB: 1024 + 819.2 + 819.2 + 16384 x 6% (983.04) = 3645.44, rounded up, + 100.
		{"g2-standard-8", Resources{7910, 29022}},
	}
	for _, tt := range tests {
		t.Run(tt.machine, func(t *testing.T) {
			s, ok := Lookup(tt.machine)
			require.True(t, ok)
			assert.Equal(t, tt.want, s.Allocatable())
		})
	}
}

// The two inputs the fit check exists for: one does not fit, the other fits
// once it asks for less.
func TestForPods(t *testing.T) {
	n1s1, _ := Lookup("n1-standard-1")
	assert.False(t, Resources{MilliCPU: 1000, MemoryMiB: 128}.Fits(n1s1.ForPods(false)), "a 1-CPU pod never fits an n1-standard-1 node")
	assert.True(t, Resources{MilliCPU: 100, MemoryMiB: 128}.Fits(n1s1.ForPods(false)))
	n1s4, _ := Lookup("n1-standard-4")
	assert.False(t, Resources{MilliCPU: 4000, MemoryMiB: 14 * 1024}.Fits(n1s4.ForPods(true)), "4 CPU / 14Gi never fits an n1-standard-4 GPU node")
	assert.True(t, Resources{MilliCPU: 1000, MemoryMiB: 2048}.Fits(n1s4.ForPods(true)))
	assert.Less(t, n1s4.ForPods(true).MilliCPU, n1s4.ForPods(false).MilliCPU, "GPU nodes also run the driver installer and device plugin")
}
