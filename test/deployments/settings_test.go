// Package deployments checks the Pulumi Deployments settings bodies in
// .ci/deployments: what triggers a deployment, what runs before it, and
// that nothing secret is committed.
package deployments

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type settings struct {
	SourceContext struct {
		Git struct {
			Branch  string `json:"branch"`
			RepoDir string `json:"repoDir"`
		} `json:"git"`
	} `json:"sourceContext"`
	GitHub struct {
		Repository          string   `json:"repository"`
		DeployCommits       bool     `json:"deployCommits"`
		PreviewPullRequests bool     `json:"previewPullRequests"`
		Paths               []string `json:"paths"`
	} `json:"gitHub"`
	OperationContext struct {
		PreRunCommands       []string          `json:"preRunCommands"`
		EnvironmentVariables map[string]string `json:"environmentVariables"`
		OIDC                 struct {
			GCP struct {
				ProjectID      string `json:"projectId"`
				WorkloadPoolID string `json:"workloadPoolId"`
				ProviderID     string `json:"providerId"`
				ServiceAccount string `json:"serviceAccount"`
			} `json:"gcp"`
		} `json:"oidc"`
	} `json:"operationContext"`
}

func load(t *testing.T, stack string) (settings, string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", ".ci", "deployments", stack+".json"))
	require.NoError(t, err)
	var s settings
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	require.NoError(t, dec.Decode(&s))
	return s, string(raw)
}

// matches is the paths filter's glob: "dir/**" matches below dir; otherwise filepath.Match.
func matches(pattern, path string) bool {
	if dir, ok := strings.CutSuffix(pattern, "/**"); ok {
		return strings.HasPrefix(path, dir+"/")
	}
	ok, _ := filepath.Match(pattern, path)
	return ok
}

func TestDeploymentSettings(t *testing.T) {
	tests := []struct {
		stack         string
		deployCommits bool
		stackFile     string
	}{
		{stack: "dev", deployCommits: true, stackFile: "Pulumi.dev.yaml"},
		{stack: "prod", deployCommits: false, stackFile: "Pulumi.prod.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.stack, func(t *testing.T) {
			s, raw := load(t, tt.stack)
			assert.Equal(t, "refs/heads/main", s.SourceContext.Git.Branch)
			assert.Equal(t, tt.deployCommits, s.GitHub.DeployCommits, "push-to-deploy")
			assert.True(t, s.GitHub.PreviewPullRequests, "every PR gets a preview")
			assert.Contains(t, s.OperationContext.PreRunCommands, "go build -o bin/gke-gpu-platform .", "builds the program's buildTarget")
			assert.Contains(t, s.OperationContext.PreRunCommands, "go build -o bin/policy-pack ./policy")
			gcp := s.OperationContext.OIDC.GCP
			assert.NotEmpty(t, gcp.WorkloadPoolID)
			assert.NotEmpty(t, gcp.ProviderID)
			assert.Contains(t, gcp.ServiceAccount, ".iam.gserviceaccount.com")
			for _, secret := range []string{"private_key", "BEGIN ", "pul-", "accessToken"} {
				assert.NotContains(t, raw, secret, "no secret may be committed")
			}

			// Every file that changes what the program deploys triggers it;
			// docs do not.
			for _, path := range []string{"main.go", "go.mod", "go.sum", "Pulumi.yaml", tt.stackFile,
				"components/nodepool.go", "stacks/config.go", "internal/cost/prices.json", "policy/rules.go", "apps/backend/main.go"} {
				hit := false
				for _, p := range s.GitHub.Paths {
					hit = hit || matches(p, path)
				}
				assert.True(t, hit, "a change to %s must trigger a deployment of %s", path, tt.stack)
			}
			for _, path := range []string{"README.md", "docs/design.md"} {
				for _, p := range s.GitHub.Paths {
					assert.False(t, matches(p, path), "%s must not deploy %s (pattern %s)", path, tt.stack, p)
				}
			}
		})
	}
}
