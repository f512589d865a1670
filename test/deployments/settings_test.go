// Package deployments checks how stacks get deployed: the Pulumi Deployments
// settings bodies in .ci/deployments, the one-deployer-per-stack switch in
// .ci/deployers and the workflows that follow it.
package deployments

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

const root = "../.."

type settings struct {
	ExecutorContext struct {
		ExecutorImage struct {
			Reference string `json:"reference"`
		} `json:"executorImage"`
	} `json:"executorContext"`
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
		PullRequestTemplate bool     `json:"pullRequestTemplate"`
		Paths               []string `json:"paths"`
	} `json:"gitHub"`
	OperationContext struct {
		PreRunCommands       []string          `json:"preRunCommands"`
		EnvironmentVariables map[string]string `json:"environmentVariables"`
		Options              struct {
			SkipInstallDependencies bool   `json:"skipInstallDependencies"`
			Shell                   string `json:"shell"`
			DeleteAfterDestroy      bool   `json:"deleteAfterDestroy"`
		} `json:"options"`
		OIDC struct {
			GCP struct {
				ProjectID      string `json:"projectId"`
				WorkloadPoolID string `json:"workloadPoolId"`
				ProviderID     string `json:"providerId"`
				ServiceAccount string `json:"serviceAccount"`
				TokenLifetime  string `json:"tokenLifetime"`
			} `json:"gcp"`
		} `json:"oidc"`
	} `json:"operationContext"`
}

func load(t *testing.T, stack string) (settings, string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, ".ci", "deployments", stack+".json"))
	require.NoError(t, err)
	var s settings
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	// A misspelt field would be ignored by the API: refuse it here.
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&s))
	return s, string(raw)
}

// route runs .ci/route.sh, as the workflows do, on a deployers file.
func route(t *testing.T, file string) (map[string]string, error) {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join(root, ".ci", "route.sh"), file)
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return nil, &routeError{msg: string(ee.Stderr)}
		}
		return nil, err
	}
	outputs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, "route.sh printed %q, not key=value", line)
		outputs[k] = v
	}
	return outputs, nil
}

type routeError struct{ msg string }

func (e *routeError) Error() string { return e.msg }

// matches is the paths filter's glob: "dir/**" matches below dir; otherwise filepath.Match.
func matches(pattern, path string) bool {
	if dir, ok := strings.CutSuffix(pattern, "/**"); ok {
		return strings.HasPrefix(path, dir+"/")
	}
	ok, _ := filepath.Match(pattern, path)
	return ok
}

