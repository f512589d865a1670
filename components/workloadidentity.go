package components

import (
	"fmt"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/projects"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/serviceaccount"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// WorkloadIdentityArgs give one Kubernetes service account a Google identity.
type WorkloadIdentityArgs struct {
	// Project is the Google Cloud project ID (its workload pool is <project>.svc.id.goog).
	Project string
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
// known as to Google: serviceAccount:<project>.svc.id.goog[<namespace>/<ksa>].
func WorkloadIdentityMember(project, namespace, serviceAccount string) string {
	return fmt.Sprintf("serviceAccount:%s.svc.id.goog[%s/%s]", project, namespace, serviceAccount)
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
		Member:           pulumi.String(WorkloadIdentityMember(args.Project, args.Namespace, args.ServiceAccount)),
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
