// Command netcheck is the real-node e2e's network probe, run as a pod under
// a chosen app's labels so that app's NetworkPolicies apply to it. Each
// argument is one check; it prints one line per check and exits 0 when
// every check went as expected:
//
//	sleep:DURATION        wait (for the enforcer to learn this pod's IP)
//	dns:NAME              NAME resolves (cluster DNS)
//	http:URL              GET URL answers 2xx
//	open:HOST:PORT        a TCP connection is accepted
//	refused:HOST:PORT     a TCP connection is not: reset or timed out (3 s)
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	ok := true
	for _, check := range os.Args[1:] {
		kind, target, _ := strings.Cut(check, ":")
		err := run(kind, target)
		if err != nil {
			ok = false
			fmt.Printf("FAIL %s: %v\n", check, err)
		} else {
			fmt.Printf("ok   %s\n", check)
		}
	}
	if !ok {
		os.Exit(1)
	}
}

func run(kind, target string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	switch kind {
	case "sleep":
		d, err := time.ParseDuration(target)
		time.Sleep(d)
		return err
	case "dns":
		addrs, err := net.DefaultResolver.LookupHost(ctx, target)
		if err != nil {
			return err
		}
		fmt.Printf("     %s -> %s\n", target, strings.Join(addrs, ","))
		return nil
	case "http":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return nil
	case "open", "refused":
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", target)
		if conn != nil {
			conn.Close()
		}
		if kind == "open" {
			return err
		}
		if err == nil {
			return fmt.Errorf("connected: no policy stopped it")
		}
		fmt.Printf("     %s: %v\n", target, err)
		return nil
	}
	return fmt.Errorf("unknown check %q", kind)
}
