package ghaction

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/plan"
	"github.com/pier-deploy/pier/internal/registry"
	"github.com/pier-deploy/pier/internal/report"
)

const acct = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/"

func rev(family string, n int32) plan.Revision {
	return plan.Revision{Arn: acct + family + ":" + itoa(n), Family: family, Revision: n}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

func rolledBackRun() *report.Run {
	code := int32(137)
	return &report.Run{
		Command: "deploy", File: "pier.yaml", Result: report.RolledBack,
		Cause:   "backend: essential container springboot exited with code 137 (out of memory)",
		Started: at(0), Finished: at(187),
		Phases: []report.Phase{
			{Name: "build", Started: at(0), Finished: at(12), Result: "ok"},
			{Name: "push", Started: at(12), Finished: at(19), Result: "ok"},
			{Name: "plan", Started: at(19), Finished: at(20), Result: "ok"},
		},
		Images: []report.Image{
			{Name: "backend-springboot", Repository: "r/backend-springboot", Digest: "sha256:11", Ref: "r/backend-springboot@sha256:11", Blobs: 1, Bytes: 4096},
			{Name: "front-next", Repository: "r/front-next", Digest: "sha256:22", Ref: "r/front-next@sha256:22"},
		},
		Services: []report.Service{
			{
				Name: "backend", Service: "backend", Cluster: "inforum", Strategy: "rolling", Outcome: report.RolledBack,
				Cause: "essential container springboot exited with code 137 (out of memory)",
				Old:   rev("ecs-backend-task", 49), New: rev("ecs-backend-task", 50), Final: rev("ecs-backend-task", 49),
				Registered: true, Updated: true, Started: at(20), Finished: at(180),
				Phases: []report.Phase{
					{Name: "register", Started: at(20), Finished: at(21), Result: "ok"},
					{Name: "rollout", Started: at(21), Finished: at(60), Result: "failed"},
					{Name: "rollback", Started: at(60), Finished: at(180), Result: "ok"},
				},
				Events: []report.Event{
					{Time: at(30), Message: "(service backend) has started 1 tasks: (task a1b2)."},
					{Time: at(55), Message: "(service backend) (deployment ecs-svc/222) deployment failed: tasks failed to start."},
				},
				StoppedTasks: []report.StoppedTask{{
					ID: "a1b2", Reason: "Essential container in task exited", StopCode: "EssentialContainerExited",
					Containers: []report.ContainerExit{{Name: "springboot", ExitCode: &code, Reason: "OutOfMemoryError: Container killed due to memory usage"}},
				}},
			},
			{
				Name: "frontend", Service: "frontend", Cluster: "inforum", Strategy: "rolling", Outcome: report.NoChanges,
				Old: rev("ecs-front-task", 24), New: rev("ecs-front-task", 24), Final: rev("ecs-front-task", 24),
				Started: at(20), Finished: at(20),
			},
		},
	}
}

func TestFromRun(t *testing.T) {
	o, s := FromRun(rolledBackRun(), false)
	want := Outputs{
		Images:          map[string]string{"backend-springboot": "r/backend-springboot@sha256:11", "front-next": "r/front-next@sha256:22"},
		TaskDefinitions: map[string]string{"backend": acct + "ecs-backend-task:49", "frontend": acct + "ecs-front-task:24"},
		Result:          RolledBack,
		Changed:         true,
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("outputs =\n%+v\nwant\n%+v", o, want)
	}
	golden(t, "fromrun-rolled-back.md", s.Markdown())
}

func TestFromRunResults(t *testing.T) {
	tests := []struct {
		outcome report.Outcome
		result  Result
	}{
		{report.Success, Success}, {report.NoChanges, NoChanges}, {report.RolledBack, RolledBack},
		{report.Failed, Failed}, {report.NotRestored, Failed}, {"", Failed},
	}
	for _, tt := range tests {
		o, s := FromRun(&report.Run{Command: "deploy", Result: tt.outcome}, false)
		if o.Result != tt.result || s.Result != tt.result {
			t.Errorf("outcome %q: result %q / summary %q, want %q", tt.outcome, o.Result, s.Result, tt.result)
		}
	}
	// Nothing registered, updated or uploaded: changed is false.
	o, _ := FromRun(&report.Run{Command: "deploy", Result: report.NoChanges, Services: []report.Service{{Name: "a", Outcome: report.NoChanges}}}, false)
	if o.Changed {
		t.Error("changed = true for a run that changed nothing")
	}
	// A cause of the whole run shows even without a failed service.
	_, s := FromRun(&report.Run{Command: "deploy", Result: report.Failed, Cause: "building image front-next: no .next/standalone in frontend"}, false)
	if md := s.Markdown(); !strings.Contains(md, "**Cause:** building image front-next") {
		t.Errorf("summary lacks the run's cause:\n%s", md)
	}
}

func TestFromPlan(t *testing.T) {
	p := &plan.Plan{
		FormatVersion: plan.FormatVersion, File: "pier.yaml",
		Images: []plan.Image{{Name: "nexus", Repository: "r/nexus", Digest: "sha256:33", Present: false}},
		Services: []plan.Service{
			{Name: "nexus", Service: "nexus", Cluster: "inforum", Strategy: "recreate", Action: plan.Register,
				Family: "nexus", Current: rev("nexus", 7), Target: plan.Revision{Family: "nexus"},
				Changes:      []plan.Change{{Path: "containerDefinitions[nexus].image", Old: "sonatype/nexus3:3.70.0", New: "r/nexus@sha256:33"}},
				DesiredCount: plan.Count{Old: 1, New: 1}},
			{Name: "frontend", Service: "frontend", Cluster: "inforum", Strategy: "rolling", Action: plan.NoChange,
				Family: "ecs-front-task", Current: rev("ecs-front-task", 24), Target: rev("ecs-front-task", 24),
				DesiredCount: plan.Count{Old: 1, New: 1}},
		},
	}
	raw, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	o, s, err := FromPlan(p, raw, true)
	if err != nil {
		t.Fatal(err)
	}
	if o.Result != Success || !o.Changed {
		t.Errorf("result %q changed %v, want success and true", o.Result, o.Changed)
	}
	if o.Images["nexus"] != "r/nexus@sha256:33" || o.TaskDefinitions["frontend"] != acct+"ecs-front-task:24" {
		t.Errorf("outputs = %+v", o)
	}
	if _, ok := o.TaskDefinitions["nexus"]; ok {
		t.Error("a revision not registered yet has no ARN to output")
	}
	if strings.Contains(string(o.Plan), "\n") {
		t.Error("the plan output is not compact JSON")
	}
	var back plan.Plan
	if err := json.Unmarshal(o.Plan, &back); err != nil || !reflect.DeepEqual(&back, p) {
		t.Errorf("plan output does not read back as the plan: %v", err)
	}
	golden(t, "fromplan.md", s.Markdown())

	// Nothing to change.
	p.Images[0].Present = true
	p.Services = p.Services[1:]
	raw, _ = json.Marshal(p)
	o, _, _ = FromPlan(p, raw, false)
	if o.Result != NoChanges || o.Changed {
		t.Errorf("unchanged plan: result %q changed %v, want no-changes and false", o.Result, o.Changed)
	}
}

func TestServiceGroups(t *testing.T) {
	var log strings.Builder
	ServiceGroups(&log, NewWriter(&log, env(nil)), rolledBackRun())
	want := "::group::backend: rolled-back (ecs-backend-task:49 → 50, back on ecs-backend-task:49)\n" +
		"register      01:02:23 → 01:02:24  ok\n" +
		"rollout       01:02:24 → 01:03:03  failed\n" +
		"rollback      01:03:03 → 01:05:03  ok\n" +
		"cause: essential container springboot exited with code 137 (out of memory)\n" +
		"01:02:33 (service backend) has started 1 tasks: (task a1b2).\n" +
		"01:02:58 (service backend) (deployment ecs-svc/222) deployment failed: tasks failed to start.\n" +
		"1 task stopped (task a1b2): Essential container in task exited; springboot exit 137 (OutOfMemoryError: Container killed due to memory usage)\n" +
		"::endgroup::\n" +
		// The failed service's cause, as an error GitHub lists at the top of the run.
		"::error title=pier%3A backend rolled-back::essential container springboot exited with code 137 (out of memory)\n" +
		"::group::frontend: no-changes (ecs-front-task:24)\n::endgroup::\n"
	if log.String() != want {
		t.Errorf("groups =\n%s\nwant\n%s", log.String(), want)
	}
}

func TestFromPush(t *testing.T) {
	o, s := FromPush([]registry.Result{
		{Name: "front-nginx", Reference: "r/front-nginx@sha256:44", Blobs: 2, Bytes: 2262, Mounted: 3},
		{Name: "nexus", Reference: "r/nexus@sha256:55"},
	})
	if o.Result != Success || !o.Changed || o.Images["front-nginx"] != "r/front-nginx@sha256:44" || len(o.Images) != 2 {
		t.Errorf("outputs = %+v", o)
	}
	if md := s.Markdown(); !strings.Contains(md, "| front-nginx | `r/front-nginx@sha256:44` | 2 | 2.2 KiB |") {
		t.Errorf("summary:\n%s", md)
	}
	o, _ = FromPush([]registry.Result{{Name: "nexus", Reference: "r/nexus@sha256:55"}})
	if o.Changed {
		t.Error("changed = true when nothing was uploaded")
	}
}

// TestInterpretPlanErrors: a plan with preflight errors (pier plan exits 1) fails with
// result failed, and each error becomes an ::error annotation with its fix.
func TestInterpretPlanErrors(t *testing.T) {
	p := &plan.Plan{
		FormatVersion: plan.FormatVersion, File: "pier.yaml",
		Services: []plan.Service{{Name: "nexus", Service: "nexus", Cluster: "inforum", Strategy: "recreate", Action: plan.Register,
			Family: "nexus", Current: rev("nexus", 7), Target: plan.Revision{Family: "nexus"}, DesiredCount: plan.Count{Old: 1, New: 1},
			Findings: []plan.Finding{
				{Severity: plan.Error, Check: "capacity", Message: "no instance has room for 4096 MiB", Fix: "add an instance"},
				{Severity: plan.Warning, Check: "iam", Message: "not an error"},
			}}},
	}
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var log, cmds strings.Builder
	o, s := interpret(Inputs{Command: "plan"}, 1, raw, "", "", &log, NewWriter(&cmds, env(nil)))
	if o.Result != Failed || s.Result != Failed {
		t.Errorf("result %q / summary %q, want failed", o.Result, s.Result)
	}
	want := "::error title=pier plan%3A capacity::nexus: no instance has room for 4096 MiB (fix: add an instance)\n"
	if cmds.String() != want {
		t.Errorf("annotations =\n%q\nwant\n%q", cmds.String(), want)
	}
}

// A pull failure that stopped twelve tasks is one row with its count and
// newest task, not twelve rows each with the same long reason twice; past
// report.MaxStoppedGroups reasons the rest is one row.
func TestFailureGroupsStoppedTasks(t *testing.T) {
	pull := "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref " + strings.Repeat("x", 400)
	var tasks []report.StoppedTask
	for i := range 12 {
		tasks = append(tasks, report.StoppedTask{ID: fmt.Sprintf("p%02d", i), Reason: pull, StopCode: "TaskFailedToStart",
			Containers: []report.ContainerExit{{Name: "nexus", Reason: pull}}})
	}
	for i := range report.MaxStoppedGroups {
		tasks = append(tasks, report.StoppedTask{ID: fmt.Sprintf("e%02d", i), Reason: fmt.Sprintf("reason %d", i)})
	}
	f := failureOf(report.Service{Name: "nexus", Outcome: report.RolledBack, StoppedTasks: tasks})
	if len(f.StoppedTasks) != report.MaxStoppedGroups+1 {
		t.Fatalf("%d rows, want %d: %+v", len(f.StoppedTasks), report.MaxStoppedGroups+1, f.StoppedTasks)
	}
	first, last := f.StoppedTasks[0], f.StoppedTasks[report.MaxStoppedGroups]
	if first.Count != 12 || first.ID != "p11" || strings.Count(first.Reason, "CannotPullContainerError") != 1 || len([]rune(first.Reason)) > maxReason+len(" (TaskFailedToStart)") {
		t.Errorf("first row = %+v, want the 12 pull failures once, newest p11, at most %d characters", first, maxReason)
	}
	if !strings.Contains(first.Reason, "(TaskFailedToStart)") {
		t.Errorf("first row %q lost the stop code", first.Reason)
	}
	if last.Count != 1 || !strings.Contains(last.Reason, "1 other reason (") {
		t.Errorf("last row = %+v, want the one task left over", last)
	}
}
