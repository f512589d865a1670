package components

import (
	"fmt"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/projects"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/serviceaccount"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// WorkloadIdentityArgs give one Kubernetes service account a Google identity.
type WorkloadIdentityArgs struct {
	// Project is the Google Cloud project ID the account is created in.
	Project string
	// WorkloadPool is the cluster's Workload Identity pool, <project>.svc.id.goog:
	// pass Cluster.WorkloadPool, the cluster's output, never a string built
	// from the project. The pool exists only once a cluster with Workload
	// Identity does, and IAM refuses a binding to it before that ("Error 400:
	// Identity Pool does not exist",
	// https://github.com/terraform-google-modules/terraform-google-kubernetes-engine/issues/916):
	// the output puts the binding after the cluster in the graph.
	WorkloadPool pulumi.StringInput
	// AccountID is the Google service account's ID: 6-30 lowercase letters,
	// digits or '-', unique in the project.
	AccountID string
	// DisplayName is shown in the console.
	DisplayName string
	// Namespace and ServiceAccount name the Kubernetes service account that
	// may act as the Google one.
	Namespace, ServiceAccount string
	// ProjectRoles are granted on the project (e.g. roles/monitoring.viewer).
	// Grants on single resources (a topic, a subscription) belong to those
	// resources' owners: see Queue.
	ProjectRoles []string
}

// WorkloadIdentity is a Google service account, the roles/iam.workloadIdentityUser
// binding that lets one Kubernetes service account act as it, and its project roles.
// Without the binding, the iam.gke.io/gcp-service-account annotation alone
// gets a pod 403 on its first Google API call.
type WorkloadIdentity struct {
	pulumi.ResourceState

	// Email is the Google service account's email, for the annotation and IAM members.
	Email pulumi.StringOutput `pulumi:"email"`
	// Member is "serviceAccount:<email>", for IAM grants.
	Member pulumi.StringOutput `pulumi:"member"`
}

// WorkloadIdentityMember is the IAM member a Kubernetes service account is
// known as to Google: serviceAccount:<pool>[<namespace>/<ksa>], where pool is
// the cluster's Workload Identity pool output (Cluster.WorkloadPool), so that
// whatever grants to the member waits for the cluster.
// https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity
func WorkloadIdentityMember(pool pulumi.StringInput, namespace, serviceAccount string) pulumi.StringOutput {
	return pulumi.Sprintf("serviceAccount:%s[%s/%s]", pool, namespace, serviceAccount)
}

// NewWorkloadIdentity creates the account, the binding and the grants.
func NewWorkloadIdentity(ctx *pulumi.Context, name string, args *WorkloadIdentityArgs, opts ...pulumi.ResourceOption) (*WorkloadIdentity, error) {
	w := &WorkloadIdentity{}
	if err := ctx.RegisterComponentResource("gke-gpu-platform:index:WorkloadIdentity", name, w, opts...); err != nil {
		return nil, err
	}
	parent := childOf(w, opts)

	account, err := serviceaccount.NewAccount(ctx, name, &serviceaccount.AccountArgs{
		Project:     pulumi.String(args.Project),
		AccountId:   pulumi.String(args.AccountID),
		DisplayName: pulumi.String(args.DisplayName),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := serviceaccount.NewIAMMember(ctx, name+"-workload-identity", &serviceaccount.IAMMemberArgs{
		ServiceAccountId: account.Name,
		Role:             pulumi.String("roles/iam.workloadIdentityUser"),
		Member:           WorkloadIdentityMember(args.WorkloadPool, args.Namespace, args.ServiceAccount),
	}, parent); err != nil {
		return nil, err
	}
	member := pulumi.Sprintf("serviceAccount:%s", account.Email)
	for _, role := range args.ProjectRoles {
		if _, err := projects.NewIAMMember(ctx, fmt.Sprintf("%s-%s", name, roleSlug(role)), &projects.IAMMemberArgs{
			Project: pulumi.String(args.Project),
			Role:    pulumi.String(role),
			Member:  member,
		}, parent); err != nil {
			return nil, err
		}
	}

	w.Email = account.Email
	w.Member = member
	return w, ctx.RegisterResourceOutputs(w, pulumi.Map{"email": w.Email, "member": w.Member})
}
