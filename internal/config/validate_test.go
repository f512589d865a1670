package config

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A request equal to its limit is what Guaranteed QoS asks for: allowed.
// One above it is what the API server refuses: reported, in any units.
func TestRequestsWithinLimits(t *testing.T) {
	tests := []struct {
		name string
		r    ResourcesConfig
		want []string
	}{
		{"equal", ResourcesConfig{CPURequest: "500m", CPULimit: "0.5", MemoryRequest: "1Gi", MemoryLimit: "1024Mi",
			EphemeralStorageRequest: "1Gi", EphemeralStorageLimit: "1Gi"}, nil},
		{"every pair above", ResourcesConfig{CPURequest: "2", CPULimit: "1", MemoryRequest: "2G", MemoryLimit: "1Gi",
			EphemeralStorageRequest: "2Gi", EphemeralStorageLimit: "1Gi"}, []string{
			"a.resources.cpuRequest = 2: must be <= resources.cpuLimit (1)",
			"a.resources.memoryRequest = 2G: must be <= resources.memoryLimit (1Gi)",
			"a.resources.ephemeralStorageRequest = 2Gi: must be <= resources.ephemeralStorageLimit (1Gi)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			validateRequestsWithinLimits(func(key string, value any, rule string, args ...any) {
				got = append(got, fmt.Sprintf("%s = %v: ", key, value)+fmt.Sprintf(rule, args...))
			}, "a", tt.r)
			assert.Len(t, got, len(tt.want))
			for i := range min(len(got), len(tt.want)) {
				assert.Contains(t, got[i], tt.want[i])
			}
		})
	}
}

// Three apps with the same typo give three errors, each naming its app and
// the field it probably meant.
func TestEveryAppsTypoIsReportedAtOnce(t *testing.T) {
	_, err := Load(Values{
		"gcp:project": "p", "gcp:zone": "us-central1-a",
		ConfigNamespace + ":apps": `[{"name": "a", "image": "x", "prot": 80}, {"name": "b", "image": "x", "prot": 81},
			{"name": "c", "image": "x", "queue": {"nmae": "jobs"}}]`,
	}, "dev", nil, ForReport)
	require.Error(t, err)
	for _, want := range []string{
		`gke-gpu-platform:apps[0]: unknown field "prot" (did you mean "port"?) (in "a")`,
		`gke-gpu-platform:apps[1]: unknown field "prot" (did you mean "port"?) (in "b")`,
		`gke-gpu-platform:apps[2]: unknown field "nmae" (did you mean "name"?) (in "c")`,
	} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = Load(Values{ConfigNamespace + ":cluster": `{"zzzzzz": 1}`}, "dev", nil, ForReport)
	assert.ErrorContains(t, err, `gke-gpu-platform:cluster: unknown field "zzzzzz" (see docs/config.md for every field)`)
}

// A rule broken inside one app names the app, not only its position.
func TestAppErrorsNameTheApp(t *testing.T) {
	_, err := Load(Values{
		"gcp:project": "acme-one", "gcp:zone": "us-central1-a",
		ConfigNamespace + ":apps": `[{"name": "web", "image": "x:1", "port": 8080},
			{"name": "render", "image": "x:1", "port": 8080, "queue": {}}]`,
	}, "dev", nil, ForReport)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `gke-gpu-platform:apps[1].port = 8080: a queue-driven app is a worker`)
	assert.Contains(t, err.Error(), `drop port or queue (in "render")`)
	assert.NotContains(t, err.Error(), `(in "web")`, "only the app at fault")
}
