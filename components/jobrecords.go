package components

import (
	"fmt"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/storage"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// JobRecordsArgs configure the Cloud Storage bucket that keeps one queue's
// job records (jobs/<id>.json) and results (jobs/<id>/...).
type JobRecordsArgs struct {
	// Project is the Google Cloud project ID.
	Project string
	// Name is the bucket's name: global across Cloud Storage, 3 to 63
	// characters (config.Config.ResultsBucket derives it).
	Name string
	// Location is the bucket's location: the cluster's region, e.g.
	// us-central1, so reads and writes from the nodes cross no region.
	Location string
	// KeepDays is the age in days at which a lifecycle rule deletes an
	// object; soft delete is off, so nothing deleted is kept and billed for
	// another 7 days (https://cloud.google.com/storage/docs/soft-delete).
	KeepDays int
	// Producers are IAM members that create and read job records
	// (roles/storage.objectCreator and roles/storage.objectViewer on this
	// bucket only): a create conditioned on the object not existing, never
	// an overwrite or a delete.
	Producers []pulumi.StringInput
	// Consumers are IAM members that read and update them and write results
	// (roles/storage.objectUser on this bucket only: an update replaces the
	// object, which needs storage.objects.delete).
	Consumers []pulumi.StringInput
	// Labels are GCP labels on the bucket.
	Labels map[string]string
}

// JobRecords is a queue's results bucket with the grants its apps need.
// Roles: https://cloud.google.com/storage/docs/access-control/iam-roles.
type JobRecords struct {
	pulumi.ResourceState

	// Bucket is the bucket's name.
	Bucket pulumi.StringOutput `pulumi:"bucket"`
}

// NewJobRecords creates the bucket (uniform bucket-level access, public
// access prevention enforced) and the grants on it.
func NewJobRecords(ctx *pulumi.Context, name string, args *JobRecordsArgs, opts ...pulumi.ResourceOption) (*JobRecords, error) {
	j := &JobRecords{}
	if err := ctx.RegisterComponentResource("gke-gpu-platform:index:JobRecords", name, j, opts...); err != nil {
		return nil, err
	}
	parent := childOf(j, opts)
	bucket, err := storage.NewBucket(ctx, name, &storage.BucketArgs{
		Project:  pulumi.String(args.Project),
		Name:     pulumi.String(args.Name),
		Location: pulumi.String(args.Location),
		// IAM alone decides access (no object ACLs), and nothing in it can
		// ever be made public (https://cloud.google.com/storage/docs/uniform-bucket-level-access,
		// https://cloud.google.com/storage/docs/public-access-prevention).
		UniformBucketLevelAccess: pulumi.Bool(true),
		PublicAccessPrevention:   pulumi.String("enforced"),
		StorageClass:             pulumi.String("STANDARD"),
		LifecycleRules: storage.BucketLifecycleRuleArray{&storage.BucketLifecycleRuleArgs{
			Action:    &storage.BucketLifecycleRuleActionArgs{Type: pulumi.String("Delete")},
			Condition: &storage.BucketLifecycleRuleConditionArgs{Age: pulumi.Int(args.KeepDays)},
		}},
		SoftDeletePolicy: &storage.BucketSoftDeletePolicyArgs{RetentionDurationSeconds: pulumi.Int(0)},
		// Records expire after KeepDays anyway: a destroy (a review stack's,
		// every time) must not fail on the ones still there.
		ForceDestroy: pulumi.Bool(true),
		Labels:       pulumi.ToStringMap(args.Labels),
	}, parent)
	if err != nil {
		return nil, err
	}
	grant := func(kind string, i int, role string, member pulumi.StringInput) error {
		_, err := storage.NewBucketIAMMember(ctx, fmt.Sprintf("%s-%s-%d-%s", name, kind, i, role[len("roles/storage."):]), &storage.BucketIAMMemberArgs{
			Bucket: bucket.Name,
			Role:   pulumi.String(role),
			Member: member,
		}, parent)
		return err
	}
	for i, m := range args.Producers {
		for _, role := range []string{"roles/storage.objectCreator", "roles/storage.objectViewer"} {
			if err := grant("producer", i, role, m); err != nil {
				return nil, err
			}
		}
	}
	for i, m := range args.Consumers {
		if err := grant("consumer", i, "roles/storage.objectUser", m); err != nil {
			return nil, err
		}
	}
	j.Bucket = bucket.Name
	if err := ctx.RegisterResourceOutputs(j, pulumi.Map{"bucket": bucket.Name}); err != nil {
		return nil, err
	}
	return j, nil
}
