package ghaction

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

var t0 = time.Date(2026, 11, 22, 1, 2, 3, 0, time.UTC)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

func exit(c int32) *int32 { return &c }

func TestSummaryMarkdown(t *testing.T) {
	tests := []struct {
		name string
		s    Summary
	}{
		{"summary-success.md", Summary{
			Command: "deploy", Result: Success, Sandbox: true,
			Images: []ImageRow{
				{Name: "backend-springboot", Reference: "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/backend-springboot@sha256:" + strings.Repeat("ab", 32), Blobs: 1, Bytes: 24_117_248},
				{Name: "nexus", Reference: "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/nexus@sha256:" + strings.Repeat("cd", 32), Present: true},
			},
			Services: []ServiceRow{
				{Name: "backend", From: "ecs-backend-task:49", To: "ecs-backend-task:50", Strategy: "rolling", Outcome: "success", Duration: 95 * time.Second},
				{Name: "nexus", From: "nexus:7", To: "nexus:7", Strategy: "recreate", Outcome: "no-changes"},
			},
			Timeline: []Span{
				{Section: "images", Name: "build", Start: at(0), End: at(1.25)},
				{Section: "images", Name: "push", Start: at(1.25), End: at(4)},
				{Section: "services", Name: "backend: rollout", Start: at(4), End: at(99)},
				{Section: "services", Name: "nexus", Start: at(4), End: at(4)},
			},
		}},
		{"summary-rolled-back.md", Summary{
			Command: "deploy", Result: RolledBack,
			Services: []ServiceRow{{Name: "backend", From: "ecs-backend-task:49", To: "ecs-backend-task:50", Strategy: "rolling", Outcome: "rolled-back", Duration: 3 * time.Minute}},
			Timeline: []Span{{Section: "services", Name: "backend", Start: at(0), End: at(180), Failed: true}},
			Failures: []Failure{{
				Service: "backend", Outcome: "rolled-back",
				Cause: "essential container nginx exited with code 137 | out of memory",
				Events: []Event{
					{At: at(30), Message: "(service backend) has started 1 tasks: (task 1f2e)."},
					{At: at(90), Message: "(service backend) deployment ecs-svc/123 deployment failed: tasks failed to start."},
				},
				StoppedTasks: []StoppedTask{
					{ID: "1f2e", Count: 1, Reason: "Essential container in task exited", ExitCode: exit(137)},
					{ID: "3a4b", Count: 12, Reason: "CannotPullContainerError: pull image manifest has been retried"},
				},
			}},
		}},
		{"summary-plan.md", Summary{
			Command: "plan", Result: Success,
			Plan: "```diff\n  backend: register ecs-backend-task (1 change)\n-   nginx.image: x:latest\n+   nginx.image: x@sha256:00\n```\n",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { golden(t, tt.name, tt.s.Markdown()) })
	}
}

func TestGantt(t *testing.T) {
	if g := Gantt("x", nil); g != "" {
		t.Errorf("Gantt of nothing = %q, want empty", g)
	}
	if g := Gantt("x", []Span{{Name: "never started"}}); g != "" {
		t.Errorf("Gantt of unstarted spans = %q, want empty", g)
	}
	g := Gantt("pier: deploy; #1", []Span{
		{Section: "a:b", Name: "x: y # z ; w", Start: at(0), End: at(2)},
		{Section: "a:b", Name: "", Start: at(1), End: at(0.5), Failed: true},
	})
	want := "```mermaid\ngantt\n    title pier deploy 1\n    dateFormat x\n    axisFormat %H:%M:%S\n    todayMarker off\n" +
		"    section a b\n" +
		"    x y z w :done, t1, 1795309323000, 1795309325000\n" +
		"    step :crit, t2, 1795309324000, 1795309324001\n```\n"
	if g != want {
		t.Errorf("Gantt =\n%s\nwant\n%s", g, want)
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 24_117_248: "23.0 MiB", 5 << 30: "5.0 GiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestSummaryEscapesText: what AWS or a pier.yaml wrote shows as written on GitHub, not
// as formatting: a redacted "~~role" is not struck through, "<nil>" is not dropped as
// an unknown HTML tag, and a "|" does not split a table row.
func TestSummaryEscapesText(t *testing.T) {
	s := Summary{
		Command:  "deploy",
		Result:   Failed,
		Services: []ServiceRow{{Name: "api_v2", From: "~~api:3", To: "~~api:4", Strategy: "rolling", Outcome: "failed"}},
		Failures: []Failure{{
			Service: "api_v2", Outcome: "failed",
			Cause:        "task *abc*: pulling [image](x) failed: <nil> & 2 | 3",
			Events:       []Event{{At: t0, Message: "(service api_v2) role ~~/ecsTaskExecutionRole, ~~ecsTaskExecutionRole"}},
			StoppedTasks: []StoppedTask{{ID: "abc", Count: 1, Reason: "CannotPullContainerError: `ref` <nil>"}},
		}},
	}
	md := s.Markdown()
	for _, want := range []string{
		"| api\\_v2 | \\~\\~api:3 → 4 | rolling | failed |",
		"**Cause:** task \\*abc\\*: pulling \\[image\\](x) failed: \\<nil\\> \\& 2 \\| 3\n",
		"| (service api\\_v2) role \\~\\~/ecsTaskExecutionRole, \\~\\~ecsTaskExecutionRole |",
		"| 1 | abc | CannotPullContainerError: \\`ref\\` \\<nil\\> |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	for _, raw := range []string{"~~", "<nil>", "*abc*", "[image]"} {
		if strings.Contains(md, raw) {
			t.Errorf("summary has unescaped %q:\n%s", raw, md)
		}
	}
}

// TestGanttTaskNames: names that Mermaid's gantt lexer would not read as a task name
// (checked against mermaid's gantt.jison) are made safe.
func TestGanttTaskNames(t *testing.T) {
	for name, want := range map[string]string{
		"rollout":       "rollout",
		"a%b":           "a b",             // "a%b" lexes as a comment: the task vanished
		"title":         "› title",         // would set the title
		"Section x":     "› Section x",     // case-insensitive
		"call me":       "› call me",       // a callback
		"click x":       "› click x",       // interactivity
		"2026-01-05 up": "› 2026-01-05 up", // a date token
		"titles":        "titles",
		"recall":        "recall",
	} {
		g := Gantt("x", []Span{{Section: "s", Name: name, Start: at(0), End: at(1)}})
		if !strings.Contains(g, "\n    "+want+" :done, t1, ") {
			t.Errorf("task %q: want line %q in\n%s", name, want, g)
		}
	}
}
