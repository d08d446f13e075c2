package ghaction

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pier-deploy/pier/internal/plan"
	"github.com/pier-deploy/pier/internal/registry"
	"github.com/pier-deploy/pier/internal/report"
)

// Env is what the action takes from its process.
type Env struct {
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Chdir moves the process into working-directory (os.Chdir); the container runs
	// one action, so changing the process's directory is its to do.
	Chdir func(dir string) error
}

// RunFunc runs one pier command line (without the program name) with the given
// streams and environment and returns its exit code: cli.Run.
type RunFunc func(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int

// lastLines is how much of the command's error output a failed run's summary quotes.
const lastLines = 15

// exitUsage mirrors the CLI's exit code for input errors; the action's own input
// errors are the same kind of mistake.
const exitUsage = 2

// Main runs the action: inputs → the pier command line → outputs, job summary and
// annotations. Its exit code is the command's, so a failed or rolled-back deploy fails
// the step, and the result output says which.
func Main(ctx context.Context, env Env, run RunFunc) int {
	w := NewWriter(env.Stdout, env.Getenv)
	in, err := ReadInputs(env.Getenv)
	if err != nil {
		w.Errorf("pier action: %v", err)
		_ = w.SetOutputs(Outputs{Result: Failed})
		return exitUsage
	}
	workspace := env.Getenv("GITHUB_WORKSPACE")
	dir := in.Dir(workspace)
	if dir != "" {
		if err := env.Chdir(dir); err != nil {
			w.Errorf("pier action: changing to working-directory %q: %v", in.WorkingDirectory, err)
			_ = w.SetOutputs(Outputs{Result: Failed})
			return exitUsage
		}
	}
	if hint := actHint(in, env.Getenv); hint != "" {
		w.Notice(hint)
	}

	args := in.CommandLine()
	fmt.Fprintf(env.Stdout, "pier %s\n", quoteArgs(args))
	stdout := &commandSplitter{log: env.Stdout}
	cmdOut := io.Writer(stdout)
	var text bytes.Buffer
	if !in.JSON() {
		// status: for people, straight to the log, and kept for the summary.
		cmdOut = io.MultiWriter(env.Stdout, &text)
	}
	getenv, cleanup, err := privateCache(env.Getenv)
	if err != nil {
		w.Errorf("pier action: %v", err)
		_ = w.SetOutputs(Outputs{Result: Failed})
		return 1
	}
	defer cleanup()

	last := &tail{n: lastLines}
	progress := GroupPhases(env.Stderr)
	// Lint findings that deploy and plan print, and errors at a place in pier.yaml,
	// become annotations on their lines (command: lint annotates from its JSON).
	positions := AnnotatePositions(progress, dir, workspace)
	code := run(ctx, args, cmdOut, io.MultiWriter(positions, last), getenv)
	_ = positions.Close()
	_ = progress.Close()

	out, sum := interpret(in, code, stdout.Bytes(), dir, workspace, env.Stdout, w)
	if text.Len() > 0 {
		sum.Notes = append(sum.Notes, "```\n"+strings.TrimRight(text.String(), "\n")+"\n```")
	}
	if code != 0 && len(sum.Failures) == 0 {
		if t := last.String(); t != "" {
			sum.Notes = append(sum.Notes, "The last lines pier printed:\n\n```\n"+t+"\n```")
		}
		// Why the step failed, at the top of the run's page (a failed service says so
		// itself, and an error at a file position is already annotated on its line).
		// A plan that printed itself annotated its errors (interpret).
		if l := strings.TrimSpace(last.Last()); l != "" && sum.Plan == "" && !positionLine.MatchString(l) && !strings.HasPrefix(l, PhaseMarker) {
			w.ErrorTitled("pier "+in.Command+" failed", l)
		}
	}
	sum.Command = in.Command
	sum.Sandbox = in.Sandbox
	if err := w.SetOutputs(out); err != nil {
		w.Errorf("pier action: %v", err)
		return max(code, 1)
	}
	if err := w.AddSummary(sum.Markdown()); err != nil {
		w.Errorf("pier action: %v", err)
		return max(code, 1)
	}
	return code
}

// privateCache gives the command a build cache in a temporary directory of the
// container, removed afterwards, unless PIER_CACHE names one: the action writes
// nothing to the runner's disks (the workspace, /github/home) but its outputs and the
// summary.
func privateCache(getenv func(string) string) (func(string) string, func(), error) {
	if getenv("PIER_CACHE") != "" {
		return getenv, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "pier-cache-")
	if err != nil {
		return nil, nil, fmt.Errorf("creating a temporary build cache: %w (set PIER_CACHE to a writable directory)", err)
	}
	return func(k string) string {
			if k == "PIER_CACHE" {
				return dir
			}
			return getenv(k)
		}, func() {
			_ = os.RemoveAll(dir)
		}, nil
}

// interpret reads the command's JSON output into outputs and a summary, and prints
// the human form of it to the log (the command itself printed JSON).
func interpret(in Inputs, code int, stdout []byte, dir, workspace string, log io.Writer, w *Writer) (Outputs, Summary) {
	fallback := Outputs{Result: resultOfExit(code)}
	switch in.Command {
	case "deploy", "rollback":
		var r report.Run
		if err := json.Unmarshal(stdout, &r); err != nil || r.Command == "" {
			return noReport(code, stdout, log)
		}
		_ = report.RunText(log, &r)
		ServiceGroups(log, w, &r)
		o, s := FromRun(&r, in.Sandbox)
		return o, s
	case "plan":
		p, err := plan.Read("plan", stdout)
		if err != nil {
			return noReport(code, stdout, log)
		}
		_ = report.PlanText(log, p)
		o, s, err := FromPlan(p, stdout, in.Sandbox)
		if err != nil {
			w.Errorf("pier action: %v", err)
			return noReport(1, nil, log)
		}
		// Exit 2 with a clean plan that has changes is `args: --detailed-exitcode`
		// saying "changes": the step fails as asked, but the plan succeeded.
		detailedChanges := code == 2 && o.Changed && len(p.Errors()) == 0
		if code != 0 && !detailedChanges {
			// A plan with preflight errors: printed, but deploy would refuse it.
			o.Result, s.Result = Failed, Failed
			for _, f := range p.Errors() {
				msg := f.Message
				if f.Fix != "" {
					msg += " (fix: " + f.Fix + ")"
				}
				w.ErrorTitled("pier plan: "+f.Check, msg)
			}
		}
		return o, s
	case "lint":
		return lintResult(code, stdout, dir, workspace, log, w)
	case "push":
		var doc struct {
			Images []registry.Result `json:"images"`
		}
		if err := json.Unmarshal(stdout, &doc); err != nil {
			return noReport(code, stdout, log)
		}
		o, s := FromPush(doc.Images)
		if code != 0 {
			o.Result, s.Result = Failed, Failed
		}
		for _, r := range doc.Images {
			fmt.Fprintln(log, r)
		}
		return o, s
	}
	return fallback, Summary{Result: fallback.Result}
}

// noReport is the outcome of a command that printed no report: an input error, a
// crash of the command before its first step. Whatever it printed goes to the log.
func noReport(code int, stdout []byte, log io.Writer) (Outputs, Summary) {
	if len(bytes.TrimSpace(stdout)) > 0 {
		log.Write(stdout)
	}
	r := resultOfExit(code)
	s := Summary{Result: r}
	if code != 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("pier exited with code %d before producing a report; the step's log shows why.", code))
	}
	return Outputs{Result: r}, s
}

