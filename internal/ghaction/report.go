package ghaction

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pier-deploy/pier/internal/plan"
	"github.com/pier-deploy/pier/internal/registry"
	"github.com/pier-deploy/pier/internal/report"
)

// sigterm is the exit code of a container ECS stopped because another, essential one
// exited: the other code is the one that explains the stop.
const sigterm = 143

// maxEvents is how many of a failed service's last events the summary shows: enough
// to see the cause, few enough to read.
const maxEvents = 10

// maxReason caps one stopped reason in the summary: ECS's pull errors run to
// hundreds of characters; the JSON report keeps them whole.
const maxReason = 300

// resultOf maps a run's outcome to the result output, which names fewer cases: a
// service left unrestored is a failure like any other.
func resultOf(o report.Outcome) Result {
	switch o {
	case report.Success:
		return Success
	case report.NoChanges:
		return NoChanges
	case report.RolledBack:
		return RolledBack
	default:
		return Failed
	}
}

// FromRun turns the report of `deploy` or `rollback` into the action's outputs and job summary.
func FromRun(r *report.Run, sandbox bool) (Outputs, Summary) {
	o := Outputs{
		Images:          map[string]string{},
		TaskDefinitions: map[string]string{},
		Result:          resultOf(r.Result),
	}
	s := Summary{Command: r.Command, Result: o.Result, Sandbox: sandbox}
	for _, im := range r.Images {
		o.Images[im.Name] = im.Ref
		if im.Blobs > 0 {
			o.Changed = true
		}
		s.Images = append(s.Images, ImageRow{Name: im.Name, Reference: im.Ref, Blobs: im.Blobs, Bytes: im.Bytes})
	}
	for _, ph := range r.Phases {
		s.Timeline = append(s.Timeline, Span{
			Section: "run", Name: ph.Name, Start: ph.Started, End: ph.Finished,
			Failed: ph.Result != "" && ph.Result != "ok",
		})
	}
	failedCauses := map[string]bool{}
	for _, sv := range r.Services {
		// The revision the service runs now; a service whose deploy never got that far
		// reports only what it ran before.
		final := sv.Final
		if final.Arn == "" && final.Family == "" {
			final = sv.Old
		}
		if final.Arn != "" {
			o.TaskDefinitions[sv.Name] = final.Arn
		}
		if sv.Registered || sv.Updated {
			o.Changed = true
		}
		s.Services = append(s.Services, ServiceRow{
			Name:     sv.Name,
			From:     sv.Old.String(),
			To:       toRevision(sv),
			Strategy: sv.Strategy,
			Outcome:  outcomeText(sv),
			Duration: nonNegative(sv.Finished.Sub(sv.Started)),
		})
		for _, ph := range sv.Phases {
			s.Timeline = append(s.Timeline, Span{
				Section: sv.Name, Name: ph.Name, Start: ph.Started, End: ph.Finished,
				Failed: ph.Result != "" && ph.Result != "ok",
			})
		}
		if sv.Outcome == report.RolledBack || sv.Outcome == report.Failed || sv.Outcome == report.NotStarted || sv.Outcome == report.NotRestored {
			s.Failures = append(s.Failures, failureOf(sv))
			failedCauses[sv.Cause] = true
		}
	}
	// A cause of the whole run (a build error, a refused plan) that no service carries.
	if r.Cause != "" && !causeCovered(r.Cause, failedCauses) {
		s.Notes = append(s.Notes, "**Cause:** "+text(r.Cause))
	}
	return o, s
}

// causeCovered reports whether the run's cause repeats a service's (the engine often
// words it "service: cause").
func causeCovered(cause string, services map[string]bool) bool {
	for c := range services {
		if c != "" && strings.HasSuffix(cause, c) {
			return true
		}
	}
	return false
}

func toRevision(sv report.Service) string {
	to := sv.New.String()
	if sv.Final != sv.New && sv.Final.String() != "" {
		// Rolled back: show where it was going and where it is.
		return to + ", back on " + sv.Final.String()
	}
	return to
}

func outcomeText(sv report.Service) string {
	icon := map[report.Outcome]string{
		report.Success: "✅", report.NoChanges: "➖", report.RolledBack: "↩️", report.Failed: "❌", report.NotStarted: "⏸️", report.NotRestored: "🛑",
	}[sv.Outcome]
	return strings.TrimSpace(icon + " " + string(sv.Outcome))
}

