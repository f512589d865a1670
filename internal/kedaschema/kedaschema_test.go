package kedaschema

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The checker itself, against KEDA's real schema: each mistake it exists
// to catch is caught, and a correct trigger passes.
func TestCheckCatchesMistakes(t *testing.T) {
	s, err := Load()
	require.NoError(t, err)
	// The schema is the pinned module's (loopback/cluster/go.mod; its
	// version is held to tools/versions.env by test/toolchain).
	require.Regexp(t, `^v2\.\d+\.\d+$`, s.Module)
	tests := []struct {
		name    string
		trigger Trigger
		want    []string
	}{
		{name: "a correct redis trigger", trigger: Trigger{Type: "redis", Metadata: map[string]string{
			"address": "127.0.0.1:6379", "listName": "jobs", "listLength": "1", "activationListLength": "0"}}},
		{name: "a misspelt key", trigger: Trigger{Type: "redis", Metadata: map[string]string{
			"address": "127.0.0.1:6379", "listName": "jobs", "listLenght": "1"}},
			want: []string{`redis: unknown metadata key "listLenght"`}},
		{name: "a missing required key", trigger: Trigger{Type: "redis", Metadata: map[string]string{"address": "127.0.0.1:6379"}},
			want: []string{`redis: required metadata key "listName" is missing`}},
		{name: "a value outside the allowed set", trigger: Trigger{Type: "azure-queue", Metadata: map[string]string{
			"queueName": "q", "accountName": "a", "queueLengthStrategy": "visible"}},
			want: []string{`azure-queue: queueLengthStrategy = "visible": allowed all, visibleonly`}},
		{name: "a removed key", trigger: Trigger{Type: "gcp-pubsub", Metadata: map[string]string{"subscriptionSize": "5", "subscriptionName": "s"}},
			want: []string{`gcp-pubsub: "subscriptionSize": The 'subscriptionSize' setting is DEPRECATED and is removed in v2.20 - Use 'mode' and 'value' instead`}},
		{name: "no such scaler", trigger: Trigger{Type: "gcp-pub-sub"}, want: []string{`trigger type "gcp-pub-sub" is no KEDA ` + s.Module + ` scaler`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := s.Check(tt.trigger)
			assert.Equal(t, tt.want, got)
		})
	}
}
