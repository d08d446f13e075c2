// Package lint checks a pier.yaml, the task definitions it names and the
// nginx configurations it builds into images, together: the mistakes that
// only show when the three are read side by side (a proxy_pass to a link the
// task does not have, a recreate service that runs two copies, a misspelt
// HTTP method in an nginx guard).
//
//	in, err := lint.Load(file)    // reads every task definition and nginx.conf; input errors are positioned
//	findings := lint.Check(in)    // sorted by file, line, column, rule
package lint

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/pier-deploy/pier/internal/config"
)

// Severity says whether a finding fails `pier lint`.
type Severity string

// The severities. Errors fail lint; warnings fail it only with --strict.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Finding is one problem, at the place the user should edit.
type Finding struct {
	Pos      config.Pos
	Severity Severity
	Rule     string // short kebab-case name, stable for scripts and docs
	Message  string // never contains secret values
}

// String renders the finding as `file:line:col: severity: rule: message`.
func (f Finding) String() string {
	return fmt.Sprintf("%s: %s: %s: %s", f.Pos, f.Severity, f.Rule, f.Message)
}

// MarshalJSON renders the finding with the position split into fields, the
// shape CI annotation tools expect.
func (f Finding) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		File     string   `json:"file"`
		Line     int      `json:"line"`
		Col      int      `json:"col"`
		Severity Severity `json:"severity"`
		Rule     string   `json:"rule"`
		Message  string   `json:"message"`
	}{f.Pos.File, f.Pos.Line, f.Pos.Col, f.Severity, f.Rule, f.Message})
}

// Sort orders findings by file, line, column, rule and message, so output is
// the same on every run.
func Sort(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		switch {
		case a.Pos.File != b.Pos.File:
			return a.Pos.File < b.Pos.File
		case a.Pos.Line != b.Pos.Line:
			return a.Pos.Line < b.Pos.Line
		case a.Pos.Col != b.Pos.Col:
			return a.Pos.Col < b.Pos.Col
		case a.Rule != b.Rule:
			return a.Rule < b.Rule
		}
		return a.Message < b.Message
	})
}

// Count returns the number of errors and warnings.
func Count(fs []Finding) (errors, warnings int) {
	for _, f := range fs {
		if f.Severity == Error {
			errors++
		} else {
			warnings++
		}
	}
	return errors, warnings
}

// WriteText prints one finding a line and a summary line.
func WriteText(w io.Writer, fs []Finding) error {
	for _, f := range fs {
		if _, err := fmt.Fprintln(w, f); err != nil {
			return err
		}
	}
	e, wn := Count(fs)
	_, err := fmt.Fprintf(w, "%d %s, %d %s\n", e, plural(e, "error"), wn, plural(wn, "warning"))
	return err
}

// WriteJSON prints {"findings": [...], "errors": N, "warnings": N}.
func WriteJSON(w io.Writer, fs []Finding) error {
	if fs == nil {
		fs = []Finding{}
	}
	e, wn := Count(fs)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Findings []Finding `json:"findings"`
		Errors   int       `json:"errors"`
		Warnings int       `json:"warnings"`
	}{fs, e, wn})
}

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}

// findings collects what the rules report.
type findings []Finding

func (fs *findings) add(pos config.Pos, sev Severity, rule, format string, args ...any) {
	*fs = append(*fs, Finding{Pos: pos, Severity: sev, Rule: rule, Message: fmt.Sprintf(format, args...)})
}
