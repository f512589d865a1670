package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

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
		group := env("QUEUE_GROUP")
		if group == "" {
			group = "workers"
		}
		return &redisStream{client: client, stream: env("QUEUE_TOPIC"), group: group}, func() { _ = client.Close() }, nil
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

// redisStream XADDs each job to a Redis stream (field "job"), which the
// workers read in one consumer group (apps/gpu-worker). With the local
// Redis's append-only file, a 202 means the job survives a restart.
type redisStream struct {
	client        *redis.Client
	stream, group string
	// grouped is set once the stream's consumer group is known to exist:
	// created here too, so that KEDA can count the backlog (its
	// pending-entries trigger needs the group) before any worker ran.
	grouped atomic.Bool
}

func (r *redisStream) Publish(ctx context.Context, body []byte) error {
	if !r.grouped.Load() {
		err := r.client.XGroupCreateMkStream(ctx, r.stream, r.group, "0").Err()
		if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
			return err
		}
		r.grouped.Store(true)
	}
	return r.client.XAdd(ctx, &redis.XAddArgs{Stream: r.stream, Values: []any{"job", body}}).Err()
}

// pubsubTopic publishes with the official client and waits for the server's
// acknowledgement, so a 202 means the job is stored.
type pubsubTopic struct{ p *pubsub.Publisher }

func (t pubsubTopic) Publish(ctx context.Context, body []byte) error {
	_, err := t.p.Publish(ctx, &pubsub.Message{Data: body}).Get(ctx)
	return err
}
