// Command cost prints a stack's monthly cost estimate, idle and busy, line
// by line, from Pulumi.<stack>.yaml and internal/cost/prices.json. No cloud
// account and no Pulumi CLI needed: `make cost STACK=dev`.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/gke-gpu-platform/gke-gpu-platform/stacks"
)

func main() {
	stack := flag.String("stack", "dev", "stack name: reads Pulumi.<stack>.yaml")
	dir := flag.String("dir", ".", "project directory")
	asJSON := flag.Bool("json", false, "print the estimate as JSON")
	flag.Parse()
	if err := run(*dir, *stack, *asJSON); err != nil {
		fmt.Fprintln(os.Stderr, "cost:", err)
		os.Exit(1)
	}
}

func run(dir, stack string, asJSON bool) error {
	cfg, err := stacks.LoadStackFile(dir, stack)
	if err != nil {
		return err
	}
	e, err := stacks.EstimateCost(cfg)
	if err != nil {
		return err
	}
	if e == nil {
		fmt.Printf("stack %s runs on platform %q: nothing billed by this program.\n", stack, cfg.Platform)
		return nil
	}
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(e)
	}
	if err := e.WriteTable(os.Stdout, stacks.CostTitle(cfg)); err != nil {
		return err
	}
	if b := cfg.Cost.MonthlyBudget; b > 0 {
		fmt.Printf("budget: $%.2f/month (busy estimate is %.0f%% of it)\n", b, 100*e.BusyMonthly/b)
	}
	return nil
}
