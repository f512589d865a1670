package main

import (
	"context"
	"fmt"
	"log"
)

// guard pauses the GPU scalers when a budget period's actual spend reaches
// the cap, and resumes them in the next period.
type guard struct {
	kube *kube
	// scalers are the GPU ScaledObjects and ScaledJobs, and nothing else:
	// the Role lets the guard get and patch these names only.
	scalers []scaler
	// capFraction is the cap as a share of the budget (1: the budget).
	capFraction float64
	logf        func(format string, args ...any)
}

// handle acts on one budget message. A malformed message is logged and
// dropped (nil: acknowledge it; budgets publish again within hours); an
// API error is returned, so the message is delivered again.
func (g *guard) handle(ctx context.Context, data []byte) error {
	n, err := parseNotification(data)
	if err != nil {
		g.logf("dropped a message: %v: %.200q", err, data)
		return nil
	}
	for _, s := range g.scalers {
		if err := g.apply(ctx, s, n); err != nil {
			return fmt.Errorf("%s %s: %w", s.Kind, s.Name, err)
		}
	}
	return nil
}

func (g *guard) apply(ctx context.Context, s scaler, n Notification) error {
	st, err := g.kube.state(ctx, s)
	if err != nil {
		return err
	}
	action, why := decide(n, g.capFraction, st)
	g.logf("%s %s: %s (%s)", s.Kind, s.Name, action, why)
	switch action {
	case Pause:
		if err := g.kube.annotate(ctx, s, s.pauseAnnotations(n.CostIntervalStart)); err != nil {
			return err
		}
		return g.kube.event(ctx, s, "SpendGuardPaused", "GPU scaling paused: "+why+"; its workers finish or hand back their jobs, which wait in the queue")
	case Resume:
		if err := g.kube.annotate(ctx, s, resumeAnnotations(n.CostIntervalStart, false)); err != nil {
			return err
		}
		return g.kube.event(ctx, s, "SpendGuardResumed", "GPU scaling resumed: "+why)
	}
	return nil
}

// resume lifts the guard's pause by hand for the period it was paused in:
// the guard does not pause again until a later period reaches the cap.
func (g *guard) resume(ctx context.Context) error {
	for _, s := range g.scalers {
		st, err := g.kube.state(ctx, s)
		if err != nil {
			return fmt.Errorf("%s %s: %w", s.Kind, s.Name, err)
		}
		if st.PausedFor == "" {
			log.Printf("%s %s: not paused by the guard", s.Kind, s.Name)
			continue
		}
		if err := g.kube.annotate(ctx, s, resumeAnnotations(st.PausedFor, true)); err != nil {
			return fmt.Errorf("%s %s: %w", s.Kind, s.Name, err)
		}
		if err := g.kube.event(ctx, s, "SpendGuardResumed", "GPU scaling resumed by hand for the period from "+st.PausedFor); err != nil {
			return err
		}
		log.Printf("%s %s: resumed by hand for the period from %s", s.Kind, s.Name, st.PausedFor)
	}
	return nil
}
