package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pier-deploy/pier/internal/golden"
	"github.com/pier-deploy/pier/internal/plan"
)

var update = flag.Bool("update", false, "rewrite golden files")

const repo = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com"

func samplePlan() *plan.Plan {
	return &plan.Plan{FormatVersion: plan.FormatVersion, File: "testdata/inforum/pier.yaml",
		Images: []plan.Image{
			{Name: "backend-springboot", Repository: repo + "/backend-springboot", Tag: "dev", Digest: "sha256:1111", Present: false},
			{Name: "nexus", Repository: repo + "/nexus", Tag: "dev", Digest: "sha256:2222", Present: true},
		},
		Services: []plan.Service{
			{Name: "backend", Service: "ecs-backend-service", Cluster: "inforum", Strategy: "rolling", Action: plan.Register,
				Family:       "ecs-backend-task",
				Current:      plan.Revision{Arn: "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/ecs-backend-task:49", Family: "ecs-backend-task", Revision: 49},
				Target:       plan.Revision{Family: "ecs-backend-task"},
				Changes:      []plan.Change{{Path: "containerDefinitions[springboot].image", Old: "~~/backend-springboot:latest", New: repo + "/backend-springboot@sha256:1111"}},
				DesiredCount: plan.Count{Old: 2, New: 2},
				Deployment:   plan.DeploymentConfig{MinimumHealthyPercent: 100, MaximumPercent: 200, CircuitBreaker: true, Rollback: true},
				LaunchType:   "EC2",
				Steps:        []string{"register ecs-backend-task:new", "update ecs-backend-service: task definition ecs-backend-task:49 → ecs-backend-task:new, desired count 2"},
				Findings: []plan.Finding{{Severity: plan.Warning, Check: "capacity",
					Message: "the rollout cannot place its first new task: the closest matching container instance 0f1e has 0 CPU units and 5488 MiB free, a task needs 1024 CPU units and 2048 MiB",
					Fix:     "set the service's minimumHealthyPercent to 50"}},
				Observed: plan.Fingerprint{TaskDefinition: "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/ecs-backend-task:49", DesiredCount: 2, Deployments: []string{"ecs-svc/111"}},
			},
			{Name: "nexus", Service: "nexus", Cluster: "inforum", Strategy: "recreate", Action: plan.NoChange, Family: "nexus",
				Current: plan.Revision{Family: "nexus", Revision: 3}, Target: plan.Revision{Family: "nexus", Revision: 3},
				DesiredCount: plan.Count{Old: 1, New: 1}, Steps: []string{"nothing to do"}},
		},
	}
}

