package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// consumer hands out one job at a time from the queue the platform gave
// this app (QUEUE_BACKEND, QUEUE_SOURCE and, for Redis, REDIS_ADDRESS).
// Next returns nil, nil when nothing came within its wait.
type consumer interface {
	Next(ctx context.Context) (*delivery, error)
}

// delivery is one job and how to say it is done.
type delivery struct {
	Body []byte
	Ack  func(ctx context.Context) error
}

func newConsumer(env func(string) string) (consumer, error) {
	switch backend := env("QUEUE_BACKEND"); backend {
	case "":
		return nil, nil
	case "redis":
		if env("REDIS_ADDRESS") == "" || env("QUEUE_SOURCE") == "" {
			return nil, errors.New("QUEUE_BACKEND=redis needs REDIS_ADDRESS and QUEUE_SOURCE")
		}
		return redisList{addr: env("REDIS_ADDRESS"), list: env("QUEUE_SOURCE"), wait: 5 * time.Second}, nil
	case "pubsub":
		if !strings.HasPrefix(env("QUEUE_SOURCE"), "projects/") {
			return nil, fmt.Errorf("QUEUE_BACKEND=pubsub needs QUEUE_SOURCE=projects/<p>/subscriptions/<s>, got %q", env("QUEUE_SOURCE"))
		}
		return pubsubSubscription{subscription: env("QUEUE_SOURCE"), api: "https://pubsub.googleapis.com/v1/",
			token: metadataToken(metadataTokenURL), client: http.DefaultClient}, nil
	default:
		return nil, fmt.Errorf("QUEUE_BACKEND=%q: want redis or pubsub", backend)
	}
}

// redisList BRPOPs the oldest job. Redis removes it on delivery (at most
// once): a worker that dies mid-job loses it, which suits the local
// platform; Pub/Sub on GKE redelivers unacknowledged jobs.
type redisList struct {
	addr, list string
	wait       time.Duration
}

func (r redisList) Next(ctx context.Context) (*delivery, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", r.addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(r.wait + 5*time.Second))
	args := []string{"BRPOP", r.list, strconv.Itoa(int(r.wait.Seconds()))}
	var cmd bytes.Buffer
	fmt.Fprintf(&cmd, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&cmd, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write(cmd.Bytes()); err != nil {
		return nil, err
	}
	// A reply is *-1 (nothing came) or an array of [list, job].
	rd := bufio.NewReader(conn)
	head, err := rd.ReadString('\n')
	if err != nil {
		return nil, err
	}
	switch head = strings.TrimSpace(head); {
	case head == "*-1" || head == "$-1":
		return nil, nil
	case head != "*2":
		return nil, fmt.Errorf("redis BRPOP: %s", head)
	}
	var parts [2][]byte
	for i := range parts {
		size, err := rd.ReadString('\n')
		if err != nil {
			return nil, err
		}
		n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(size), "$"))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("redis BRPOP: bad reply %q", size)
		}
		parts[i] = make([]byte, n+2)
		if _, err := io.ReadFull(rd, parts[i]); err != nil {
			return nil, err
		}
		parts[i] = parts[i][:n]
	}
	return &delivery{Body: parts[1], Ack: func(context.Context) error { return nil }}, nil
}

// metadataTokenURL is GKE's metadata server: it answers as the Google
// service account bound to the pod's Kubernetes service account (Workload
// Identity), so no key file exists anywhere.
const metadataTokenURL = "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token"

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
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("metadata server: %s", resp.Status)
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		err = json.NewDecoder(resp.Body).Decode(&tok)
		return tok.AccessToken, err
	}
}

// pubsubSubscription pulls through Pub/Sub's REST API and acknowledges when
// the job is done: a worker that dies mid-job has it redelivered after the
// subscription's ack deadline.
type pubsubSubscription struct {
	subscription string // projects/<p>/subscriptions/<s>
	api          string // https://pubsub.googleapis.com/v1/
	token        func(context.Context) (string, error)
	client       *http.Client
}

func (p pubsubSubscription) call(ctx context.Context, verb string, in, out any) error {
	tok, err := p.token(ctx)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(in)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.api+p.subscription+":"+verb, bytes.NewReader(body))
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
		return fmt.Errorf("pubsub %s: %s", verb, resp.Status)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func (p pubsubSubscription) Next(ctx context.Context) (*delivery, error) {
	var pulled struct {
		ReceivedMessages []struct {
			AckID   string `json:"ackId"`
			Message struct {
				Data string `json:"data"`
			} `json:"message"`
		} `json:"receivedMessages"`
	}
	if err := p.call(ctx, "pull", map[string]any{"maxMessages": 1}, &pulled); err != nil {
		return nil, err
	}
	if len(pulled.ReceivedMessages) == 0 {
		return nil, nil
	}
	m := pulled.ReceivedMessages[0]
	body, err := base64.StdEncoding.DecodeString(m.Message.Data)
	if err != nil {
		return nil, err
	}
	return &delivery{Body: body, Ack: func(ctx context.Context) error {
		return p.call(ctx, "acknowledge", map[string]any{"ackIds": []string{m.AckID}}, nil)
	}}, nil
}
