package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/plan"
)

// The action's plan, lint, input-error and failing runs, through the real binary as in
// action_test.go.

// TestActionPlanSandbox: command: plan writes the plan as an output and into the summary.
func TestActionPlanSandbox(t *testing.T) {
	r := runActionBinary(t, map[string]string{
		"command": "plan",
		"config":  "testdata/inforum/pier.yaml",
		"sandbox": "true",
		"timeout": "5m", // ignored by plan, as in nexus-upgrade.yml's dry run
	}, nil)
	if r.code != ExitOK {
		t.Fatalf("action failed:\n%s", r)
	}
	if r.outputs["result"] != "success" || r.outputs["changed"] != "true" {
		t.Errorf("result %q changed %q, want success and true (a fresh sandbox has everything to push)", r.outputs["result"], r.outputs["changed"])
	}
	p, err := plan.Read("plan output", []byte(r.outputs["plan"]))
	if err != nil {
		t.Fatalf("plan output: %v\n%s", err, r.outputs["plan"])
	}
	if len(p.Services) != 3 || len(p.Images) != 5 {
		t.Errorf("plan has %d services and %d images, want 3 and 5", len(p.Services), len(p.Images))
	}
	if strings.Contains(r.outputs["plan"], "\n") {
		t.Error("the plan output spans lines; it should be compact JSON")
	}
	// The lint findings plan prints become annotations on their lines, as with
	// command: lint (the runner reads workflow commands from both streams).
	for _, want := range []string{
		"::warning file=testdata/inforum/frontend/nginx.conf,line=26,col=40,title=pier::",
		"::warning file=testdata/inforum/backend-task.json,line=9,col=1,title=pier::",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("no annotation %q:\n%s", want, r)
		}
	}
	actionGolden(t, "action-plan-summary.md", r.summary)
}

// TestActionPlanDetailedExitcode: with args: --detailed-exitcode, a plan with changes
// fails the step with exit 2 as the user asked, and result still says the plan
// succeeded (it is not an input error, which also exits 2).
func TestActionPlanDetailedExitcode(t *testing.T) {
	r := runActionBinary(t, map[string]string{
		"command": "plan",
		"config":  "testdata/inforum/pier.yaml",
		"sandbox": "true",
		"args":    "--detailed-exitcode",
	}, nil)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2 (changes):\n%s", r.code, r)
	}
	if r.outputs["result"] != "success" || r.outputs["changed"] != "true" || r.outputs["plan"] == "" {
		t.Errorf("result %q changed %q plan %d bytes, want success, true and the plan", r.outputs["result"], r.outputs["changed"], len(r.outputs["plan"]))
	}
	if !strings.Contains(r.summary, "## pier plan: 📝 changes to apply") {
		t.Errorf("summary does not say the plan has changes:\n%s", r.summary)
	}
}

// TestActionConfigErrorAnnotated: a syntax error in pier.yaml fails the step with an
// error annotation on the file's line (relative to the workspace, though pier ran in
// working-directory) and quotes pier's message in the summary.
func TestActionConfigErrorAnnotated(t *testing.T) {
	r := runActionBinary(t, map[string]string{
		"working-directory": "internal/cli/testdata",
		"config":            "action-bad-syntax.yaml",
		"sandbox":           "true",
	}, nil)
	if r.code != ExitUsage || r.outputs["result"] != "failed" {
		t.Fatalf("exit %d result %q, want %d and failed:\n%s", r.code, r.outputs["result"], ExitUsage, r)
	}
	if !regexp.MustCompile(`(?m)^::error file=internal/cli/testdata/action-bad-syntax\.yaml,line=4,col=\d+,title=pier::action-bad-syntax\.yaml:4:\d+: `).MatchString(r.stderr) {
		t.Errorf("no error annotation on action-bad-syntax.yaml line 4:\n%s", r)
	}
	if !strings.Contains(r.summary, "action-bad-syntax.yaml:4:") {
		t.Errorf("summary does not quote the error:\n%s", r.summary)
	}
}

