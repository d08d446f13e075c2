package ghaction_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/cli"
	"github.com/pier-deploy/pier/internal/ghaction"
)

// runAction runs ghaction.Main with the real CLI, in-process, the way
// internal/cli/action.go wires it, with a temporary GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY. It returns the exit code, the log and the two files.
func runAction(t *testing.T, vars map[string]string) (code int, stdout, stderr, output, summary string) {
	t.Helper()
	t.Chdir(".") // Main moves into working-directory; put the test's directory back after
	dir := t.TempDir()
	vars["GITHUB_OUTPUT"] = filepath.Join(dir, "output")
	vars["GITHUB_STEP_SUMMARY"] = filepath.Join(dir, "summary")
	vars["GITHUB_ACTIONS"] = "true"
	getenv := func(k string) string { return vars[k] }
	var out, errOut strings.Builder
	env := ghaction.Env{Stdout: &out, Stderr: &errOut, Getenv: getenv, Chdir: os.Chdir}
	code = ghaction.Main(context.Background(), env, cli.Run)
	o, _ := os.ReadFile(vars["GITHUB_OUTPUT"])
	s, _ := os.ReadFile(vars["GITHUB_STEP_SUMMARY"])
	return code, out.String(), errOut.String(), string(o), string(s)
}

func TestMainInputError(t *testing.T) {
	code, stdout, _, output, summary := runAction(t, map[string]string{"INPUT_COMMAND": "destroy"})
	if code != cli.ExitUsage {
		t.Errorf("exit %d, want %d", code, cli.ExitUsage)
	}
	if !strings.Contains(stdout, `::error::pier action: input "command": "destroy" is not a pier command`) {
		t.Errorf("stdout lacks the error annotation:\n%s", stdout)
	}
	if !strings.Contains(output, "result<<") || !strings.Contains(output, "\nfailed\n") {
		t.Errorf("outputs lack result failed:\n%s", output)
	}
	if summary != "" {
		t.Errorf("a summary for inputs that never ran a command:\n%s", summary)
	}
}

// TestMainBrokenConfig runs deploy on a pier.yaml with an error, in a working directory:
// pier stops before touching AWS, and the summary quotes its positioned error.
func TestMainBrokenConfig(t *testing.T) {
	ws := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ws, "infra"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "infra", "pier.yaml"), []byte("region: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr, output, summary := runAction(t, map[string]string{
		"GITHUB_WORKSPACE":        ws,
		"INPUT_WORKING-DIRECTORY": "infra",
		"INPUT_SANDBOX":           "false",
		"ACT":                     "true",
	})
	if code != cli.ExitUsage {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, cli.ExitUsage, stderr)
	}
	if !strings.Contains(stdout, "pier -f pier.yaml --output json deploy\n") {
		t.Errorf("the log does not show the command line:\n%s", stdout)
	}
	if !strings.Contains(stdout, "::notice::Running under act with no AWS credentials") {
		t.Errorf("no act hint:\n%s", stdout)
	}
	if !strings.Contains(output, "\nfailed\n") {
		t.Errorf("outputs:\n%s", output)
	}
	if !strings.Contains(summary, "## pier deploy: ❌ failed") || !strings.Contains(summary, "pier.yaml:") {
		t.Errorf("summary lacks the result or the positioned error:\n%s", summary)
	}
}
