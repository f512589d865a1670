package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"cloud.google.com/go/pubsub/v2"
	"github.com/redis/go-redis/v9"
)

// publisher puts one job on the queue the platform gave this app
// (QUEUE_BACKEND, QUEUE_TOPIC and, for Redis, REDIS_ADDRESS).
type publisher interface {
	Publish(ctx context.Context, body []byte) error
}

// newPublisher reads the platform's queue environment; nil when the app has
// no queue. The returned func releases the client.
func newPublisher(ctx context.Context, env func(string) string) (publisher, func(), error) {
	switch backend := env("QUEUE_BACKEND"); backend {
	case "":
		return nil, func() {}, nil
	case "redis":
		if env("REDIS_ADDRESS") == "" || env("QUEUE_TOPIC") == "" {
			return nil, nil, errors.New("QUEUE_BACKEND=redis needs REDIS_ADDRESS and QUEUE_TOPIC")
		}
		client := redis.NewClient(&redis.Options{Addr: env("REDIS_ADDRESS")})
		return redisList{client: client, list: env("QUEUE_TOPIC")}, func() { _ = client.Close() }, nil
	case "pubsub":
		topic := env("QUEUE_TOPIC")
		if !strings.HasPrefix(topic, "projects/") {
			return nil, nil, fmt.Errorf("QUEUE_BACKEND=pubsub needs QUEUE_TOPIC=projects/<p>/topics/<t>, got %q", topic)
		}
		// Application Default Credentials: the pod's Workload Identity on GKE.
		client, err := pubsub.NewClient(ctx, strings.Split(topic, "/")[1])
		if err != nil {
			return nil, nil, err
		}
		p := client.Publisher(topic)
		return pubsubTopic{p}, func() { p.Stop(); _ = client.Close() }, nil
	default:
		return nil, nil, fmt.Errorf("QUEUE_BACKEND=%q: want redis or pubsub", backend)
	}
}

// redisList LPUSHes onto a Redis list; the worker takes from the other end.
type redisList struct {
	client *redis.Client
	list   string
}

func (r redisList) Publish(ctx context.Context, body []byte) error {
	return r.client.LPush(ctx, r.list, body).Err()
}

// pubsubTopic publishes with the official client and waits for the server's
// acknowledgement, so a 202 means the job is stored.
type pubsubTopic struct{ p *pubsub.Publisher }

func (t pubsubTopic) Publish(ctx context.Context, body []byte) error {
	_, err := t.p.Publish(ctx, &pubsub.Message{Data: body}).Get(ctx)
	return err
}
