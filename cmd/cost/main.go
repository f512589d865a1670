// Command cost prints a stack's monthly cost estimate, idle and busy, line
// by line, from Pulumi.<stack>.yaml and internal/cost/prices.json, and the
// budget the policy pack holds it to (policy/config/<stack>.json). No cloud
// account and no Pulumi CLI needed: `make cost STACK=dev`.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
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
	cfg, err := config.LoadStackFile(dir, stack)
	if err != nil {
		return err
	}
	e, err := config.EstimateCost(cfg)
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
	if err := e.WriteTable(os.Stdout, config.CostTitle(cfg)); err != nil {
		return err
	}
	return printBudget(dir, stack, e.BusyMonthly)
}

// printBudget shows the budget the policy pack enforces for the stack, from
// the policy config every deploy path passes it.
func printBudget(dir, stack string, busy float64) error {
	path := filepath.Join("policy", "config", stack+".json")
	raw, err := os.ReadFile(filepath.Join(dir, path))
	if os.IsNotExist(err) {
		fmt.Printf("budget: none (%s does not exist)\n", path)
		return nil
	}
	if err != nil {
		return err
	}
	var cfg struct {
		Budget struct {
			MonthlyBudget float64 `json:"monthlyBudget"`
		} `json:"monthly-budget"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if b := cfg.Budget.MonthlyBudget; b > 0 {
		fmt.Printf("budget: $%.2f/month from %s (busy estimate is %.0f%% of it)\n", b, path, 100*busy/b)
	}
	return nil
}