// Each stack's Deployments settings agree with its line in .ci/deployers, so
// exactly one mechanism updates it; every body enforces the policy pack.
func TestDeploymentSettingsFollowTheSwitch(t *testing.T) {
	deployers, err := route(t, filepath.Join(root, ".ci", "deployers"))
	require.NoError(t, err)
	// The shipped choice: the workflows keep dev -> prod promotion with an
	// approval gate; review stacks exist only on Pulumi Deployments.
	assert.Equal(t, map[string]string{"dev": "actions", "prod": "actions", "pr": "deployments", "actions_stacks": `["dev","prod"]`}, deployers)

	for _, stack := range []string{"dev", "prod", "pr"} {
		t.Run(stack, func(t *testing.T) {
			s, raw := load(t, stack)
			template := stack == "pr"
			onDeployments := deployers[stack] == "deployments"
			assert.Equal(t, "refs/heads/main", s.SourceContext.Git.Branch)
			switch {
			case template:
				require.True(t, onDeployments, "review stacks exist only on Pulumi Deployments")
				assert.True(t, s.GitHub.PullRequestTemplate, "pr is the review stacks' template")
				assert.False(t, s.GitHub.DeployCommits, "the template itself is never deployed")
				assert.False(t, s.GitHub.PreviewPullRequests)
				assert.True(t, s.OperationContext.Options.DeleteAfterDestroy, "a closed PR's stack is removed, not just emptied")
			case onDeployments:
				assert.True(t, s.GitHub.DeployCommits, "%s is on Pulumi Deployments: it deploys on push", stack)
				assert.True(t, s.GitHub.PreviewPullRequests)
				assert.False(t, s.GitHub.PullRequestTemplate)
			default:
				assert.False(t, s.GitHub.DeployCommits, "%s is deployed by deploy.yml: Deployments must not race it", stack)
				assert.False(t, s.GitHub.PreviewPullRequests, "%s is previewed by preview.yml", stack)
				assert.False(t, s.GitHub.PullRequestTemplate)
			}

			// The pack on the Deployments path: the CLI reads any flag from
			// PULUMI_OPTION_<FLAG> (v3.208.0+, pulumi/pulumi pkg/cmd/pulumi/pulumi.go
			// declareFlagsAsEnvironmentVariables), and the e2e proves it on the real CLI.
			pack := s.OperationContext.EnvironmentVariables["PULUMI_OPTION_POLICY_PACK"]
			require.NotEmpty(t, pack, "every deployment must run the policy pack")
			assert.Contains(t, s.OperationContext.PreRunCommands, programBuild(t)+" -o "+pack+" ./policy", "the pack it names is built first")
			// With the budget and usage it enforces, from the reviewed policy config.
			config := s.OperationContext.EnvironmentVariables["PULUMI_OPTION_POLICY_PACK_CONFIG"]
			assert.Equal(t, "policy/config/"+stack+".json", config)
			assert.FileExists(t, filepath.Join(root, config))
			// With the language host's flags (the Makefile's PROGRAM_BUILD), so
			// the CLI's own build of the buildTarget compiles nothing again.
			assert.Contains(t, s.OperationContext.PreRunCommands, programBuild(t)+" -o bin/gke-gpu-platform .", "builds the program's buildTarget")
			assert.Equal(t, "pulumi/pulumi:${PULUMI_VERSION}", s.ExecutorContext.ExecutorImage.Reference,
				"the pinned CLI (tools/versions.env; apply.sh fills it in, and it must be >= 3.208.0, which reads PULUMI_OPTION_*)")

			gcp := s.OperationContext.OIDC.GCP
			assert.NotEmpty(t, gcp.WorkloadPoolID)
			assert.NotEmpty(t, gcp.ProviderID)
			assert.Contains(t, gcp.ServiceAccount, ".iam.gserviceaccount.com")
			for _, secret := range []string{"private_key", "BEGIN ", "pul-", "accessToken"} {
				assert.NotContains(t, raw, secret, "no secret may be committed")
			}

			// Every file that changes what the program deploys triggers it; docs do not.
			for _, path := range []string{"main.go", "go.mod", "go.sum", "Pulumi.yaml", "Pulumi." + stack + ".yaml",
				"components/nodepool.go", "internal/config/config.go", "stacks/platform.go", "internal/cost/prices.json", "policy/rules.go", "apps/backend/main.go"} {
				hit := false
				for _, p := range s.GitHub.Paths {
					hit = hit || matches(p, path)
				}
				assert.True(t, hit, "a change to %s must trigger a deployment of %s", path, stack)
			}
			for _, path := range []string{"README.md", "docs/deploy.md"} {
				require.FileExists(t, filepath.Join(root, path))
				for _, p := range s.GitHub.Paths {
					assert.False(t, matches(p, path), "%s must not deploy %s (pattern %s)", path, stack, p)
				}
			}
		})
	}
}

