// Command policy is the platform's policy pack, served to the Pulumi engine
// over the analyzer protocol (the experimental Go SDK, policyx):
//
//	go build -o bin/policy-pack ./policy
//	pulumi preview --policy-pack bin/policy-pack
//
// or, with an official CLI that ships the Go language host,
// `pulumi preview --policy-pack policy`. The rules are plain Go functions in
// rules.go, cost_checks.go and security_checks.go; see README.md.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

func main() {
	if err := policyx.Main(newPack); err != nil {
		fmt.Fprintln(os.Stderr, "policy pack:", err)
		os.Exit(1)
	}
}