func sampleRun() *Run {
	t0 := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	exit := int32(137)
	return &Run{Command: "deploy", File: "testdata/inforum/pier.yaml", Result: RolledBack,
		Cause:   "backend: essential container springboot exited with code 137 (out of memory)",
		Started: t0, Finished: t0.Add(3*time.Minute + 7*time.Second),
		Images: []Image{{Name: "backend-springboot", Repository: repo + "/backend-springboot", Digest: "sha256:1111", Ref: repo + "/backend-springboot@sha256:1111", Blobs: 3, Bytes: 12345}},
		Services: []Service{
			{Name: "backend", Service: "ecs-backend-service", Cluster: "inforum", Strategy: "rolling", Outcome: RolledBack,
				Cause: "essential container springboot exited with code 137 (out of memory)",
				Old:   plan.Revision{Family: "ecs-backend-task", Revision: 49}, New: plan.Revision{Family: "ecs-backend-task", Revision: 50},
				Final: plan.Revision{Family: "ecs-backend-task", Revision: 49}, Registered: true, Updated: true, Deployment: "ecs-svc/222",
				Started: t0.Add(20 * time.Second), Finished: t0.Add(3 * time.Minute),
				Phases: []Phase{{Name: "rollout", Started: t0.Add(21 * time.Second), Finished: t0.Add(time.Minute), Result: "failed"}},
				Events: []Event{{Time: t0.Add(30 * time.Second), Message: "(service ecs-backend-service) has started 1 tasks: (task a1b2)."}},
				StoppedTasks: []StoppedTask{{ID: "a1b2", Reason: "Essential container in task exited", StopCode: "EssentialContainerExited",
					Containers: []ContainerExit{{Name: "springboot", ExitCode: &exit, Reason: "OutOfMemoryError: Container killed due to memory usage"}}}},
			},
			{Name: "nexus", Service: "nexus", Cluster: "inforum", Strategy: "recreate", Outcome: RolledBack,
				Cause: "task 0c11 could not pull its image: " + pull,
				Old:   plan.Revision{Family: "nexus", Revision: 3}, New: plan.Revision{Family: "nexus", Revision: 4},
				Final: plan.Revision{Family: "nexus", Revision: 3}, Registered: true, Updated: true, Deployment: "ecs-svc/333",
				Started: t0.Add(20 * time.Second), Finished: t0.Add(3 * time.Minute), StoppedTasks: nexusStopped(t0)},
			{Name: "frontend", Service: "ecs-frontend-service", Cluster: "inforum", Strategy: "rolling", Outcome: NoChanges,
				Old: plan.Revision{Family: "ecs-front-task", Revision: 24}, Final: plan.Revision{Family: "ecs-front-task", Revision: 24},
				Started: t0.Add(20 * time.Second), Finished: t0.Add(20 * time.Second)},
		},
	}
}

// pull is ECS's pull failure, as long as it is: it stands in the stopped
// reason and in the container's reason alike.
const pull = "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref 123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/nexus@sha256:2222: 123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/nexus@sha256:2222: not found"

// nexusStopped is a pull failure that stopped twelve tasks, and five tasks
// that stopped for reasons of their own.
func nexusStopped(t0 time.Time) []StoppedTask {
	var out []StoppedTask
	for i := range 12 {
		out = append(out, StoppedTask{ID: fmt.Sprintf("0c%02d", i), Reason: pull, StopCode: "TaskFailedToStart", Stopped: t0.Add(time.Duration(30+10*i) * time.Second),
			Containers: []ContainerExit{{Name: "nexus", Reason: pull}}})
	}
	exit := func(n int32) *int32 { return &n }
	for i, c := range []ContainerExit{{Name: "nexus", ExitCode: exit(1)}, {Name: "nexus", ExitCode: exit(2)}, {Name: "nexus", ExitCode: exit(3)},
		{Name: "nexus", ExitCode: exit(137), Reason: "OutOfMemoryError: Container killed due to memory usage"}, {Name: "nexus", ExitCode: exit(255)}} {
		out = append(out, StoppedTask{ID: fmt.Sprintf("0e%02d", i), Reason: "Essential container in task exited", StopCode: "EssentialContainerExited",
			Stopped: t0.Add(time.Duration(i) * time.Second), Containers: []ContainerExit{c}})
	}
	return out
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name   string
		render func(*bytes.Buffer) error
	}{
		{"plan.txt", func(b *bytes.Buffer) error { return PlanText(b, samplePlan()) }},
		{"plan.md", func(b *bytes.Buffer) error { return PlanMarkdown(b, samplePlan()) }},
		{"plan.json", func(b *bytes.Buffer) error { return JSON(b, samplePlan()) }},
		{"run.txt", func(b *bytes.Buffer) error { return RunText(b, sampleRun()) }},
		{"run.md", func(b *bytes.Buffer) error { return RunMarkdown(b, sampleRun()) }},
		{"run.json", func(b *bytes.Buffer) error { return JSON(b, sampleRun()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.render(&b); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", tt.name), b.Bytes(), *update)
		})
	}
}

// The JSON views must round-trip: the action and `deploy --plan` read them back.
func TestJSONRoundTrip(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, sampleRun()); err != nil {
		t.Fatal(err)
	}
	var r Run
	if err := json.Unmarshal(b.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&r, sampleRun()) {
		t.Errorf("run did not round-trip:\n%+v\n%+v", r, *sampleRun())
	}
	b.Reset()
	if err := JSON(&b, samplePlan()); err != nil {
		t.Fatal(err)
	}
	p, err := plan.Read("plan.json", b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, samplePlan()) {
		t.Errorf("plan did not round-trip")
	}
}

