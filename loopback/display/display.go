// Package display shows Pulumi engine events the way a person reads `pulumi up`.
package display

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// Display renders engine events the way `pulumi up` reads: one line per
// resource step when it finishes (with how long it took), warnings and
// errors once, policy violations, and nothing for unchanged resources. The
// CLI's own non-interactive output repeats a resource's line on every
// progress tick; that full text goes to a log file instead (see LogFile).
type Display struct {
	out     io.Writer
	started map[string]time.Time
	now     func() time.Time
}

// NewDisplay writes to out.
func New(out io.Writer) *Display {
	return &Display{out: out, started: map[string]time.Time{}, now: time.Now}
}

// Run consumes events until the channel closes.
func (d *Display) Run(ch <-chan events.EngineEvent) {
	for e := range ch {
		d.Handle(e.EngineEvent)
	}
}

var opSymbols = map[apitype.OpType]struct{ symbol, done string }{
	apitype.OpCreate:               {"+", "created"},
	apitype.OpUpdate:               {"~", "updated"},
	apitype.OpDelete:               {"-", "deleted"},
	apitype.OpReplace:              {"+-", "replaced"},
	apitype.OpCreateReplacement:    {"++", "created replacement"},
	apitype.OpDeleteReplaced:       {"--", "deleted original"},
	apitype.OpRead:                 {">", "read"},
	apitype.OpRefresh:              {"~", "refreshed"},
	apitype.OpImport:               {"=", "imported"},
	apitype.OpImportReplacement:    {"=>", "imported replacement"},
	apitype.OpDiscardReplaced:      {"-", "discarded"},
	apitype.OpReadReplacement:      {">>", "read replacement"},
	apitype.OpReadDiscard:          {"<", "discarded"},
	apitype.OpRemovePendingReplace: {"-", "removed pending replace"},
}

// ansi strips the color codes diagnostics carry.
var ansi = regexp.MustCompile(`\x1b\[[0-9;]*m|<\{%[a-z]*%\}>`)

// Handle renders one event.
func (d *Display) Handle(e apitype.EngineEvent) {
	switch {
	case e.ResourcePreEvent != nil:
		m := e.ResourcePreEvent.Metadata
		if m.Op != apitype.OpSame {
			d.started[m.URN+string(m.Op)] = d.now()
		}
	case e.ResOutputsEvent != nil:
		m := e.ResOutputsEvent.Metadata
		if m.Op == apitype.OpSame || m.Type == "pulumi:pulumi:Stack" {
			return
		}
		d.step(m, "", d.took(m))
	case e.ResOpFailedEvent != nil:
		m := e.ResOpFailedEvent.Metadata
		d.step(m, "failed", d.took(m))
	case e.DiagnosticEvent != nil:
		diag := e.DiagnosticEvent
		if diag.Ephemeral || diag.Severity == "debug" {
			return
		}
		msg := strings.TrimSpace(ansi.ReplaceAllString(diag.Message, ""))
		if msg == "" {
			return
		}
		who := ""
		if diag.URN != "" {
			who = " " + resourceName(diag.URN)
		}
		fmt.Fprintf(d.out, "    %s%s: %s\n", diag.Severity, who, indent(msg))
	case e.PolicyEvent != nil:
		p := e.PolicyEvent
		fmt.Fprintf(d.out, "    policy %s (%s)%s: %s\n", p.PolicyName, p.EnforcementLevel, urnSuffix(p.ResourceURN), indent(strings.TrimSpace(ansi.ReplaceAllString(p.Message, ""))))
	}
}

func (d *Display) took(m apitype.StepEventMetadata) time.Duration {
	start, ok := d.started[m.URN+string(m.Op)]
	if !ok {
		return 0
	}
	return d.now().Sub(start)
}

func (d *Display) step(m apitype.StepEventMetadata, failed string, took time.Duration) {
	op := opSymbols[m.Op]
	if op.symbol == "" {
		op.symbol, op.done = "?", string(m.Op)
	}
	if failed != "" {
		op.done = string(m.Op) + " failed"
	}
	diff := ""
	if m.Op == apitype.OpUpdate && len(m.Diffs) > 0 {
		diff = " [diff: " + strings.Join(m.Diffs, ", ") + "]"
	}
	fmt.Fprintf(d.out, " %-2s %s %s %s (%.1fs)%s\n", op.symbol, m.Type, resourceName(m.URN), op.done, took.Seconds(), diff)
}

// resourceName is the last part of a URN, the resource's logical name.
func resourceName(urn string) string {
	if i := strings.LastIndex(urn, "::"); i >= 0 {
		return urn[i+2:]
	}
	return urn
}

func urnSuffix(urn string) string {
	if urn == "" {
		return ""
	}
	return " " + resourceName(urn)
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n      ") }
