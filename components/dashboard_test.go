package components

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The dashboard's body is a mosaic of two tiles a row, every chart a
// filter the Monitoring API reads, with GPU charts only when DCGM is on.
func TestDashboardJSON(t *testing.T) {
	for _, gpuMetrics := range []bool{false, true} {
		body, err := DashboardJSON(&DashboardArgs{Cluster: "platform-dev", Subscriptions: []string{"platform-dev-gpu-jobs"},
			GPUPoolPrefix: "gpu", GPUMetrics: gpuMetrics, Budget: "250 USD"})
		require.NoError(t, err)
		var d struct {
			DisplayName  string `json:"displayName"`
			MosaicLayout struct {
				Columns int `json:"columns"`
				Tiles   []struct {
					XPos, YPos, Width, Height int
					Widget                    map[string]any `json:"widget"`
				} `json:"tiles"`
			} `json:"mosaicLayout"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &d))
		assert.Equal(t, "platform-dev: GPUs and queues", d.DisplayName)
		titles := map[string]bool{}
		for _, tile := range d.MosaicLayout.Tiles {
			assert.LessOrEqual(t, tile.XPos+tile.Width, d.MosaicLayout.Columns, "a tile fits the mosaic")
			titles[tile.Widget["title"].(string)] = true
		}
		for _, want := range []string{"Jobs waiting, per queue", "Oldest job's age (s), per queue", "Jobs dead-lettered, per minute", "GPU nodes up", "Spend against the budget"} {
			assert.True(t, titles[want], want)
		}
		assert.Equal(t, gpuMetrics, titles["GPU utilisation (%), per GPU"], "DCGM charts only with gpuMetrics")
		assert.Contains(t, body, `resource.label.subscription_id=one_of(\"platform-dev-gpu-jobs\")`)
	}
}
