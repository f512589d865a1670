package components

import (
	"fmt"
	"sync"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/artifactregistry"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/organizations"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// RegistryArgs configures an Artifact Registry Docker repository.
type RegistryArgs struct {
	// Project is the Google Cloud project ID.
	Project string
	// Location is the repository's region; the cluster's region keeps pulls free of egress.
	Location string
	// RepositoryID is the repository's name.
	RepositoryID string
	// KeepVersions is how many of the most recent versions of each image the
	// cleanup policy keeps; older ones are deleted (storage is billed per GB).
	KeepVersions int
	// Readers are IAM members allowed to pull, e.g. "serviceAccount:nodes@...".
	Readers []pulumi.StringInput
}

// Registry is a Docker repository with a cleanup policy and pull access for the nodes.
type Registry struct {
	pulumi.ResourceState

	// URL is the image prefix: <region>-docker.pkg.dev/<project>/<repository>.
	URL pulumi.StringOutput `pulumi:"url"`
	// Server is the registry host, <region>-docker.pkg.dev.
	Server string `pulumi:"-"`

	pushOnce sync.Once
	push     docker.RegistryPtrInput
}

// NewRegistry creates the repository and grants its readers.
func NewRegistry(ctx *pulumi.Context, name string, args *RegistryArgs, opts ...pulumi.ResourceOption) (*Registry, error) {
	r := &Registry{Server: args.Location + "-docker.pkg.dev"}
	if err := ctx.RegisterComponentResource("gke-gpu-platform:index:Registry", name, r, opts...); err != nil {
		return nil, err
	}
	parent := childOf(r, opts)

	repo, err := artifactregistry.NewRepository(ctx, name, &artifactregistry.RepositoryArgs{
		Project:      pulumi.String(args.Project),
		Location:     pulumi.String(args.Location),
		RepositoryId: pulumi.String(args.RepositoryID),
		Format:       pulumi.String("DOCKER"),
		Description:  pulumi.String("Images of the gke-gpu-platform apps"),
		// Cleanup runs for real: KEEP wins over DELETE, so everything but the
		// newest versions goes once it is a week old.
		CleanupPolicyDryRun: pulumi.Bool(false),
		CleanupPolicies: artifactregistry.RepositoryCleanupPolicyArray{
			&artifactregistry.RepositoryCleanupPolicyArgs{
				Id:     pulumi.String("keep-most-recent"),
				Action: pulumi.String("KEEP"),
				MostRecentVersions: &artifactregistry.RepositoryCleanupPolicyMostRecentVersionsArgs{
					KeepCount: pulumi.Int(args.KeepVersions),
				},
			},
			&artifactregistry.RepositoryCleanupPolicyArgs{
				Id:     pulumi.String("delete-old"),
				Action: pulumi.String("DELETE"),
				Condition: &artifactregistry.RepositoryCleanupPolicyConditionArgs{
					TagState:  pulumi.String("ANY"),
					OlderThan: pulumi.String("604800s"),
				},
			},
		},
	}, parent)
	if err != nil {
		return nil, err
	}
	for i, reader := range args.Readers {
		if _, err := artifactregistry.NewRepositoryIamMember(ctx, fmt.Sprintf("%s-reader-%d", name, i), &artifactregistry.RepositoryIamMemberArgs{
			Project:    repo.Project,
			Location:   repo.Location,
			Repository: repo.Name,
			Role:       pulumi.String("roles/artifactregistry.reader"),
			Member:     reader,
		}, parent); err != nil {
			return nil, err
		}
	}

	r.URL = pulumi.Sprintf("%s/%s/%s", r.Server, repo.Project, repo.RepositoryId)
	return r, ctx.RegisterResourceOutputs(r, pulumi.Map{"url": r.URL})
}

// DockerRegistry returns push credentials for docker.Image: a short-lived
// OAuth token of whoever runs Pulumi (gcloud auth application-default), so
// no JSON key exists anywhere.
// One token serves every image of the run.
func (r *Registry) DockerRegistry(ctx *pulumi.Context) docker.RegistryPtrInput {
	r.pushOnce.Do(func() {
		token := organizations.GetClientConfigOutput(ctx, pulumi.Parent(r)).AccessToken()
		r.push = docker.RegistryArgs{
			Server:   pulumi.String(r.Server),
			Username: pulumi.String("oauth2accesstoken"),
			Password: pulumi.ToSecret(token).(pulumi.StringOutput),
		}
	})
	return r.push
}
