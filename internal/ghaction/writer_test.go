package ghaction

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestSetOutputs(t *testing.T) {
	file := filepath.Join(t.TempDir(), "output")
	w := NewWriter(new(strings.Builder), env(map[string]string{"GITHUB_OUTPUT": file}))
	err := w.SetOutputs(Outputs{
		Images:          map[string]string{"nexus": "r/nexus@sha256:cd", "backend-nginx": "r/backend-nginx@sha256:ab"},
		TaskDefinitions: map[string]string{"backend": "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/ecs-backend-task:50"},
		Result:          RolledBack,
		Plan:            []byte("{\n  \"services\": []\n}\n"),
		Changed:         true,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := parseOutputFile(t, file)
	want := map[string]string{
		"images":           `{"backend-nginx":"r/backend-nginx@sha256:ab","nexus":"r/nexus@sha256:cd"}`,
		"task-definitions": `{"backend":"arn:aws:ecs:ap-northeast-2:123456789012:task-definition/ecs-backend-task:50"}`,
		"result":           "rolled-back",
		"changed":          "true",
		"plan":             "{\n  \"services\": []\n}",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("output %s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("outputs = %v, want exactly %v", got, want)
	}
}

func TestSetOutputsEmptyAndOutsideARunner(t *testing.T) {
	file := filepath.Join(t.TempDir(), "output")
	w := NewWriter(new(strings.Builder), env(map[string]string{"GITHUB_OUTPUT": file}))
	if err := w.SetOutputs(Outputs{Result: Failed}); err != nil {
		t.Fatal(err)
	}
	got := parseOutputFile(t, file)
	if got["images"] != "{}" || got["task-definitions"] != "{}" || got["changed"] != "false" {
		t.Errorf("empty outputs = %v, want {} maps and changed false", got)
	}
	if _, ok := got["plan"]; ok {
		t.Errorf("plan written without a plan: %q", got["plan"])
	}

	// No GITHUB_OUTPUT: nothing to write, no error.
	if err := NewWriter(new(strings.Builder), env(nil)).SetOutputs(Outputs{Result: Success}); err != nil {
		t.Errorf("SetOutputs outside a runner: %v", err)
	}
	// An unwritable GITHUB_OUTPUT is an error, not a panic.
	bad := NewWriter(new(strings.Builder), env(map[string]string{"GITHUB_OUTPUT": filepath.Join(t.TempDir(), "no", "such", "dir")}))
	if err := bad.SetOutputs(Outputs{Result: Success}); err == nil || !strings.Contains(err.Error(), "GITHUB_OUTPUT") {
		t.Errorf("SetOutputs to a missing directory: %v, want an error naming GITHUB_OUTPUT", err)
	}
}

func TestAddSummaryAppends(t *testing.T) {
	file := filepath.Join(t.TempDir(), "summary")
	w := NewWriter(new(strings.Builder), env(map[string]string{"GITHUB_STEP_SUMMARY": file}))
	for _, s := range []string{"## one\n", "## two\n"} {
		if err := w.AddSummary(s); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := os.ReadFile(file)
	if string(data) != "## one\n\n## two\n\n" {
		t.Errorf("summary file = %q", data)
	}
}

func TestAnnotate(t *testing.T) {
	var out strings.Builder
	w := NewWriter(&out, env(nil))
	w.Annotate([]Finding{
		{File: "/ws/infra/pier.yaml", Line: 12, Col: 5, Severity: "error", Rule: "image-ref", Message: "unknown image \"front-nginx\"\nknown: frontend-nginx"},
		{File: "backend/nginx.conf", Line: 3, Col: 1, Severity: "warning", Message: "proxy_pass host \"springbot\" is no container: 100% sure"},
		{File: "/elsewhere/task.json", Line: 1, Severity: "notice", Message: "fine"},
		{Message: "no position"},
	}, "/ws/infra", "/ws")
	want := "::error col=5,file=infra/pier.yaml,line=12,title=pier lint%3A image-ref::unknown image \"front-nginx\"%0Aknown: frontend-nginx\n" +
		"::warning col=1,file=infra/backend/nginx.conf,line=3,title=pier lint::proxy_pass host \"springbot\" is no container: 100%25 sure\n" +
		"::notice file=/elsewhere/task.json,line=1,title=pier lint::fine\n" +
		"::error title=pier lint::no position\n"
	if out.String() != want {
		t.Errorf("annotations =\n%s\nwant\n%s", out.String(), want)
	}
}

func TestGroupPhases(t *testing.T) {
	var out strings.Builder
	g := GroupPhases(&out)
	for _, chunk := range []string{"reading pier.yaml\n", "==> build", "\n  built backend", "-nginx\n==> push\n", "  pushed 3 blobs\n",
		"==> plan\n", "backend: no changes\n", "::group::nexus: register\n[ 0s] nexus: register\n", "[ 0s] nexus: registered\n::endgroup::\n",
		"[30s] nexus: 1 of 1 new tasks running, waiting for target health, 30s\n", "::group::nexus: rollout\n::endgroup::\n",
		"==> health-check\n", "tail without newline"} {
		if _, err := g.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	want := "reading pier.yaml\n" +
		"::group::build\n==> build\n  built backend-nginx\n" +
		"::endgroup::\n::group::push\n==> push\n  pushed 3 blobs\n" +
		"::endgroup::\n::group::plan\n==> plan\nbackend: no changes\n" +
		"::endgroup::\n::group::nexus: register\n[ 0s] nexus: register\n[ 0s] nexus: registered\n::endgroup::\n" +
		"[30s] nexus: 1 of 1 new tasks running, waiting for target health, 30s\n::group::nexus: rollout\n::endgroup::\n" +
		"::group::health-check\n==> health-check\ntail without newline\n::endgroup::\n"
	if out.String() != want {
		t.Errorf("grouped =\n%s\nwant\n%s", out.String(), want)
	}
}

// TestGroupPhasesConcurrent: parallel rollouts write whole lines from many goroutines;
// no line may be torn apart or lost.
func TestGroupPhasesConcurrent(t *testing.T) {
	var out strings.Builder
	g := GroupPhases(&out)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				g.Write([]byte("service-" + string(rune('a'+i)) + " event\n"))
			}
		}()
	}
	wg.Wait()
	g.Close()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("%d lines, want 400", len(lines))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "service-") || !strings.HasSuffix(l, " event") {
			t.Fatalf("torn line %q", l)
		}
	}
}

func TestMask(t *testing.T) {
	var out strings.Builder
	mask := Mask(&out)
	mask("")
	mask("QVdTOnBhc3N3b3Jk")
	mask("multi\nline%")
	want := "::add-mask::QVdTOnBhc3N3b3Jk\n::add-mask::multi%0Aline%25\n"
	if out.String() != want {
		t.Errorf("Mask wrote %q, want %q", out.String(), want)
	}
}
