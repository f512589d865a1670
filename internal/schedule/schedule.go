// Package schedule reads warm windows the way KEDA's cron scaler does, so
// the cost estimate prices exactly the hours KEDA will hold workers up.
//
// A window is active from each time Start fires until End next fires:
// KEDA's rule is "active while the next end comes before the next start"
// (pkg/scalers/cron_scaler.go in github.com/kedacore/keda/v2, which parses
// both with github.com/robfig/cron/v3, five fields, in Timezone).
package schedule

import (
	"fmt"
	"time"
	_ "time/tzdata" // IANA zones without relying on the machine's tzdata

	"github.com/robfig/cron/v3"
)

// parser reads minute, hour, day of month, month and day of week: KEDA's fields.
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// Window is a recurring time window in a time zone.
type Window struct {
	// Start and End are cron expressions, e.g. "0 8 * * 1-5" and "0 18 * * 1-5".
	Start, End string
	// Timezone is an IANA zone, e.g. Europe/Berlin.
	Timezone string
}

type parsed struct {
	start, end cron.Schedule
	loc        *time.Location
}

// Check reports what KEDA would refuse: a bad cron expression or zone, or
// the same start and end.
func (w Window) Check() error {
	_, err := w.parse()
	return err
}

func (w Window) parse() (parsed, error) {
	var p parsed
	var err error
	if p.start, err = parser.Parse(w.Start); err != nil {
		return p, fmt.Errorf("start %q: %w", w.Start, err)
	}
	if p.end, err = parser.Parse(w.End); err != nil {
		return p, fmt.Errorf("end %q: %w", w.End, err)
	}
	if w.Start == w.End {
		return p, fmt.Errorf("start and end are the same (%q): KEDA refuses that", w.Start)
	}
	if p.loc, err = time.LoadLocation(w.Timezone); err != nil || w.Timezone == "" {
		return p, fmt.Errorf("timezone %q is not an IANA time zone such as Europe/Berlin or UTC", w.Timezone)
	}
	return p, nil
}

// Active reports whether the window holds workers up at t.
func (w Window) Active(t time.Time) (bool, error) {
	p, err := w.parse()
	if err != nil {
		return false, err
	}
	return p.active(t), nil
}

func (p parsed) active(t time.Time) bool {
	t = t.In(p.loc)
	return p.end.Next(t).Before(p.start.Next(t))
}

// referenceMonth starts the span HoursPerMonth measures, at midnight of a
// Monday in the window's own zone: a fixed span, so an estimate does not
// change with the day it is made.
func referenceMonth(loc *time.Location) time.Time {
	return time.Date(2026, time.January, 5, 0, 0, 0, 0, loc)
}

// HoursPerMonth is how many hours of a month of `hours` hours the window is
// active, measured from event to event (start and end times) over a fixed
// reference month, in the window's own zone.
func (w Window) HoursPerMonth(hours float64) (float64, error) {
	p, err := w.parse()
	if err != nil {
		return 0, err
	}
	from := referenceMonth(p.loc)
	to := from.Add(time.Duration(hours * float64(time.Hour)))
	active := time.Duration(0)
	t := from
	for t.Before(to) {
		nextStart, nextEnd := p.start.Next(t), p.end.Next(t)
		if p.active(t) {
			// Active until the end fires.
			end := minTime(nextEnd, to)
			active += end.Sub(t)
			t = end
			continue
		}
		t = minTime(nextStart, to)
	}
	return active.Hours(), nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
