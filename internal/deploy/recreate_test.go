package deploy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pier-deploy/pier/internal/plan"
	"github.com/pier-deploy/pier/internal/report"
	"github.com/pier-deploy/pier/internal/sim"
)

// Nexus on EFS: the simulator makes the mount exclusive (a second holder
// exits with "data directory already in use") and records how many tasks
// held it at once. Every recreate scenario must see at most one.
func TestRecreateScenarios(t *testing.T) {
	tests := []struct {
		name  string
		opts  []sim.Option
		exit  int
		cause string
		final string
	}{
		{name: "success", exit: 0, final: "nexus:2"},
		{name: "new nexus crashes and the old one is restored",
			opts: []sim.Option{sim.WithImageBehavior("nexus3:3.72.0", sim.ImageBehavior{Crash: true, ExitCode: 1, CrashAfter: 5 * time.Second})},
			exit: 3, cause: "essential container nexus exited with code 1", final: "nexus:1"},
		{name: "new nexus cannot be pulled",
			opts: []sim.Option{sim.WithImageBehavior("nexus3:3.72.0", sim.ImageBehavior{PullFailure: true})},
			exit: 3, cause: "CannotPullContainerError", final: "nexus:1"},
		{name: "throttled", opts: []sim.Option{sim.WithFaults(sim.Faults{ThrottleRate: 0.3})}, exit: 0, final: "nexus:2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, append([]sim.Option{sim.WithExclusiveMounts()}, tt.opts...)...)
			e.inforum(t, 100, 4096, 4096)
			l := &log{}
			_, run, _ := e.deploy(t, context.Background(), l, nexusSpec(t, "3.72.0"))
			s := run.Services[0]
			if got := run.Result.ExitCode(); got != tt.exit {
				t.Fatalf("exit %d (%s: %s), want %d\n%s", got, s.Outcome, s.Cause, tt.exit, l)
			}
			if !strings.Contains(s.Cause, tt.cause) || !strings.Contains(l.String(), tt.cause) {
				t.Errorf("cause %q (or the output) does not mention %q\n%s", s.Cause, tt.cause, l)
			}
			td, n, _ := e.running(t, "nexus")
			if td != tt.final || n != 1 || s.Final.String() != tt.final {
				t.Errorf("nexus runs %s × %d (report: %s), want %s × 1", td, n, s.Final, tt.final)
			}
			if h := e.w.MaxMountHolders(); h > 1 {
				t.Errorf("%d tasks held the Nexus data directory at once", h)
			}
			if live := e.w.MaxLiveTasks("inforum", "nexus"); live > 1 {
				t.Errorf("%d Nexus tasks were live at once", live)
			}
			eventsReportedOnce(t, e, "nexus", run)
		})
	}
}

// The new Nexus runs and ECS calls the deployment complete, but its
// status URL never answers 2xx: pier restores the old revision, checks
// that the URL answers again, and keeps one mount holder throughout.
const nexusURL = "http://nexus.inforum.internal:8081/service/rest/v1/status/writable"

func TestRecreateHealthURLFailsAndOldNexusIsRestored(t *testing.T) {
	const url = nexusURL
	e := newEnv(t, sim.WithExclusiveMounts(), sim.WithHealthURL(url, "inforum", "nexus"),
		sim.WithImageBehavior("nexus3:3.72.0", sim.ImageBehavior{HealthURLFails: true}))
	e.inforum(t, 100, 4096, 4096)
	spec := nexusSpec(t, "3.72.0")
	spec.Health = &plan.HealthCheck{URL: url, Timeout: 3 * time.Minute}
	l := &log{}
	_, run, _ := e.deploy(t, context.Background(), l, spec)
	s := run.Services[0]
	if run.Result.ExitCode() != 3 || !strings.Contains(s.Cause, url+" did not answer 2xx within 3m (last: HTTP 503)") {
		t.Fatalf("exit %d (%s: %s), want 3 with the URL in the cause\n%s", run.Result.ExitCode(), s.Outcome, s.Cause, l)
	}
	if td, n, _ := e.running(t, "nexus"); td != "nexus:1" || n != 1 || s.Final.String() != "nexus:1" {
		t.Errorf("nexus runs %s × %d (report %s), want nexus:1 × 1", td, n, s.Final)
	}
	if !strings.Contains(l.String(), "answered 200") {
		t.Errorf("the restored nexus was not checked:\n%s", l)
	}
	if h := e.w.MaxMountHolders(); h != 1 {
		t.Errorf("max mount holders %d, want 1", h)
	}
}

