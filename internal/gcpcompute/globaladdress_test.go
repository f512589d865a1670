package gcpcompute

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// The address must ask for the same provider version as the typed SDK
// resources, or the engine would start a second gcp provider.
func TestProviderVersionMatchesGoMod(t *testing.T) {
	gomod, err := os.ReadFile("../../go.mod")
	require.NoError(t, err)
	m := regexp.MustCompile(`github.com/pulumi/pulumi-gcp/sdk/v7 v(\S+)`).FindSubmatch(gomod)
	require.NotNil(t, m, "go.mod must require pulumi-gcp")
	require.Equal(t, string(m[1]), ProviderVersion)
}
