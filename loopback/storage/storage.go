// Package storage runs the local platform's job records server:
// fake-gcs-server (https://github.com/fsouza/fake-gcs-server, built by
// tools/build.sh), a real Cloud Storage JSON API on a loopback port, beside
// the queue's Redis and stopped with it by PID. The apps reach it through
// the official client (STORAGE_EMULATOR_HOST), the same code path as
// Cloud Storage on GKE. Its objects are files under the cluster's
// directory, so they survive the server's restart.
package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gke-gpu-platform/gke-gpu-platform/loopback/controlplane"
)

// addressFile records the address in the control plane's directory.
const addressFile = "storage-address"

// Port is the isolated server's port (StartIsolated).
const Port = 4443

// Start runs fake-gcs-server beside cp on 127.0.0.1, on a free port, and
// waits until it answers; it returns and records its address.
func Start(ctx context.Context, cp *controlplane.ControlPlane, binDir string) (string, error) {
	ports, err := controlplane.FreePorts(1)
	if err != nil {
		return "", err
	}
	exe, err := server(binDir)
	if err != nil {
		return "", err
	}
	return run(ctx, cp, "127.0.0.1", ports[0], exe)
}

// StartIsolated runs it in the network namespace netns at host (the
// queue's: package queue's StartIsolated made it), on Port, so the real
// nodes' pods reach it as they reach the queue, through the host's
// forwarding path where NetworkPolicy is enforced.
func StartIsolated(ctx context.Context, cp *controlplane.ControlPlane, binDir, netns, host string) (string, error) {
	exe, err := server(binDir)
	if err != nil {
		return "", err
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		return "", err
	}
	return run(ctx, cp, host, Port, ip, "netns", "exec", netns, exe)
}

func server(binDir string) (string, error) {
	exe := filepath.Join(binDir, "fake-gcs-server")
	if _, err := os.Stat(exe); err != nil {
		return "", fmt.Errorf("storage: %s not found: run tools/build.sh fake-gcs-server", exe)
	}
	return exe, nil
}

// run starts the server (argv before its own flags), waits for it and
// records its address.
func run(ctx context.Context, cp *controlplane.ControlPlane, host string, port int, argv ...string) (string, error) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	args := append(argv[1:], "-scheme", "http", "-host", host, "-port", strconv.Itoa(port),
		"-backend", "filesystem", "-filesystem-root", filepath.Join(cp.Dir, "storage"),
		"-external-url", "http://"+addr, "-public-host", addr, "-log-level", "warn")
	if err := cp.StartProcess("storage", argv[0], nil, args...); err != nil {
		return "", err
	}
	c := Client{Addr: addr}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := c.do(ctx, http.MethodGet, "/storage/v1/b", nil)
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("storage: fake-gcs-server at %s did not answer: %w (see %s)", addr, err, filepath.Join(cp.Dir, "logs", "storage.log"))
		}
	}
	return addr, os.WriteFile(filepath.Join(cp.Dir, addressFile), []byte(addr), 0o600)
}

// Address is the server recorded in a control plane directory.
func Address(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, addressFile))
	if err != nil {
		return "", fmt.Errorf("storage: no job records server recorded in %s: %w", dir, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Client speaks the Cloud Storage JSON API
// (https://cloud.google.com/storage/docs/json_api) to the local server:
// just what the harness needs (buckets for the stack's queues, and the job
// records `bin/local jobs` shows). The apps use the official client.
type Client struct {
	// Addr is the server's host:port.
	Addr string
}

func (c Client) do(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+c.Addr+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return http.DefaultClient.Do(req)
}

// EnsureBucket creates bucket unless it exists.
func (c Client) EnsureBucket(ctx context.Context, bucket string) error {
	resp, err := c.do(ctx, http.MethodPost, "/storage/v1/b?project=local", map[string]string{"name": bucket})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusConflict {
		return nil
	}
	b, _ := io.ReadAll(resp.Body)
	return fmt.Errorf("storage: create bucket %s: %s: %s", bucket, resp.Status, b)
}

// Object is one object's name and update time.
type Object struct {
	Name    string    `json:"name"`
	Updated time.Time `json:"updated"`
}

// List lists bucket's objects under prefix.
func (c Client) List(ctx context.Context, bucket, prefix string) ([]Object, error) {
	var out []Object
	token := ""
	for {
		q := url.Values{"prefix": {prefix}}
		if token != "" {
			q.Set("pageToken", token)
		}
		resp, err := c.do(ctx, http.MethodGet, "/storage/v1/b/"+url.PathEscape(bucket)+"/o?"+q.Encode(), nil)
		if err != nil {
			return nil, err
		}
		var page struct {
			Items         []Object `json:"items"`
			NextPageToken string   `json:"nextPageToken"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("storage: list %s: %s", bucket, resp.Status)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if token = page.NextPageToken; token == "" {
			return out, nil
		}
	}
}

// Write stores content as an object (a simple media upload), replacing any.
func (c Client) Write(ctx context.Context, bucket, name string, content []byte) error {
	q := url.Values{"uploadType": {"media"}, "name": {name}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+c.Addr+"/upload/storage/v1/b/"+url.PathEscape(bucket)+"/o?"+q.Encode(), bytes.NewReader(content))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("storage: write %s/%s: %s: %s", bucket, name, resp.Status, b)
	}
	return nil
}

// Read returns an object's content; os.ErrNotExist when there is none.
func (c Client) Read(ctx context.Context, bucket, name string) ([]byte, error) {
	resp, err := c.do(ctx, http.MethodGet, "/storage/v1/b/"+url.PathEscape(bucket)+"/o/"+url.PathEscape(name)+"?alt=media", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, os.ErrNotExist
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("storage: read %s/%s: %s", bucket, name, resp.Status)
	}
	return io.ReadAll(resp.Body)
}