// A cancelled workflow (SIGTERM) in the middle of a deployment: pier
// reverses the step in flight, says so, and never leaves Nexus at 0.
func TestCancelMidDeployment(t *testing.T) {
	tests := []struct {
		name    string
		service string
		phase   string // cancel when this phase starts
		final   string
		count   int32
	}{
		{name: "rolling, during the rollout", service: "backend", phase: "rollout", final: "ecs-backend-task:1", count: 2},
		{name: "recreate, during the scale-down", service: "nexus", phase: "scale-down", final: "nexus:1", count: 1},
		{name: "recreate, before the new task starts", service: "nexus", phase: "rollout", final: "nexus:1", count: 1},
		{name: "recreate, while the new task starts", service: "nexus", phase: "health-check or started", final: "nexus:1", count: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, sim.WithExclusiveMounts(), sim.WithImageBehavior("v2", sim.ImageBehavior{SlowStart: time.Minute}),
				sim.WithImageBehavior("3.72.0", sim.ImageBehavior{SlowStart: time.Minute}), sim.WithHealthURL(nexusURL, "inforum", "nexus"))
			e.inforum(t, 100, 4096, 4096)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			l := &log{on: func(p report.Progress) {
				if (p.Kind == report.PhaseStart && p.Message == tt.phase) || (tt.phase == "health-check or started" && strings.HasPrefix(p.Message, "started nexus:2")) {
					cancel()
				}
			}}
			spec := backendSpec(t, "v2")
			if tt.service == "nexus" {
				// With its health check: the restored Nexus is checked too,
				// although the run was cancelled.
				spec = nexusSpec(t, "3.72.0")
				spec.Health = &plan.HealthCheck{URL: nexusURL, Timeout: 5 * time.Minute}
			}
			_, run, _ := e.deploy(t, ctx, l, spec)
			s := run.Services[0]
			if run.Result.ExitCode() != 3 || !strings.Contains(s.Cause, "cancel") {
				t.Fatalf("exit %d (%s: %s), want 3 with the cancel in the cause\n%s", run.Result.ExitCode(), s.Outcome, s.Cause, l)
			}
			if !strings.Contains(l.String(), "cancelled: finishing or reversing") {
				t.Errorf("the output does not say what pier does on cancel\n%s", l)
			}
			td, n, _ := e.running(t, tt.service)
			if td != tt.final || n != tt.count {
				t.Errorf("%s runs %s × %d, want %s × %d", tt.service, td, n, tt.final, tt.count)
			}
			if h := e.w.MaxMountHolders(); h > 1 {
				t.Errorf("%d tasks held the Nexus data directory at once", h)
			}
		})
	}
}

// eventsReportedOnce checks that every event ECS recorded for the service
// while the run went on (scale-down, rollout, health check, rollback
// alike) is in the report exactly once.
func eventsReportedOnce(t *testing.T, e *env, service string, run *report.Run) {
	t.Helper()
	_, _, svc := e.running(t, service)
	var rep *report.Service
	for i := range run.Services {
		if run.Services[i].Name == service {
			rep = &run.Services[i]
		}
	}
	got := map[string]int{}
	for _, ev := range rep.Events {
		got[ev.Time.UTC().Format(time.RFC3339)+" "+ev.Message]++
	}
	n := 0
	for _, ev := range svc.Events {
		if ev.CreatedAt.Before(run.Started) {
			continue
		}
		n++
		if k := ev.CreatedAt.UTC().Format(time.RFC3339) + " " + *ev.Message; got[k] != 1 {
			t.Errorf("ECS event reported %d times, want once: %s", got[k], k)
		}
	}
	if n == 0 {
		t.Errorf("ECS recorded no event for %s during the run", service)
	}
}

// The new Nexus crashes and ECS then refuses every UpdateService: pier
// cannot start the way back. It says so (exit 4), and the report names the
// revision the service really is on, the new one, not the one it left.
func TestRecreateCannotStartTheWayBack(t *testing.T) {
	e := newEnv(t, sim.WithExclusiveMounts(),
		sim.WithImageBehavior("nexus3:3.72.0", sim.ImageBehavior{Crash: true, ExitCode: 1, CrashAfter: 5 * time.Second}))
	e.inforum(t, 100, 4096, 4096)
	l := &log{}
	l.on = func(p report.Progress) {
		if p.Kind == report.Note && strings.HasPrefix(p.Message, "started nexus:2") {
			e.w.SetFaults(sim.Faults{ServerErrorRate: 1, Operations: []string{"UpdateService"}})
		}
	}
	_, run, _ := e.deploy(t, context.Background(), l, nexusSpec(t, "3.72.0"))
	s := run.Services[0]
	if run.Result.ExitCode() != 4 || !strings.Contains(s.Cause, "scaling to 0 to restore nexus:1 failed") {
		t.Fatalf("exit %d (%s: %s), want 4 saying the way back failed\n%s", run.Result.ExitCode(), s.Outcome, s.Cause, l)
	}
	if td, _, _ := e.running(t, "nexus"); td != "nexus:2" || s.Final.String() != td {
		t.Errorf("ECS runs %s, the report says %s", td, s.Final)
	}
	if h := e.w.MaxMountHolders(); h > 1 {
		t.Errorf("%d tasks held the Nexus data directory at once", h)
	}
}
