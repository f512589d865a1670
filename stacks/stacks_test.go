package stacks

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
	"github.com/gke-gpu-platform/gke-gpu-platform/internal/graphtest"
)

// Resource types the tests look up.
const (
	clusterType      = "gcp:container/cluster:Cluster"
	nodePoolType     = "gcp:container/nodePool:NodePool"
	accountType      = "gcp:serviceaccount/account:Account"
	iamMemberType    = "gcp:projects/iAMMember:IAMMember"
	repoType         = "gcp:artifactregistry/repository:Repository"
	repoIAMType      = "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember"
	imageType        = "docker:index/image:Image"
	deploymentType   = "kubernetes:apps/v1:Deployment"
	serviceType      = "kubernetes:core/v1:Service"
	ingressType      = "kubernetes:networking.k8s.io/v1:Ingress"
	namespaceType    = "kubernetes:core/v1:Namespace"
	scaledObjectType = "kubernetes:keda.sh/v1alpha1:ScaledObject"
	computeClassType = "kubernetes:cloud.google.com/v1:ComputeClass"
	k8sProvider      = "pulumi:providers:kubernetes"
	addressType      = "gcp:compute/globalAddress:GlobalAddress"
)

// userSecrets is what a user sets once per stack (make local sets the local
// stack's) with
// `pulumi config set --secret --path 'gke-gpu-platform:secrets.enqueueToken' ...`,
// as the engine passes it (a stack file holds it encrypted).
const userSecrets = `{"enqueueToken": "[secret]"}`

// stackConfig reads the real Pulumi.<stack>.yaml plus the secrets a user
// sets, then applies edits (key -> value; "" deletes the key).
func stackConfig(t *testing.T, stack string, edits map[string]string) map[string]string {
	t.Helper()
	cfg, err := config.StackFileConfig("..", stack)
	require.NoError(t, err)
	if _, set := cfg["gke-gpu-platform:secrets"]; !set {
		cfg["gke-gpu-platform:secrets"] = userSecrets
	}
	for k, v := range edits {
		if v == "" {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	return cfg
}

// runStack runs the whole program for a stack under mocks.
func runStack(t *testing.T, stack string, edits map[string]string) *graphtest.Graph {
	t.Helper()
	g, err := graphtest.Run(t, Program, stack, stackConfig(t, stack, edits))
	require.NoError(t, err)
	return g
}

// named returns a resource by type and name.
func named(t *testing.T, g *graphtest.Graph, typ, name string) graphtest.Resource {
	t.Helper()
	r, ok := g.Named(typ, name)
	require.True(t, ok, "no %s named %s", typ, name)
	return r
}
