package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pier-deploy/pier/internal/plan"
)

// ProgressLine formats one progress line for a terminal or a CI log. A phase
// of the run starts with "==> " so log viewers (the GitHub action) can fold
// by phase.
//
// Services run in parallel, so a service's phase is a line of that service
// like its others ("[    2s] backend: rollout"), not a header that would
// suggest an order; only the run's own phases (build, push, plan) are
// headers.
func ProgressLine(p Progress) string {
	switch p.Kind {
	case PhaseStart:
		if p.Service == "" {
			return "==> " + p.Message
		}
	case Waiting:
		if p.Wait != nil {
			return fmt.Sprintf("[%6s] %s%s, %s", Elapsed(p.Elapsed), svcPrefix(p.Service), p.Message, Elapsed(p.Wait.Since))
		}
	case Warn:
		return fmt.Sprintf("[%6s] %swarning: %s", Elapsed(p.Elapsed), svcPrefix(p.Service), p.Message)
	case Error:
		return fmt.Sprintf("[%6s] %serror: %s", Elapsed(p.Elapsed), svcPrefix(p.Service), p.Message)
	case ECSEvent:
		return fmt.Sprintf("[%6s] %s%s %s", Elapsed(p.Elapsed), svcPrefix(p.Service), p.Time.UTC().Format("15:04:05"), p.Message)
	}
	return fmt.Sprintf("[%6s] %s%s", Elapsed(p.Elapsed), svcPrefix(p.Service), p.Message)
}

func svcPrefix(s string) string {
	if s == "" {
		return ""
	}
	return s + ": "
}

// Elapsed formats a duration to the second: 0s, 42s, 3m07s, 1h02m03s.
func Elapsed(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh%02dm%02ds", h, m, s)
	case m > 0:
		return fmt.Sprintf("%dm%02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

// JSON writes v as one indented JSON document. A run that stopped before
// any image or service (lint errors, a stale plan) still has "images": []
// and "services": [], so `jq '.services[]'` works on every report.
func JSON(w io.Writer, v any) error {
	if r, ok := v.(*Run); ok && r != nil && (r.Images == nil || r.Services == nil) {
		c := *r
		if c.Images == nil {
			c.Images = []Image{}
		}
		if c.Services == nil {
			c.Services = []Service{}
		}
		v = &c
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// PlanText renders a plan for a terminal.
func PlanText(w io.Writer, p *plan.Plan) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Plan for %s\n", p.File)
	push := 0
	if len(p.Images) > 0 {
		b.WriteString("\nImages\n")
		for _, im := range p.Images {
			state := "in the registry"
			if !im.Present {
				state = "to push"
				push++
			}
			fmt.Fprintf(&b, "  %-20s %s  (%s)\n", im.Name, im.Ref(), state)
		}
	}
	change, same := 0, 0
	b.WriteString("\nServices\n")
	for _, s := range p.Services {
		if s.Changed() {
			change++
		} else if s.Action == plan.NoChange {
			same++
		}
		fmt.Fprintf(&b, "  %s\n", ServiceLine(s))
		for _, c := range s.Changes {
			fmt.Fprintf(&b, "    ~ %s\n", c.Path)
			if c.Old != "" {
				fmt.Fprintf(&b, "        - %s\n", c.Old)
			}
			if c.New != "" {
				fmt.Fprintf(&b, "        + %s\n", c.New)
			}
		}
		if s.Changed() {
			for i, st := range s.Steps {
				fmt.Fprintf(&b, "    %d. %s\n", i+1, st)
			}
		}
		for _, f := range s.Findings {
			fmt.Fprintf(&b, "    %s: %s: %s\n", f.Severity, f.Check, f.Message)
			if f.Fix != "" {
				fmt.Fprintf(&b, "      fix: %s\n", f.Fix)
			}
		}
	}
	fmt.Fprintf(&b, "\n%d to change, %d unchanged, %d image(s) to push.\n", change, same, push)
	_, err := io.WriteString(w, b.String())
	return err
}

// ServiceLine is one line saying what the plan does to a service.
func ServiceLine(s plan.Service) string {
	line := fmt.Sprintf("%s (%s in %s, %s): %s", s.Name, s.Service, s.Cluster, s.Strategy, actionText(s))
	if n := len(s.Changes); n > 0 {
		line += fmt.Sprintf(", %d field(s) changed", n)
	}
	return line
}

func actionText(s plan.Service) string {
	switch s.Action {
	case plan.NoChange:
		return "no changes (" + s.Current.String() + ")"
	case plan.Update:
		return fmt.Sprintf("update desired count %d → %d on %s", s.DesiredCount.Old, s.DesiredCount.New, s.Current)
	case plan.Reuse:
		return fmt.Sprintf("%s → %s (identical revision reused)", s.Current, s.Target)
	case plan.Register:
		return fmt.Sprintf("%s → %s (new revision)", s.Current, s.Target)
	}
	return "cannot deploy"
}

// RunText renders the final summary of a run, after its progress lines.
func RunText(w io.Writer, r *Run) error {
	var b strings.Builder
	b.WriteString("\n")
	for _, im := range r.Images {
		fmt.Fprintf(&b, "image   %-20s %s (%d blobs, %d bytes uploaded)\n", im.Name, im.Ref, im.Blobs, im.Bytes)
	}
	for _, s := range r.Services {
		fmt.Fprintf(&b, "service %-20s %-12s %s  %s\n", s.Name, s.Outcome, revisions(s), r.Duration(s.Finished.Sub(s.Started)))
		if s.Cause != "" {
			fmt.Fprintf(&b, "        cause: %s\n", s.Cause)
		}
		for _, line := range StoppedLines(s.StoppedTasks, MaxStoppedGroups) {
			fmt.Fprintf(&b, "        %s\n", line)
		}
		if len(s.Deregistered) > 0 {
			fmt.Fprintf(&b, "        deregistered: %s\n", strings.Join(s.Deregistered, ", "))
		}
	}
	fmt.Fprintf(&b, "%s: %s in %s\n", r.Command, r.Result, r.Took())
	if r.Cause != "" {
		fmt.Fprintf(&b, "cause: %s\n", r.Cause)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// revisions tells the revision story: old → new, and where the service ended.
func revisions(s Service) string {
	if s.New.String() == "" || s.New == s.Old {
		return s.Final.String()
	}
	out := s.Old.String() + " → " + s.New.String()
	if s.Final != s.New {
		out += ", now on " + s.Final.String()
	}
	return out
}

// Duration formats a duration of the run, labelled when it is simulated:
// "8m15s simulated" is not eight minutes anyone waited.
func (r *Run) Duration(d time.Duration) string {
	if r.Simulated {
		return Elapsed(d) + " simulated"
	}
	return Elapsed(d)
}

// Took is how long the whole run took: "8m15s", or for a simulated run
// "8m15s simulated (0.4s real)".
func (r *Run) Took() string {
	s := r.Duration(r.Finished.Sub(r.Started))
	if r.Simulated {
		s += " (" + RealElapsed(r.RealSeconds) + " real)"
	}
	return s
}

// RealElapsed formats a real duration in seconds: tenths under a minute
// (a sandbox run takes about a second), else as Elapsed.
func RealElapsed(seconds float64) string {
	if seconds < 59.95 {
		return fmt.Sprintf("%.1fs", seconds)
	}
	return Elapsed(time.Duration(seconds * float64(time.Second)))
}