func TestProgressLine(t *testing.T) {
	at := time.Date(2026, 11, 22, 1, 2, 3, 0, time.UTC)
	tests := []struct {
		p    Progress
		want string
	}{
		{Progress{Kind: PhaseStart, Message: "push"}, "==> push"},
		{Progress{Kind: PhaseStart, Message: "rollout", Service: "backend", Elapsed: 2 * time.Second}, "[    2s] backend: rollout"},
		{Progress{Kind: Waiting, Service: "backend", Elapsed: 150 * time.Second, Message: "1 of 2 new tasks running, waiting for target health",
			Wait: &Wait{Phase: "rollout", Running: 1, Desired: 2, Since: 130 * time.Second}}, "[ 2m30s] backend: 1 of 2 new tasks running, waiting for target health, 2m10s"},
		{Progress{Kind: ECSEvent, Service: "backend", Time: at, Elapsed: 62 * time.Second, Message: "(service x) has reached a steady state."}, "[ 1m02s] backend: 01:02:03 (service x) has reached a steady state."},
		{Progress{Kind: Warn, Elapsed: 3 * time.Second, Message: "throttled"}, "[    3s] warning: throttled"},
		{Progress{Kind: Error, Elapsed: 18 * time.Second, Service: "backend", Message: "rolled-back: crashed"}, "[   18s] backend: error: rolled-back: crashed"},
		{Progress{Kind: Note, Service: "nexus", Elapsed: 3*time.Hour + 4*time.Second, Message: "scaled to 0"}, "[3h00m04s] nexus: scaled to 0"},
	}
	for _, tt := range tests {
		if got := ProgressLine(tt.p); got != tt.want {
			t.Errorf("ProgressLine(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestWorse(t *testing.T) {
	if Worse(Success, NotRestored) != NotRestored || Worse(RolledBack, Success) != RolledBack || Worse(NoChanges, Success) != Success {
		t.Error("Worse orders outcomes wrongly")
	}
}

func TestAggregateAndExitCode(t *testing.T) {
	tests := []struct {
		outcomes []Outcome
		want     Outcome
		code     int
	}{
		{nil, NoChanges, 0},
		{[]Outcome{NoChanges, Success}, Success, 0},
		{[]Outcome{Success, Failed}, Failed, 1},
		{[]Outcome{RolledBack, Failed, Success}, RolledBack, 3},
		{[]Outcome{RolledBack, NotRestored}, NotRestored, 4},
		{[]Outcome{Success, RolledBack, NotStarted}, NotStarted, 5},
		{[]Outcome{NotStarted, NotRestored}, NotRestored, 4},
	}
	for _, tt := range tests {
		var svcs []Service
		for _, o := range tt.outcomes {
			svcs = append(svcs, Service{Outcome: o})
		}
		got := Aggregate(svcs)
		if got != tt.want || got.ExitCode() != tt.code {
			t.Errorf("Aggregate(%v) = %s (exit %d), want %s (exit %d)", tt.outcomes, got, got.ExitCode(), tt.want, tt.code)
		}
	}
}

func TestJSONEmptyRunHasEmptyLists(t *testing.T) {
	var b bytes.Buffer
	r := &Run{Command: "deploy", Result: Failed, Cause: "lint errors in pier.yaml"}
	if err := JSON(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"images": []`, `"services": []`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %s in\n%s", want, b.String())
		}
	}
	if r.Images != nil || r.Services != nil {
		t.Error("JSON changed the run it was given")
	}
}

func TestMarkdownProseIsLiteral(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"iam:PassRole on ~~/ecsTaskExecutionRole, ~~ecsTaskExecutionRole", `iam:PassRole on \~\~/ecsTaskExecutionRole, \~\~ecsTaskExecutionRole`},
		{"exit <nil> after *3* tries", `exit \<nil\> after \*3\* tries`},
		{"AWS_REGION | [x]\nnext", `AWS\_REGION \| \[x\] next`},
		{"run `pier rollback nexus`", "run `pier rollback nexus`"},
	} {
		if got := prose(tt.in); got != tt.want {
			t.Errorf("prose(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A run on the sandbox's virtual clock says so wherever it gives a
// duration, with the real time beside the total.
func TestSimulatedDurations(t *testing.T) {
	start := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	svc := Service{Name: "nexus", Outcome: Success, Started: start, Finished: start.Add(8*time.Minute + 15*time.Second)}
	tests := []struct {
		name      string
		simulated bool
		real      float64
		total     string
		service   string
	}{
		{"aws", false, 0, "deploy: success in 8m15s\n", "8m15s\n"},
		{"sandbox", true, 0.44, "deploy: success in 8m15s simulated (0.4s real)\n", "8m15s simulated\n"},
		{"slow sandbox", true, 75, "deploy: success in 8m15s simulated (1m15s real)\n", "8m15s simulated\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Run{Command: "deploy", Result: Success, Started: start, Finished: svc.Finished, Simulated: tt.simulated, RealSeconds: tt.real, Services: []Service{svc}}
			var b strings.Builder
			if err := RunText(&b, r); err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(b.String(), tt.total) || !strings.Contains(b.String(), tt.service) {
				t.Errorf("text:\n%s\nwant the total %q and the service %q", b.String(), tt.total, tt.service)
			}
			b.Reset()
			if err := RunMarkdown(&b, r); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(b.String(), "| 8m15s simulated |"); got != tt.simulated {
				t.Errorf("markdown labels the duration simulated: %v, want %v:\n%s", got, tt.simulated, b.String())
			}
			var doc map[string]any
			b.Reset()
			if err := JSON(&b, r); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(b.String()), &doc); err != nil {
				t.Fatal(err)
			}
			if _, has := doc["simulated"]; has != tt.simulated || (tt.simulated && doc["realSeconds"] != tt.real) {
				t.Errorf("json simulated=%v realSeconds=%v", doc["simulated"], doc["realSeconds"])
			}
		})
	}
}

func TestGroupStopped(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	groups := GroupStopped(nexusStopped(t0))
	if len(groups) != 6 || groups[0].Count != 12 || groups[0].Newest.ID != "0c11" {
		t.Fatalf("groups = %+v, want the 12 pull failures first with 0c11 the newest, then 5 others", groups)
	}
	if strings.Count(groups[0].Reason, "CannotPullContainerError") != 1 {
		t.Errorf("the pull failure is said more than once: %q", groups[0].Reason)
	}
	// Of the single tasks, the most recent comes first.
	if groups[1].Newest.ID != "0e04" || groups[5].Newest.ID != "0e00" {
		t.Errorf("single-task groups in order %s … %s, want 0e04 … 0e00", groups[1].Newest.ID, groups[5].Newest.ID)
	}
	lines := StoppedLines(nexusStopped(t0), 3)
	want := []string{"12 tasks stopped: CannotPullContainerError", "1 task stopped (task 0e04 at 01:00:04): Essential container in task exited; nexus exit 255",
		"1 task stopped (task 0e03", "… and 3 tasks for 3 other reasons"}
	if len(lines) != len(want) {
		t.Fatalf("lines = %q, want %d lines", lines, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, want it to start %q", i, lines[i], w)
		}
	}
	if !strings.HasSuffix(lines[0], "(newest: task 0c11 at 01:02:20)") {
		t.Errorf("line %q does not name the newest task", lines[0])
	}
	long := StoppedLines([]StoppedTask{{ID: "a", Reason: strings.Repeat("x", 1000)}}, 3)
	if n := len([]rune(long[0])); n > maxReason+40 {
		t.Errorf("a 1000-character reason gives a %d-character line", n)
	}
}