// TestActionLintAnnotations lints the inforum fixtures (with the seeds' own mistakes)
// through the action: every finding of `pier lint --output json` becomes an annotation
// on its file, line and column, relative to the workspace.
func TestActionLintAnnotations(t *testing.T) {
	direct := exec.Command(pierBinary(t), "lint", "-f", "testdata/inforum/pier.yaml", "--output", "json")
	direct.Dir = repoRoot
	direct.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, _ := direct.Output()
	var doc struct {
		Findings []struct {
			File     string `json:"file"`
			Line     int    `json:"line"`
			Col      int    `json:"col"`
			Severity string `json:"severity"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("pier lint --output json: %v\n%s", err, out)
	}
	if len(doc.Findings) == 0 {
		t.Fatal("lint finds nothing in the inforum fixtures; the seeds' mistakes should show")
	}

	r := runActionBinary(t, map[string]string{"command": "lint", "config": "testdata/inforum/pier.yaml"}, nil)
	wantCode := ExitOK
	for _, f := range doc.Findings {
		if f.Severity == "error" {
			wantCode = ExitFailed
		}
		rel, err := filepath.Rel(repoRoot, filepath.Join(repoRoot, f.File))
		if filepath.IsAbs(f.File) {
			rel, err = filepath.Rel(repoRoot, f.File)
		}
		if err != nil {
			t.Fatal(err)
		}
		ann := "::" + f.Severity + " col=" + strconv.Itoa(f.Col) + ",file=" + filepath.ToSlash(rel) + ",line=" + strconv.Itoa(f.Line) + ","
		if !strings.Contains(r.stdout, ann) {
			t.Errorf("no annotation starting %q in the log", ann)
		}
	}
	if r.code != wantCode {
		t.Errorf("exit %d, want %d:\n%s", r.code, wantCode, r)
	}
	if !strings.Contains(r.stdout, "::group::lint: "+strconv.Itoa(len(doc.Findings))+" finding(s)\n") {
		t.Errorf("no lint log group:\n%s", r.stdout)
	}
	if n := len(regexp.MustCompile(`(?m)^::(error|warning) .*title=pier lint`).FindAllString(r.stdout, -1)); n != len(doc.Findings) {
		t.Errorf("%d annotations for %d findings", n, len(doc.Findings))
	}
	actionGolden(t, "action-lint-summary.md", r.summary)
}

// TestActionInputErrorBinary: a bad input fails the step with an annotation and
// result failed, before pier runs anything.
func TestActionInputErrorBinary(t *testing.T) {
	r := runActionBinary(t, map[string]string{"timeout": "20"}, nil)
	if r.code != ExitUsage || r.outputs["result"] != "failed" {
		t.Errorf("exit %d result %q, want %d and failed", r.code, r.outputs["result"], ExitUsage)
	}
	if !strings.Contains(r.stdout, `::error::pier action: input "timeout": "20" is not a positive duration`) {
		t.Errorf("no error annotation:\n%s", r)
	}
}

// TestActionFailureAnnotated: a command that stops with an error (here rollback with
// no older revision in a fresh sandbox) fails the step with pier's own last word as an
// ::error annotation, which GitHub lists at the top of the run's page.
func TestActionFailureAnnotated(t *testing.T) {
	r := runActionBinary(t, map[string]string{
		"command":  "rollback",
		"services": "backend",
		"config":   "testdata/inforum/pier.yaml",
		"sandbox":  "true",
	}, nil)
	if r.code != ExitFailed || r.outputs["result"] != "failed" {
		t.Fatalf("exit %d result %q, want %d and failed:\n%s", r.code, r.outputs["result"], ExitFailed, r)
	}
	if !regexp.MustCompile(`(?m)^::error title=pier rollback failed::pier rollback: rolling back backend: .*no older ACTIVE revision`).MatchString(r.stdout) {
		t.Errorf("no error annotation with pier's message:\n%s", r)
	}
}
