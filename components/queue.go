package components

import (
	"fmt"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/pubsub"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// QueueArgs configure a work queue on Pub/Sub: one topic, one pull subscription.
type QueueArgs struct {
	// Project is the Google Cloud project ID.
	Project string
	// TopicID and SubscriptionID are unique in the project (derive them from the stack).
	TopicID, SubscriptionID string
	// AckDeadlineSeconds is how long a worker holds a message before Pub/Sub
	// redelivers it; GPU work is slow, so up to Pub/Sub's maximum of 600.
	AckDeadlineSeconds int
	// Consumers are IAM members that pull and acknowledge (roles/pubsub.subscriber
	// on the subscription only).
	Consumers []pulumi.StringInput
	// Publishers are IAM members that enqueue (roles/pubsub.publisher on the topic only).
	Publishers []pulumi.StringInput
	// Labels are GCP labels on the topic and subscription.
	Labels map[string]string
}

// Queue is a Pub/Sub topic and its pull subscription, with the grants that
// let exactly its consumers and publishers use it.
type Queue struct {
	pulumi.ResourceState

	// Topic is the topic's full name, projects/<p>/topics/<id>.
	Topic pulumi.StringOutput `pulumi:"topic"`
	// Subscription is the subscription's full name, projects/<p>/subscriptions/<id>.
	Subscription pulumi.StringOutput `pulumi:"subscription"`
}

// NewQueue creates the topic, the subscription and the grants.
func NewQueue(ctx *pulumi.Context, name string, args *QueueArgs, opts ...pulumi.ResourceOption) (*Queue, error) {
	q := &Queue{}
	if err := ctx.RegisterComponentResource("gke-gpu-platform:index:Queue", name, q, opts...); err != nil {
		return nil, err
	}
	parent := childOf(q, opts)

	topic, err := pubsub.NewTopic(ctx, name, &pubsub.TopicArgs{
		Project: pulumi.String(args.Project),
		Name:    pulumi.String(args.TopicID),
		Labels:  pulumi.ToStringMap(args.Labels),
	}, parent)
	if err != nil {
		return nil, err
	}
	sub, err := pubsub.NewSubscription(ctx, name, &pubsub.SubscriptionArgs{
		Project:            pulumi.String(args.Project),
		Name:               pulumi.String(args.SubscriptionID),
		Topic:              topic.ID(),
		AckDeadlineSeconds: pulumi.Int(args.AckDeadlineSeconds),
		// Work waits up to a week for a worker, then is dropped.
		MessageRetentionDuration: pulumi.String("604800s"),
		// An empty TTL: the subscription never expires. Pub/Sub's default
		// deletes a subscription after 31 days without a pull, which an idle
		// GPU queue can easily be.
		ExpirationPolicy: &pubsub.SubscriptionExpirationPolicyArgs{Ttl: pulumi.String("")},
		RetryPolicy: &pubsub.SubscriptionRetryPolicyArgs{
			MinimumBackoff: pulumi.String("10s"),
			MaximumBackoff: pulumi.String("600s"),
		},
		Labels: pulumi.ToStringMap(args.Labels),
	}, parent)
	if err != nil {
		return nil, err
	}
	for i, m := range args.Consumers {
		if _, err := pubsub.NewSubscriptionIAMMember(ctx, fmt.Sprintf("%s-consumer-%d", name, i), &pubsub.SubscriptionIAMMemberArgs{
			Project:      pulumi.String(args.Project),
			Subscription: sub.Name,
			Role:         pulumi.String("roles/pubsub.subscriber"),
			Member:       m,
		}, parent); err != nil {
			return nil, err
		}
	}
	for i, m := range args.Publishers {
		if _, err := pubsub.NewTopicIAMMember(ctx, fmt.Sprintf("%s-publisher-%d", name, i), &pubsub.TopicIAMMemberArgs{
			Project: pulumi.String(args.Project),
			Topic:   topic.Name,
			Role:    pulumi.String("roles/pubsub.publisher"),
			Member:  m,
		}, parent); err != nil {
			return nil, err
		}
	}

	q.Topic = pulumi.Sprintf("projects/%s/topics/%s", args.Project, topic.Name)
	q.Subscription = pulumi.Sprintf("projects/%s/subscriptions/%s", args.Project, sub.Name)
	return q, ctx.RegisterResourceOutputs(q, pulumi.Map{"topic": q.Topic, "subscription": q.Subscription})
}