func TestRouteScript(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		want    map[string]string
		wantErr string
	}{
		{name: "dev moved to Deployments",
			file: "dev deployments\nprod actions\npr deployments\n",
			want: map[string]string{"dev": "deployments", "prod": "actions", "pr": "deployments", "actions_stacks": `["prod"]`}},
		{name: "comments and blank lines",
			file: "# stack deployer\n\ndev actions\n",
			want: map[string]string{"dev": "actions", "actions_stacks": `["dev"]`}},
		{name: "nothing on actions",
			file: "pr deployments\n",
			want: map[string]string{"pr": "deployments", "actions_stacks": `[]`}},
		{name: "unknown deployer", file: "dev jenkins\n", wantErr: "stack dev has deployer 'jenkins'; allowed: actions, deployments"},
		{name: "missing deployer", file: "dev\n", wantErr: "stack dev has deployer ''; allowed: actions, deployments"},
		{name: "two deployers", file: "dev actions\ndev deployments\n", wantErr: "stack dev is listed twice; one deployer per stack"},
		{name: "extra field", file: "dev actions deployments\n", wantErr: "line for stack dev has extra fields: deployments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "deployers")
			require.NoError(t, os.WriteFile(file, []byte(tt.file), 0o644))
			got, err := route(t, file)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

type workflow struct {
	Jobs map[string]struct {
		Needs    any               `yaml:"needs"`
		If       string            `yaml:"if"`
		Outputs  map[string]string `yaml:"outputs"`
		Strategy struct {
			Matrix map[string]any `yaml:"matrix"`
		} `yaml:"strategy"`
		Steps []struct {
			ID   string            `yaml:"id"`
			Run  string            `yaml:"run"`
			Uses string            `yaml:"uses"`
			With map[string]string `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func loadWorkflow(t *testing.T, name string) workflow {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, ".github", "workflows", name))
	require.NoError(t, err)
	var w workflow
	require.NoError(t, yaml.Unmarshal(raw, &w))
	return w
}

// The workflows deploy and preview only the stacks .ci/deployers gives them.
func TestWorkflowsFollowTheSwitch(t *testing.T) {
	for _, name := range []string{"deploy.yml", "preview.yml"} {
		w := loadWorkflow(t, name)
		r, ok := w.Jobs["route"]
		require.True(t, ok, "%s needs a route job", name)
		require.NotEmpty(t, r.Steps)
		assert.Equal(t, `bash .ci/route.sh >> "$GITHUB_OUTPUT"`, r.Steps[len(r.Steps)-1].Run, name)
	}

	deploy := loadWorkflow(t, "deploy.yml")
	for _, stack := range []string{"dev", "prod"} {
		job, ok := deploy.Jobs[stack]
		require.True(t, ok)
		assert.Contains(t, job.If, "needs.route.outputs."+stack+" == 'actions'", "deploy.yml must skip %s when Deployments owns it", stack)
		assert.Equal(t, "${{ steps.route.outputs."+stack+" }}", deploy.Jobs["route"].Outputs[stack])
		var up bool
		for _, step := range job.Steps {
			if strings.HasPrefix(step.Uses, "pulumi/actions@") {
				up = true
				assert.Equal(t, "up", step.With["command"])
				assert.Equal(t, "${{ vars.PULUMI_ORG }}/"+stack, step.With["stack-name"])
				assert.Equal(t, "bin/policy-pack", step.With["policyPacks"], "the same pack on the workflow path")
				assert.Equal(t, "policy/config/"+stack+".json", step.With["policyPackConfigs"], "with the stack's policy config")
			}
		}
		assert.True(t, up, "the %s job runs pulumi up", stack)
	}

	preview := loadWorkflow(t, "preview.yml")
	job := preview.Jobs["preview"]
	assert.Equal(t, "${{ fromJSON(needs.route.outputs.stacks) }}", job.Strategy.Matrix["stack"], "preview.yml previews the stacks on actions only")
	assert.Equal(t, "${{ steps.route.outputs.actions_stacks }}", preview.Jobs["route"].Outputs["stacks"])
	for _, step := range job.Steps {
		if strings.HasPrefix(step.Uses, "pulumi/actions@") {
			assert.Equal(t, "policy/config/${{ matrix.stack }}.json", step.With["policyPackConfigs"])
		}
	}
}

// programBuild is the Makefile's PROGRAM_BUILD: the one way the project
// compiles the program.
func programBuild(t *testing.T) string {
	t.Helper()
	mk, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^PROGRAM_BUILD := (.+)$`).FindSubmatch(mk)
	require.NotNil(t, m, "Makefile sets PROGRAM_BUILD")
	assert.Contains(t, string(m[1]), "-trimpath", "the language host's flags")
	return string(m[1])
}
