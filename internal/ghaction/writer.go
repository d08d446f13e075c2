package ghaction

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sethvargo/go-githubactions"
)

// Result is the action's result output.
type Result string

// The values of the result output.
const (
	Success    Result = "success"     // the command did its work and changed something (or had nothing to change, for lint/status)
	NoChanges  Result = "no-changes"  // deploy or plan found nothing to change
	RolledBack Result = "rolled-back" // the deploy failed and the services are back on their previous revisions
	Failed     Result = "failed"      // anything else that did not succeed
)

// Outputs are the action's outputs (action.yml). Empty maps and an empty Plan are
// written as {} and left out respectively, so a later step can always parse images and
// task-definitions as JSON.
type Outputs struct {
	Images          map[string]string // image name → repository@sha256:…
	TaskDefinitions map[string]string // service name → task definition ARN
	Result          Result
	Plan            []byte // the plan as JSON (command: plan)
	Changed         bool
}

// Writer issues workflow commands and writes the runner's files. It wraps
// go-githubactions, whose methods panic on I/O errors, and turns those panics into
// errors so a full disk fails the step with a message instead of a stack trace.
type Writer struct {
	a      *githubactions.Action
	getenv func(string) string
}

// NewWriter writes workflow commands to w and files named by getenv (GITHUB_OUTPUT,
// GITHUB_STEP_SUMMARY).
func NewWriter(w io.Writer, getenv func(string) string) *Writer {
	return &Writer{a: githubactions.New(githubactions.WithWriter(w), githubactions.WithGetenv(getenv)), getenv: getenv}
}

// safely runs f and returns the error go-githubactions panicked with, if any.
func safely(what string, f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: %v", what, r)
		}
	}()
	f()
	return nil
}

// SetOutputs writes every output to $GITHUB_OUTPUT. Outside a runner (no GITHUB_OUTPUT)
// it does nothing: there is nobody to read them.
func (w *Writer) SetOutputs(o Outputs) error {
	if w.getenv("GITHUB_OUTPUT") == "" {
		return nil
	}
	kv := [][2]string{
		{"images", jsonObject(o.Images)},
		{"task-definitions", jsonObject(o.TaskDefinitions)},
		{"result", string(o.Result)},
		{"changed", strconv.FormatBool(o.Changed)},
	}
	if len(o.Plan) > 0 {
		kv = append(kv, [2]string{"plan", strings.TrimSpace(string(o.Plan))})
	}
	for _, p := range kv {
		if err := safely("writing output "+p[0]+" to $GITHUB_OUTPUT", func() { w.a.SetOutput(p[0], p[1]) }); err != nil {
			return err
		}
	}
	return nil
}

// AddSummary appends Markdown to $GITHUB_STEP_SUMMARY; without one it does nothing.
func (w *Writer) AddSummary(markdown string) error {
	if w.getenv("GITHUB_STEP_SUMMARY") == "" {
		return nil
	}
	return safely("writing the job summary to $GITHUB_STEP_SUMMARY", func() { w.a.AddStepSummary(markdown) })
}

// Group opens a collapsed log group; EndGroup closes it.
func (w *Writer) Group(title string) { _ = safely("opening a log group", func() { w.a.Group(title) }) }

// EndGroup closes the log group opened last.
func (w *Writer) EndGroup() { _ = safely("closing a log group", func() { w.a.EndGroup() }) }

// Notice prints a notice annotation (shown on the run's summary page).
func (w *Writer) Notice(msg string) {
	_ = safely("printing a notice", func() { w.a.Noticef("%s", msg) })
}

// Errorf prints an error annotation without a file position.
func (w *Writer) Errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	_ = safely("printing an error", func() { w.a.Errorf("%s", msg) })
}

// ErrorTitled prints an ::error annotation with a title: GitHub lists it at the top of
// the run's page, so the reader sees why the job failed without opening the log.
func (w *Writer) ErrorTitled(title, msg string) {
	a := w.a.WithFieldsMap(map[string]string{"title": title})
	_ = safely("printing an error", func() { a.Errorf("%s", msg) })
}

// Finding is a lint finding positioned in a file.
type Finding struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Col      int    `json:"col"`
	Severity string `json:"severity"` // error, warning or notice
	Rule     string `json:"rule,omitempty"`
	Message  string `json:"message"`
}

// Annotate prints each finding as an ::error/::warning/::notice annotation on its file
// line. GitHub attaches annotations only to paths relative to the repository, so a path
// is resolved against dir (where the command ran) and made relative to workspace.
func (w *Writer) Annotate(findings []Finding, dir, workspace string) {
	for _, f := range findings {
		props := map[string]string{"title": "pier lint"}
		if f.Rule != "" {
			props["title"] = "pier lint: " + f.Rule
		}
		if f.File != "" {
			props["file"] = repoPath(f.File, dir, workspace)
			if f.Line > 0 {
				props["line"] = strconv.Itoa(f.Line)
			}
			if f.Col > 0 {
				props["col"] = strconv.Itoa(f.Col)
			}
		}
		a := w.a.WithFieldsMap(props)
		_ = safely("printing an annotation", func() {
			switch f.Severity {
			case "warning":
				a.Warningf("%s", f.Message)
			case "notice", "info":
				a.Noticef("%s", f.Message)
			default:
				a.Errorf("%s", f.Message)
			}
		})
	}
}

// repoPath makes file, relative to dir or absolute, relative to workspace when it lies
// inside it.
func repoPath(file, dir, workspace string) string {
	abs := file
	if !filepath.IsAbs(abs) {
		if dir == "" || !filepath.IsAbs(dir) {
			return filepath.ToSlash(filepath.Clean(file))
		}
		abs = filepath.Join(dir, file)
	}
	if workspace == "" {
		return filepath.ToSlash(abs)
	}
	rel, err := filepath.Rel(workspace, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(file)
	}
	return filepath.ToSlash(rel)
}

// jsonObject renders m as a JSON object with sorted keys; nil renders as {}.
func jsonObject(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, err := json.Marshal(m)
	if err != nil {
		// A map of strings always marshals; keep the output valid JSON regardless.
		return "{}"
	}
	return string(b)
}

// ReadOutputs parses a $GITHUB_OUTPUT file as the runner does: `name=value`
// lines and `name<<DELIMITER` blocks. It is the inverse of what pier writes,
// for the tests that run pier the way the runner does.
func ReadOutputs(data []byte) (map[string]string, error) {
	out := map[string]string{}
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		if lines[i] == "" {
			continue
		}
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			name, value, ok := strings.Cut(lines[i], "=")
			if !ok {
				return nil, fmt.Errorf("line %d %q is neither name=value nor name<<delimiter", i+1, lines[i])
			}
			out[name] = value
			continue
		}
		var value []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			value = append(value, lines[i])
		}
		if i == len(lines) {
			return nil, fmt.Errorf("output %q: delimiter %q never closes", name, delim)
		}
		out[name] = strings.Join(value, "\n")
	}
	return out, nil
}