func failureOf(sv report.Service) Failure {
	f := Failure{Service: sv.Name, Outcome: string(sv.Outcome), Cause: sv.Cause}
	events := sv.Events
	if len(events) > maxEvents {
		events = events[len(events)-maxEvents:]
	}
	for _, e := range events {
		f.Events = append(f.Events, Event{At: e.Time, Message: e.Message})
	}
	// One row per reason: a pull failure that stopped twelve tasks is one
	// row with its count and newest task, not twelve; the rest is one row.
	groups := report.GroupStopped(sv.StoppedTasks)
	for i, g := range groups {
		if i == report.MaxStoppedGroups {
			rest := 0
			for _, g := range groups[i:] {
				rest += g.Count
			}
			what := "other reasons"
			if len(groups)-i == 1 {
				what = "other reason"
			}
			f.StoppedTasks = append(f.StoppedTasks, StoppedTask{Count: rest,
				Reason: fmt.Sprintf("%d %s (every stopped task is in the JSON report)", len(groups)-i, what)})
			break
		}
		t := g.Newest
		reason := report.Shorten(g.Reason, maxReason)
		switch {
		case t.StopCode == "":
		case strings.HasPrefix(reason, t.Reason):
			// The stop code belongs to ECS's reason, before the containers.
			reason = t.Reason + " (" + t.StopCode + ")" + reason[len(t.Reason):]
		default:
			reason += " (" + t.StopCode + ")"
		}
		st := StoppedTask{ID: t.ID, Count: g.Count, Reason: reason}
		for _, c := range t.Containers {
			if c.ExitCode != nil && *c.ExitCode != 0 && (st.ExitCode == nil || *st.ExitCode == sigterm) {
				st.ExitCode = c.ExitCode
			}
		}
		f.StoppedTasks = append(f.StoppedTasks, st)
	}
	return f
}

// FromPlan turns `plan --output json` into outputs and a summary: the plan's Markdown
// (ready to paste into a pull request), the images it would push, the task definitions
// the services would run when they are already known.
func FromPlan(p *plan.Plan, raw []byte, sandbox bool) (Outputs, Summary, error) {
	o := Outputs{
		Images:          map[string]string{},
		TaskDefinitions: map[string]string{},
		Changed:         p.HasChanges(),
		Result:          NoChanges,
	}
	if o.Changed {
		o.Result = Success
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return Outputs{}, Summary{}, fmt.Errorf("compacting the plan JSON: %w", err)
	}
	o.Plan = compact.Bytes()
	for _, im := range p.Images {
		o.Images[im.Name] = im.Ref()
	}
	for _, sv := range p.Services {
		if sv.Target.Arn != "" {
			o.TaskDefinitions[sv.Name] = sv.Target.Arn
		}
	}
	var md strings.Builder
	if err := report.PlanMarkdown(&md, p); err != nil {
		return Outputs{}, Summary{}, fmt.Errorf("rendering the plan as Markdown: %w", err)
	}
	s := Summary{Command: "plan", Result: o.Result, Sandbox: sandbox, Plan: md.String()}
	if errs := p.Errors(); len(errs) > 0 {
		for _, f := range errs {
			s.Notes = append(s.Notes, "- ❌ "+text(f.Message))
		}
	}
	return o, s, nil
}

// ServiceGroups prints one collapsed log group per service of a run: its phases, the
// service events pier saw and the tasks that stopped. Live progress interleaves the
// parallel services; these groups tell each service's story on its own.
func ServiceGroups(log io.Writer, w *Writer, r *report.Run) {
	for _, sv := range r.Services {
		w.Group(fmt.Sprintf("%s: %s (%s)", sv.Name, sv.Outcome, revisionChange(sv.Old.String(), toRevision(sv))))
		for _, ph := range sv.Phases {
			fmt.Fprintf(log, "%-13s %s → %s  %s\n", ph.Name, clock(ph.Started), clock(ph.Finished), ph.Result)
		}
		if sv.Cause != "" {
			fmt.Fprintf(log, "cause: %s\n", sv.Cause)
		}
		for _, e := range sv.Events {
			fmt.Fprintf(log, "%s %s\n", clock(e.Time), e.Message)
		}
		for _, line := range report.StoppedLines(sv.StoppedTasks, report.MaxStoppedGroups) {
			fmt.Fprintln(log, line)
		}
		w.EndGroup()
		if sv.Outcome == report.RolledBack || sv.Outcome == report.Failed || sv.Outcome == report.NotStarted || sv.Outcome == report.NotRestored {
			w.ErrorTitled("pier: "+sv.Name+" "+string(sv.Outcome), nonEmpty(sv.Cause, "no cause recorded; the log group "+sv.Name+" has the events"))
		}
	}
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "--:--:--"
	}
	return t.UTC().Format("15:04:05")
}

// FromPush turns `push --output json` into outputs and a summary: the images pushed
// and what uploading them cost.
func FromPush(results []registry.Result) (Outputs, Summary) {
	o := Outputs{Images: map[string]string{}, TaskDefinitions: map[string]string{}, Result: Success}
	s := Summary{Command: "push", Result: Success}
	for _, r := range results {
		o.Images[r.Name] = r.Reference
		if r.Blobs > 0 || r.Created {
			o.Changed = true
		}
		s.Images = append(s.Images, ImageRow{Name: r.Name, Reference: r.Reference, Blobs: r.Blobs, Bytes: r.Bytes})
	}
	return o, s
}
