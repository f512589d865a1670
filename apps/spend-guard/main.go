// Command spend-guard is the platform's GPU spend cap: it reads the
// stack's budget notifications (Cloud Billing publishes them to a Pub/Sub
// topic several times a day; locally they come from a Redis stream in the
// same JSON) and, when a budget period's actual spend reaches the cap,
// pauses every GPU KEDA scaler of the apps' namespace: the GPU workers
// scale to zero, their jobs stay queued, and the GPU pools drain. A message
// of a later period resumes them. It says what it did in its log and as
// Kubernetes Events on each scaler.
//
// Billing data is hours late: this is a cap, not a real-time stop.
//
//	spend-guard            run, reading the budget messages
//	spend-guard resume     lift the guard's pause by hand for this period
//
// Settings (the platform sets them): SPEND_GUARD_SCALERS
// ("ScaledObject/gpu-worker,ScaledJob/render"), SPEND_GUARD_CAP (a share
// of the budget, default 1), SPEND_GUARD_NAMESPACE (the apps'), and BUDGET_SUBSCRIPTION
// (projects/P/subscriptions/S) on GKE or REDIS_ADDR and BUDGET_STREAM
// locally.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"github.com/redis/go-redis/v9"
)

func main() {
	server := flag.String("server", "", "API server URL (default: the pod's)")
	tokenFile := flag.String("token-file", "", "service account token (default: the pod's)")
	caFile := flag.String("ca-file", "", "API server CA (default: the pod's)")
	namespace := flag.String("namespace", os.Getenv("SPEND_GUARD_NAMESPACE"), "the apps' namespace, where the scalers are")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, flag.Args(), *server, *tokenFile, *caFile, *namespace); err != nil && !errors.Is(err, context.Canceled) {
		log.Fatal(err)
	}
}

func run(ctx context.Context, args []string, server, tokenFile, caFile, namespace string) error {
	scalers, err := parseScalers(os.Getenv("SPEND_GUARD_SCALERS"))
	if err != nil {
		return err
	}
	capFraction := 1.0
	if v := os.Getenv("SPEND_GUARD_CAP"); v != "" {
		if capFraction, err = strconv.ParseFloat(v, 64); err != nil || capFraction <= 0 {
			return fmt.Errorf("SPEND_GUARD_CAP=%q: want a share of the budget above 0, e.g. 1", v)
		}
	}
	if namespace == "" {
		return errors.New("no namespace: set SPEND_GUARD_NAMESPACE or --namespace")
	}
	k, err := newKube(server, tokenFile, caFile, namespace)
	if err != nil {
		return err
	}
	g := &guard{kube: k, scalers: scalers, capFraction: capFraction, logf: log.Printf}
	if len(args) > 0 {
		if args[0] != "resume" || len(args) > 1 {
			return fmt.Errorf("unknown command %q: spend-guard [resume]", strings.Join(args, " "))
		}
		return g.resume(ctx)
	}
	log.Printf("guarding %v in %s at %.0f%% of the budget", scalers, namespace, 100*capFraction)
	if sub := os.Getenv("BUDGET_SUBSCRIPTION"); sub != "" {
		return fromPubSub(ctx, sub, g.handle)
	}
	if addr := os.Getenv("REDIS_ADDR"); addr != "" {
		return fromRedis(ctx, addr, envOr("BUDGET_STREAM", "budget"), g.handle)
	}
	return errors.New("no budget source: set BUDGET_SUBSCRIPTION (GKE) or REDIS_ADDR (local)")
}

// parseScalers reads "Kind/name,Kind/name".
func parseScalers(v string) ([]scaler, error) {
	var out []scaler
	for _, item := range strings.Split(v, ",") {
		kind, name, ok := strings.Cut(strings.TrimSpace(item), "/")
		if !ok || (kind != "ScaledObject" && kind != "ScaledJob") || name == "" {
			return nil, fmt.Errorf("SPEND_GUARD_SCALERS=%q: want ScaledObject/<name> or ScaledJob/<name>, comma-separated", v)
		}
		out = append(out, scaler{Kind: kind, Name: name})
	}
	return out, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// fromPubSub hands each budget message to handle; acknowledged when handled
// (or malformed), left for redelivery when the API server failed.
func fromPubSub(ctx context.Context, subscription string, handle func(context.Context, []byte) error) error {
	parts := strings.Split(subscription, "/")
	if len(parts) != 4 || parts[0] != "projects" || parts[2] != "subscriptions" {
		return fmt.Errorf("BUDGET_SUBSCRIPTION=%q: want projects/<project>/subscriptions/<name>", subscription)
	}
	// Workload Identity: Application Default Credentials, no key file.
	client, err := pubsub.NewClient(ctx, parts[1])
	if err != nil {
		return err
	}
	defer client.Close()
	sub := client.Subscriber(subscription)
	sub.ReceiveSettings.MaxOutstandingMessages = 1
	return sub.Receive(ctx, func(ctx context.Context, m *pubsub.Message) {
		if err := handle(ctx, m.Data); err != nil {
			log.Printf("message %s: %v; delivered again later", m.ID, err)
			m.Nack()
			return
		}
		m.Ack()
	})
}

// group is the guard's consumer group on the local budget stream.
const group = "spend-guard"

// fromRedis reads the local budget stream with a consumer group: a message
// is acknowledged and deleted once handled; one whose handling failed stays
// pending and is read again (as is whatever a killed guard had read).
func fromRedis(ctx context.Context, addr, stream string, handle func(context.Context, []byte) error) error {
	client := redis.NewClient(&redis.Options{Addr: addr})
	defer client.Close()
	if err := client.XGroupCreateMkStream(ctx, stream, group, "0").Err(); err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	consumer, _ := os.Hostname()
	from := "0" // own pending entries first
	for ctx.Err() == nil {
		res, err := client.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: group, Consumer: consumer, Streams: []string{stream, from}, Count: 1, Block: 5 * time.Second,
		}).Result()
		switch {
		case errors.Is(err, redis.Nil):
			continue
		case err != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			log.Printf("stream %s: %v", stream, err)
			time.Sleep(2 * time.Second)
			continue
		}
		msgs := res[0].Messages
		if len(msgs) == 0 {
			from = ">" // no pending left: new messages from now on
			continue
		}
		m := msgs[0]
		data, _ := m.Values["data"].(string)
		if err := handle(ctx, []byte(data)); err != nil {
			log.Printf("message %s: %v; read again in 5 s", m.ID, err)
			from = "0"
			time.Sleep(5 * time.Second)
			continue
		}
		pipe := client.TxPipeline()
		pipe.XAck(ctx, stream, group, m.ID)
		pipe.XDel(ctx, stream, m.ID)
		if _, err := pipe.Exec(ctx); err != nil {
			log.Printf("message %s: acknowledge: %v", m.ID, err)
		}
	}
	return ctx.Err()
}
