package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gke-gpu-platform/gke-gpu-platform/internal/config"
)

// budget sends one budget message to the local budget stream, in Cloud
// Billing's notification format, as the budget's topic gets them on GKE
// (https://cloud.google.com/billing/docs/how-to/budgets-programmatic-notifications):
// SPENT is costAmount; the period starts at PERIOD (RFC 3339), by default
// the current month's first day; the budget's amount is the stack's.
func budget(ctx context.Context, p paths, args []string) error {
	if len(args) < 1 || len(args) > 2 {
		return errors.New("usage: local budget SPENT [PERIOD-START]: e.g. `local budget 320` (this month), `local budget 0 2027-01-01T00:00:00Z`")
	}
	spent, err := strconv.ParseFloat(args[0], 64)
	if err != nil || spent < 0 {
		return fmt.Errorf("SPENT %q: want an amount, e.g. 320.50", args[0])
	}
	now := time.Now().UTC()
	period := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339)
	if len(args) == 2 {
		if _, err := time.Parse(time.RFC3339, args[1]); err != nil {
			return fmt.Errorf("PERIOD-START %q: want RFC 3339, e.g. 2027-01-01T00:00:00Z", args[1])
		}
		period = args[1]
	}
	cfg, err := config.LoadStackFile(p.project, "local")
	if err != nil {
		return err
	}
	if cfg.Budget == nil {
		return errors.New("Pulumi.local.yaml sets no budget (gke-gpu-platform:budget.amount): there is no spend guard to read the message")
	}
	msg, err := json.Marshal(map[string]any{
		"budgetDisplayName": "local", "costAmount": spent, "costIntervalStart": period,
		"budgetAmount": cfg.Budget.Amount, "budgetAmountType": "SPECIFIED_AMOUNT", "currencyCode": cfg.Budget.Currency,
	})
	if err != nil {
		return err
	}
	q, err := redisOf(p)
	if err != nil {
		return err
	}
	defer q.Close()
	id, err := q.XAdd(ctx, &redis.XAddArgs{Stream: config.BudgetStream, Values: map[string]any{"data": string(msg)}}).Result()
	if err != nil {
		return err
	}
	fmt.Printf("sent %s to the stream %s (%s); the spend guard's log and `kubectl get events -n %s` say what it did\n", msg, config.BudgetStream, id, cfg.Namespace)
	return nil
}
