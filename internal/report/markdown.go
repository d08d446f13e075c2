package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/pier-deploy/pier/internal/plan"
)

// cell makes s safe inside a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// markdownPunct are the characters that GitHub's Markdown would read as
// formatting in prose: a redacted role such as "~~/ecsTaskExecutionRole"
// would otherwise render struck through, and "<nil>" vanish as a tag.
var markdownPunct = strings.NewReplacer(
	`\`, `\\`, "*", `\*`, "_", `\_`, "~", `\~`, "<", `\<`, ">", `\>`,
	"[", `\[`, "]", `\]`, "|", `\|`, "\n", " ")

// prose makes s, text from ECS or pier's own messages, read literally in
// Markdown, in a table cell or a list item alike. Backticks are kept: pier's
// messages quote commands in them on purpose.
func prose(s string) string { return markdownPunct.Replace(s) }

// PlanMarkdown renders a plan for a GitHub step summary or a pull-request comment.
func PlanMarkdown(w io.Writer, p *plan.Plan) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### pier plan: `%s`\n\n", p.File)
	if len(p.Images) > 0 {
		b.WriteString("| image | reference | registry |\n|---|---|---|\n")
		for _, im := range p.Images {
			state := "present"
			if !im.Present {
				state = "**to push**"
			}
			fmt.Fprintf(&b, "| %s | `%s` | %s |\n", cell(im.Name), cell(im.Ref()), state)
		}
		b.WriteString("\n")
	}
	b.WriteString("| service | strategy | task definition | desired count | action |\n|---|---|---|---|---|\n")
	for _, s := range p.Services {
		fmt.Fprintf(&b, "| %s | %s | %s → %s | %d → %d | %s |\n", cell(s.Name), s.Strategy, s.Current, s.Target,
			s.DesiredCount.Old, s.DesiredCount.New, s.Action)
	}
	for _, s := range p.Services {
		if len(s.Changes) == 0 && len(s.Findings) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n<details><summary>%s: %d field(s) changed, %d finding(s)</summary>\n\n", cell(s.Name), len(s.Changes), len(s.Findings))
		if len(s.Changes) > 0 {
			b.WriteString("```diff\n")
			for _, c := range s.Changes {
				fmt.Fprintf(&b, "  %s\n", c.Path)
				if c.Old != "" {
					fmt.Fprintf(&b, "- %s\n", c.Old)
				}
				if c.New != "" {
					fmt.Fprintf(&b, "+ %s\n", c.New)
				}
			}
			b.WriteString("```\n")
		}
		for _, f := range s.Findings {
			fmt.Fprintf(&b, "- **%s** %s: %s", f.Severity, f.Check, prose(f.Message))
			if f.Fix != "" {
				fmt.Fprintf(&b, " — fix: %s", prose(f.Fix))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n</details>\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

var outcomeIcon = map[Outcome]string{Success: "✅", NoChanges: "➖", RolledBack: "↩️", Failed: "❌", NotStarted: "⏸️", NotRestored: "🛑"}

// RunMarkdown renders a run for a GitHub step summary: images with digests and
// upload cost, services with revisions and outcome, causes, and the events.
func RunMarkdown(w io.Writer, r *Run) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### pier %s: %s %s\n\n", r.Command, outcomeIcon[r.Result], r.Result)
	if r.Simulated {
		fmt.Fprintf(&b, "> Simulated: the run took %s on the sandbox's virtual clock.\n\n", r.Took())
	}
	if r.Cause != "" {
		fmt.Fprintf(&b, "> %s\n\n", prose(r.Cause))
	}
	if len(r.Images) > 0 {
		b.WriteString("| image | digest | blobs uploaded | bytes uploaded |\n|---|---|---|---|\n")
		for _, im := range r.Images {
			fmt.Fprintf(&b, "| %s | `%s` | %d | %d |\n", cell(im.Name), cell(im.Ref), im.Blobs, im.Bytes)
		}
		b.WriteString("\n")
	}
	b.WriteString("| service | outcome | revisions | duration | cause |\n|---|---|---|---|---|\n")
	for _, s := range r.Services {
		fmt.Fprintf(&b, "| %s | %s %s | %s | %s | %s |\n", cell(s.Name), outcomeIcon[s.Outcome], s.Outcome,
			cell(revisions(s)), r.Duration(s.Finished.Sub(s.Started)), prose(s.Cause))
	}
	for _, s := range r.Services {
		if len(s.Events) == 0 && len(s.StoppedTasks) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n<details><summary>%s: %d event(s), %d stopped task(s)</summary>\n\n", cell(s.Name), len(s.Events), len(s.StoppedTasks))
		for _, e := range s.Events {
			fmt.Fprintf(&b, "- `%s` %s\n", e.Time.UTC().Format("15:04:05"), prose(e.Message))
		}
		for _, line := range StoppedLines(s.StoppedTasks, MaxStoppedGroups) {
			fmt.Fprintf(&b, "- %s\n", prose(line))
		}
		b.WriteString("\n</details>\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
