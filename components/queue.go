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
	// DeadLetter, when set, forwards a message Pub/Sub has delivered
	// MaxDeliveryAttempts times without an acknowledgement to a dead-letter
	// topic, instead of redelivering it (and keeping a GPU worker up) until
	// the retention drops it a week later.
	DeadLetter *DeadLetterArgs
}

// DeadLetterArgs configure a queue's dead-letter topic and what Pub/Sub
// itself needs to use it. Source: cloud.google.com/pubsub/docs/handling-failures
// ("Dead-letter topics"): the project's Pub/Sub service agent needs
// publisher on the dead-letter topic and subscriber on the source
// subscription, or forwarding silently does not happen; a topic with no
// subscription drops what it receives.
type DeadLetterArgs struct {
	// TopicID and SubscriptionID name the dead-letter topic and the
	// subscription that keeps its messages (for a person to look at or replay).
	TopicID, SubscriptionID string
	// MaxDeliveryAttempts is how many deliveries a message gets before it is
	// forwarded: Pub/Sub allows 5 to 100.
	MaxDeliveryAttempts int
	// ServiceAgent is the project's Pub/Sub service agent as an IAM member,
	// serviceAccount:service-<project number>@gcp-sa-pubsub.iam.gserviceaccount.com.
	ServiceAgent pulumi.StringInput
}

// Queue is a Pub/Sub topic and its pull subscription, with the grants that
// let exactly its consumers and publishers use it.
type Queue struct {
	pulumi.ResourceState

	// Topic is the topic's full name, projects/<p>/topics/<id>.
	Topic pulumi.StringOutput `pulumi:"topic"`
	// Subscription is the subscription's full name, projects/<p>/subscriptions/<id>.
	Subscription pulumi.StringOutput `pulumi:"subscription"`
	// DeadLetterSubscription is the dead-letter subscription's full name;
	// empty without DeadLetter.
	DeadLetterSubscription pulumi.StringOutput `pulumi:"deadLetterSubscription"`
}

// subscriptionArgs are what every subscription of a queue shares: work
// waits up to a week, and the subscription never expires.
func subscriptionArgs(project, id string, topic pulumi.StringInput, labels map[string]string) *pubsub.SubscriptionArgs {
	return &pubsub.SubscriptionArgs{
		Project: pulumi.String(project),
		Name:    pulumi.String(id),
		Topic:   topic,
		// Work waits up to a week for a worker, then is dropped.
		MessageRetentionDuration: pulumi.String("604800s"),
		// An empty TTL: the subscription never expires. Pub/Sub's default
		// deletes a subscription after 31 days without a pull, which an idle
		// GPU queue can easily be.
		ExpirationPolicy: &pubsub.SubscriptionExpirationPolicyArgs{Ttl: pulumi.String("")},
		Labels:           pulumi.ToStringMap(labels),
	}
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
	subArgs := subscriptionArgs(args.Project, args.SubscriptionID, topic.ID(), args.Labels)
	subArgs.AckDeadlineSeconds = pulumi.Int(args.AckDeadlineSeconds)
	subArgs.RetryPolicy = &pubsub.SubscriptionRetryPolicyArgs{
		MinimumBackoff: pulumi.String("10s"),
		MaximumBackoff: pulumi.String("600s"),
	}
	q.DeadLetterSubscription = pulumi.String("").ToStringOutput()
	var deadTopic *pubsub.Topic
	if dl := args.DeadLetter; dl != nil {
		deadTopic, err = pubsub.NewTopic(ctx, name+"-dead", &pubsub.TopicArgs{
			Project: pulumi.String(args.Project),
			Name:    pulumi.String(dl.TopicID),
			Labels:  pulumi.ToStringMap(args.Labels),
		}, parent)
		if err != nil {
			return nil, err
		}
		// Without a subscription the dead-letter topic would drop what it gets.
		deadSub, err := pubsub.NewSubscription(ctx, name+"-dead",
			subscriptionArgs(args.Project, dl.SubscriptionID, deadTopic.ID(), args.Labels), parent)
		if err != nil {
			return nil, err
		}
		q.DeadLetterSubscription = pulumi.Sprintf("projects/%s/subscriptions/%s", args.Project, deadSub.Name)
		subArgs.DeadLetterPolicy = &pubsub.SubscriptionDeadLetterPolicyArgs{
			DeadLetterTopic:     deadTopic.ID(),
			MaxDeliveryAttempts: pulumi.Int(dl.MaxDeliveryAttempts),
		}
	}
	sub, err := pubsub.NewSubscription(ctx, name, subArgs, parent)
	if err != nil {
		return nil, err
	}
	if dl := args.DeadLetter; dl != nil {
		// What Pub/Sub itself needs to forward: without these grants a
		// message past MaxDeliveryAttempts is redelivered as if there were
		// no policy at all.
		if _, err := pubsub.NewTopicIAMMember(ctx, name+"-dead-publisher", &pubsub.TopicIAMMemberArgs{
			Project: pulumi.String(args.Project),
			Topic:   deadTopic.Name,
			Role:    pulumi.String("roles/pubsub.publisher"),
			Member:  dl.ServiceAgent,
		}, parent); err != nil {
			return nil, err
		}
		if _, err := pubsub.NewSubscriptionIAMMember(ctx, name+"-dead-forwarder", &pubsub.SubscriptionIAMMemberArgs{
			Project:      pulumi.String(args.Project),
			Subscription: sub.Name,
			Role:         pulumi.String("roles/pubsub.subscriber"),
			Member:       dl.ServiceAgent,
		}, parent); err != nil {
			return nil, err
		}
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
	return q, ctx.RegisterResourceOutputs(q, pulumi.Map{
		"topic": q.Topic, "subscription": q.Subscription, "deadLetterSubscription": q.DeadLetterSubscription,
	})
}