// resultOfExit maps an exit code to the result output when no report tells more.
func resultOfExit(code int) Result {
	switch code {
	case 0:
		return Success
	case 3:
		return RolledBack
	default:
		return Failed
	}
}

// lintResult annotates the findings of `lint --output json` on their lines.
func lintResult(code int, stdout []byte, dir, workspace string, log io.Writer, w *Writer) (Outputs, Summary) {
	var doc struct {
		Findings []Finding `json:"findings"`
	}
	if err := json.Unmarshal(stdout, &doc); err != nil {
		return noReport(code, stdout, log)
	}
	w.Group(fmt.Sprintf("lint: %d finding(s)", len(doc.Findings)))
	for _, f := range doc.Findings {
		fmt.Fprintf(log, "%s:%d:%d: %s: %s: %s\n", f.File, f.Line, f.Col, f.Severity, f.Rule, f.Message)
	}
	w.EndGroup()
	w.Annotate(doc.Findings, dir, workspace)
	r := resultOfExit(code)
	s := Summary{Result: r}
	if len(doc.Findings) == 0 {
		s.Notes = append(s.Notes, "No findings.")
	} else {
		errs := 0
		for _, f := range doc.Findings {
			if f.Severity == "error" {
				errs++
			}
		}
		s.Notes = append(s.Notes, fmt.Sprintf("%d error(s), %d warning(s):", errs, len(doc.Findings)-errs))
		var b strings.Builder
		b.WriteString("| Where | Severity | Rule | Message |\n|---|---|---|---|\n")
		for _, f := range doc.Findings {
			fmt.Fprintf(&b, "| `%s:%d:%d` | %s | %s | %s |\n", cell(repoPath(f.File, dir, workspace)), f.Line, f.Col, text(f.Severity), text(f.Rule), text(f.Message))
		}
		s.Notes = append(s.Notes, strings.TrimSuffix(b.String(), "\n"))
	}
	return Outputs{Result: r}, s
}

// actHint explains, under act without AWS credentials, how to run anyway.
func actHint(in Inputs, getenv func(string) string) string {
	if getenv("ACT") != "true" || in.Sandbox || in.Command == "lint" {
		return ""
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		if getenv(k) != "" {
			return ""
		}
	}
	return "Running under act with no AWS credentials in the environment: set `sandbox: true` on the pier step " +
		"(nexus-upgrade.yml: --input sandbox=true) to run against pier's embedded simulator, " +
		"or pass credentials with act -s AWS_ACCESS_KEY_ID -s AWS_SECRET_ACCESS_KEY -s AWS_SESSION_TOKEN."
}

// quoteArgs prints a command line so it can be pasted into a shell.
func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@,+") == "" {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}
