package ghaction

import (
	"fmt"
	"strings"
	"time"
)

// Summary is what the job summary shows. It is plain data, filled from a run report or
// a plan by the command that ran, and rendered by Markdown.
type Summary struct {
	Command  string // deploy, plan, push, rollback, …
	Result   Result
	Sandbox  bool // say so: nothing in AWS changed
	Images   []ImageRow
	Services []ServiceRow
	Timeline []Span
	Failures []Failure
	Plan     string // Markdown of the plan, for command: plan
	Notes    []string
}

// ImageRow is one image: what was pushed (or would be) and what it cost.
type ImageRow struct {
	Name      string
	Reference string // repository@sha256:…
	Blobs     int    // blobs uploaded; 0 when the registry had them all
	Bytes     int64  // bytes uploaded
	Present   bool   // the registry already had the manifest
}

// ServiceRow is one service's rollout.
type ServiceRow struct {
	Name     string
	From     string // task definition before, family:revision
	To       string // task definition after, family:revision
	Strategy string
	Outcome  string
	Duration time.Duration
}

// Span is one bar of the timeline: a phase (build, push, register) or a service's rollout.
type Span struct {
	Section string // the chart's section: images, services, …
	Name    string
	Start   time.Time
	End     time.Time
	Failed  bool
}

// Failure explains why a service did not succeed.
type Failure struct {
	Service      string
	Outcome      string
	Cause        string
	Events       []Event
	StoppedTasks []StoppedTask
}

// Event is one ECS service event.
type Event struct {
	At      time.Time
	Message string
}

// StoppedTask is Count tasks ECS stopped for one reason, and the newest of them.
type StoppedTask struct {
	ID       string // the newest task of the reason
	Count    int
	Reason   string
	ExitCode *int32 // the essential container's exit code, when known
}

var resultBadge = map[Result]string{
	Success:    "✅ success",
	NoChanges:  "✅ no changes",
	RolledBack: "↩️ rolled back",
	Failed:     "❌ failed",
}

// Markdown renders the summary for $GITHUB_STEP_SUMMARY: the result, an images table, a
// services table, a Mermaid gantt timeline, the failures with their events and stopped
// tasks, and the plan.
func (s *Summary) Markdown() string {
	var b strings.Builder
	badge := resultBadge[s.Result]
	if s.Command == "plan" && s.Result == Success {
		badge = "📝 changes to apply"
	}
	if badge == "" {
		badge = string(s.Result)
	}
	fmt.Fprintf(&b, "## pier %s: %s\n\n", s.Command, badge)
	if s.Sandbox {
		b.WriteString("> Ran against pier's embedded AWS simulator (`sandbox: true`): nothing in AWS changed, and times and durations are the simulator's virtual time.\n\n")
	}
	for _, n := range s.Notes {
		fmt.Fprintf(&b, "%s\n\n", n)
	}
	if len(s.Images) > 0 {
		b.WriteString("### Images\n\n| Image | Reference | Blobs uploaded | Bytes uploaded |\n|---|---|--:|--:|\n")
		for _, im := range s.Images {
			blobs := fmt.Sprint(im.Blobs)
			if im.Present && im.Blobs == 0 {
				blobs = "0 (already in the registry)"
			}
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", text(im.Name), cell(im.Reference), blobs, humanBytes(im.Bytes))
		}
		b.WriteString("\n")
	}
	if len(s.Services) > 0 {
		b.WriteString("### Services\n\n| Service | Task definition | Strategy | Outcome | Duration |\n|---|---|---|---|--:|\n")
		for _, sv := range s.Services {
			d := duration(sv.Duration)
			if s.Sandbox && d != "" {
				d += " simulated" // the simulator's minutes pass in a second
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", text(sv.Name), revisionChange(sv.From, sv.To), text(sv.Strategy), text(sv.Outcome), d)
		}
		b.WriteString("\n")
	}
	if g := Gantt("pier "+s.Command, s.Timeline); g != "" {
		b.WriteString("### Timeline\n\n")
		b.WriteString(g)
		b.WriteString("\n")
	}
	for _, f := range s.Failures {
		writeFailure(&b, f)
	}
	if s.Plan != "" {
		b.WriteString(strings.TrimRight(s.Plan, "\n"))
		b.WriteString("\n\n")
	}
	return b.String()
}

func writeFailure(b *strings.Builder, f Failure) {
	fmt.Fprintf(b, "### %s: %s\n\n", text(f.Service), text(f.Outcome))
	if f.Cause != "" {
		fmt.Fprintf(b, "**Cause:** %s\n\n", text(f.Cause))
	}
	if len(f.Events) > 0 {
		b.WriteString("Last service events:\n\n| Time (UTC) | Event |\n|---|---|\n")
		for _, e := range f.Events {
			fmt.Fprintf(b, "| %s | %s |\n", e.At.UTC().Format("15:04:05"), text(e.Message))
		}
		b.WriteString("\n")
	}
	if len(f.StoppedTasks) > 0 {
		b.WriteString("Stopped tasks, by reason:\n\n| Tasks | Newest | Reason | Exit code |\n|--:|---|---|--:|\n")
		for _, t := range f.StoppedTasks {
			code := ""
			if t.ExitCode != nil {
				code = fmt.Sprint(*t.ExitCode)
				if *t.ExitCode == 137 {
					code += " (killed: out of memory?)"
				}
			}
			fmt.Fprintf(b, "| %d | %s | %s | %s |\n", t.Count, text(t.ID), text(t.Reason), code)
		}
		b.WriteString("\n")
	}
}

// revisionChange shows "family:24 → 25" when the family stays, else both names.
func revisionChange(from, to string) string {
	switch {
	case from == "" && to == "":
		return ""
	case from == "" || from == to:
		return text(to)
	case to == "":
		return text(from)
	}
	ff, _, okF := strings.Cut(from, ":")
	tf, tr, okT := strings.Cut(to, ":")
	if okF && okT && ff == tf {
		return text(from) + " → " + text(tr)
	}
	return text(from) + " → " + text(to)
}

// cell makes s safe inside a Markdown table cell: one line, no column breaks. It is
// for code spans (`…`), where backslash escapes other than \| are shown as typed.
func cell(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// markdownActive are the characters that would turn text from AWS or a user into
// formatting on GitHub: emphasis (* _), strikethrough (~, as in a redacted "~~role"),
// code spans, links, and HTML (<nil> in an error would vanish as an unknown tag).
var markdownActive = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "~", `\~`,
	"[", `\[`, "]", `\]`, "<", `\<`, ">", `\>`, "&", `\&`,
)

// text makes s safe as prose, in a table cell or a paragraph: what AWS or the user
// wrote shows as written instead of being read as Markdown.
func text(s string) string {
	return cell(markdownActive.Replace(s))
}

func duration(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// nonNegative keeps a duration computed from unset times out of the table.
func nonNegative(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	return d
}
