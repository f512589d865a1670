package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// publisher puts one job on the queue the platform gave this app
// (QUEUE_BACKEND, QUEUE_TOPIC and, for Redis, REDIS_ADDRESS).
type publisher interface {
	Publish(ctx context.Context, body []byte) error
}

// newPublisher reads the platform's queue environment; nil when the app has no queue.
func newPublisher(env func(string) string) (publisher, error) {
	switch backend := env("QUEUE_BACKEND"); backend {
	case "":
		return nil, nil
	case "redis":
		if env("REDIS_ADDRESS") == "" || env("QUEUE_TOPIC") == "" {
			return nil, errors.New("QUEUE_BACKEND=redis needs REDIS_ADDRESS and QUEUE_TOPIC")
		}
		return redisList{addr: env("REDIS_ADDRESS"), list: env("QUEUE_TOPIC")}, nil
	case "pubsub":
		if !strings.HasPrefix(env("QUEUE_TOPIC"), "projects/") {
			return nil, fmt.Errorf("QUEUE_BACKEND=pubsub needs QUEUE_TOPIC=projects/<p>/topics/<t>, got %q", env("QUEUE_TOPIC"))
		}
		return pubsubTopic{topic: env("QUEUE_TOPIC"), api: "https://pubsub.googleapis.com/v1/", token: metadataToken(metadataTokenURL), client: http.DefaultClient}, nil
	default:
		return nil, fmt.Errorf("QUEUE_BACKEND=%q: want redis or pubsub", backend)
	}
}

// redisList LPUSHes onto a Redis list; the worker BRPOPs from the other end.
type redisList struct{ addr, list string }

func (r redisList) Publish(ctx context.Context, body []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", r.addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	args := []string{"LPUSH", r.list, string(body)}
	var cmd bytes.Buffer
	fmt.Fprintf(&cmd, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&cmd, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write(cmd.Bytes()); err != nil {
		return err
	}
	reply, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(reply, ":") {
		return fmt.Errorf("redis LPUSH: %s", strings.TrimSpace(reply))
	}
	return nil
}

// metadataTokenURL is GKE's metadata server, which answers with the Google
// service account the pod's Kubernetes service account is bound to
// (Workload Identity): no key file anywhere.
const metadataTokenURL = "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token"

// metadataToken returns a function that fetches an access token.
func metadataToken(url string) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return "", err
		}
		req.Header.Set("Metadata-Flavor", "Google")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("metadata server: %s", resp.Status)
		}
		if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
			return "", err
		}
		return tok.AccessToken, nil
	}
}

// pubsubTopic publishes through Pub/Sub's REST API.
type pubsubTopic struct {
	topic  string // projects/<p>/topics/<t>
	api    string // https://pubsub.googleapis.com/v1/
	token  func(context.Context) (string, error)
	client *http.Client
}

func (p pubsubTopic) Publish(ctx context.Context, body []byte) error {
	tok, err := p.token(ctx)
	if err != nil {
		return err
	}
	payload, _ := json.Marshal(map[string]any{"messages": []map[string]string{{"data": base64.StdEncoding.EncodeToString(body)}}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.api+p.topic+":publish", bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pubsub publish: %s", resp.Status)
	}
	return nil
}
