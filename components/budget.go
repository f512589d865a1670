package components

import (
	"fmt"
	"math"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/billing"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/pubsub"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// BudgetSchemaVersion is the budget notifications' JSON schema, the only
// one the Budgets API accepts.
// https://cloud.google.com/billing/docs/how-to/budgets-programmatic-notifications
const BudgetSchemaVersion = "1.0"

// BudgetArgs configure a monthly Cloud Billing budget for one project.
type BudgetArgs struct {
	// Project is the project ID the topic lives in.
	Project string
	// ProjectNumber is the project's number: a budget filters projects as
	// projects/<number>.
	ProjectNumber pulumi.StringInput
	// BillingAccount is the billing account's ID (XXXXXX-XXXXXX-XXXXXX).
	BillingAccount string
	// DisplayName names the budget in the console and its notifications.
	DisplayName string
	// TopicName is the Pub/Sub topic every budget update is published to.
	TopicName string
	// Amount is the budget per calendar month, in Currency.
	Amount float64
	// Currency is the billing account's currency (ISO 4217).
	Currency string
	// Thresholds are shares of Amount, of actual spend, that email the
	// billing account's admins.
	Thresholds []float64
	// Labels are the topic's labels.
	Labels map[string]string
}

// Budget is a Cloud Billing budget and the topic its updates go to, several
// times a day whatever the thresholds (the spend guard reads them).
type Budget struct {
	pulumi.ResourceState

	// TopicID is the topic's ID, projects/<project>/topics/<name>.
	TopicID pulumi.StringOutput `pulumi:"topicId"`
	// Name is the budget's resource name.
	Name pulumi.StringOutput `pulumi:"name"`

	topic *pubsub.Topic
}

// NewBudget creates the topic and the budget. Creating a budget needs
// Billing Account Costs Manager (or Administrator) on the billing account,
// and, with user credentials, a quota project (docs/deploy.md).
func NewBudget(ctx *pulumi.Context, name string, args *BudgetArgs, opts ...pulumi.ResourceOption) (*Budget, error) {
	b := &Budget{}
	if err := ctx.RegisterComponentResource("gke-gpu-platform:index:Budget", name, b, opts...); err != nil {
		return nil, err
	}
	parent := childOf(b, opts)
	topic, err := pubsub.NewTopic(ctx, name, &pubsub.TopicArgs{
		Project: pulumi.String(args.Project),
		Name:    pulumi.String(args.TopicName),
		Labels:  pulumi.ToStringMap(args.Labels),
	}, parent)
	if err != nil {
		return nil, err
	}
	rules := billing.BudgetThresholdRuleArray{}
	for _, t := range args.Thresholds {
		rules = append(rules, &billing.BudgetThresholdRuleArgs{
			ThresholdPercent: pulumi.Float64(t), SpendBasis: pulumi.String("CURRENT_SPEND"),
		})
	}
	units, nanos := money(args.Amount)
	budget, err := billing.NewBudget(ctx, name, &billing.BudgetArgs{
		BillingAccount: pulumi.String(args.BillingAccount),
		DisplayName:    pulumi.String(args.DisplayName),
		BudgetFilter: &billing.BudgetBudgetFilterArgs{
			Projects:       pulumi.StringArray{pulumi.Sprintf("projects/%s", args.ProjectNumber)},
			CalendarPeriod: pulumi.String("MONTH"),
		},
		Amount: &billing.BudgetAmountArgs{SpecifiedAmount: &billing.BudgetAmountSpecifiedAmountArgs{
			CurrencyCode: pulumi.String(args.Currency), Units: pulumi.String(units), Nanos: pulumi.Int(nanos),
		}},
		ThresholdRules: rules,
		// Every update, several times a day, to the topic; the emails to
		// the billing account's admins stay on (the thresholds above).
		AllUpdatesRule: &billing.BudgetAllUpdatesRuleArgs{
			PubsubTopic:   topic.ID(),
			SchemaVersion: pulumi.String(BudgetSchemaVersion),
		},
	}, parent)
	if err != nil {
		return nil, err
	}
	b.topic, b.TopicID, b.Name = topic, topic.ID().ToStringOutput(), budget.Name
	return b, ctx.RegisterResourceOutputs(b, pulumi.Map{"topicId": b.TopicID, "name": b.Name})
}

// money splits an amount into the API's whole units and nanos.
func money(amount float64) (string, int) {
	units := math.Floor(amount)
	return fmt.Sprintf("%.0f", units), int(math.Round((amount - units) * 1e9))
}

// Subscribe gives member (the spend guard's Google identity) a pull
// subscription of its own on the budget's topic.
// Budget messages repeat several times a day: a day's retention is enough.
func (b *Budget) Subscribe(ctx *pulumi.Context, name, project, subscriptionName string, member pulumi.StringInput) error {
	sub, err := pubsub.NewSubscription(ctx, name, &pubsub.SubscriptionArgs{
		Project:                  pulumi.String(project),
		Name:                     pulumi.String(subscriptionName),
		Topic:                    b.topic.ID(),
		AckDeadlineSeconds:       pulumi.Int(60),
		MessageRetentionDuration: pulumi.String("86400s"),
		// Never expire for want of a reader (the default is 31 days).
		ExpirationPolicy: &pubsub.SubscriptionExpirationPolicyArgs{Ttl: pulumi.String("")},
	}, pulumi.Parent(b))
	if err != nil {
		return err
	}
	_, err = pubsub.NewSubscriptionIAMMember(ctx, name, &pubsub.SubscriptionIAMMemberArgs{
		Project: pulumi.String(project), Subscription: sub.Name,
		Role: pulumi.String("roles/pubsub.subscriber"), Member: member,
	}, pulumi.Parent(b))
	return err
}
