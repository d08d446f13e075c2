package deploy_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/pier-deploy/pier/internal/deploy"
	"github.com/pier-deploy/pier/internal/plan"
	"github.com/pier-deploy/pier/internal/report"
	"github.com/pier-deploy/pier/internal/sim"
)

func TestRollbackCommandReturnsToThePreviousRevision(t *testing.T) {
	for _, tt := range []struct {
		name string
		spec func(testing.TB, string) deploy.Spec
		ref  deploy.Ref
		want string
	}{
		{"rolling", backendSpec, deploy.Ref{Name: "backend", Service: "backend", Cluster: "inforum", Strategy: "rolling"}, "ecs-backend-task:1"},
		{"recreate", nexusSpec, deploy.Ref{Name: "nexus", Service: "nexus", Cluster: "inforum", Strategy: "recreate"}, "nexus:1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, sim.WithExclusiveMounts())
			e.inforum(t, 100, 4096, 4096)
			v := "v2"
			if tt.ref.Name == "nexus" {
				v = "3.72.0"
			}
			if _, run, _ := e.deploy(t, context.Background(), nil, tt.spec(t, v)); run.Result != report.Success {
				t.Fatalf("deploy: %s %+v", run.Result, run.Services)
			}
			target, err := deploy.RollbackTarget(e.ctx, e.ecs, tt.ref, 20*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			l := &log{}
			d := deploy.New(e.ecs, deploy.WithClock(e.w.Clock()), deploy.WithObserver(l))
			got := d.Apply(context.Background(), []deploy.Target{target})
			if got[0].Outcome != report.Success || got[0].Final.String() != tt.want {
				t.Fatalf("rollback: %s to %s (%s)\n%s", got[0].Outcome, got[0].Final, got[0].Cause, l)
			}
			if td, _, _ := e.running(t, tt.ref.Service); td != tt.want {
				t.Errorf("service runs %s, want %s", td, tt.want)
			}
			if h := e.w.MaxMountHolders(); h > 1 {
				t.Errorf("%d tasks held the Nexus data directory at once", h)
			}
			st, err := deploy.Status(e.ctx, e.ecs, []deploy.Ref{tt.ref}, 5, 5)
			if err != nil {
				t.Fatal(err)
			}
			if !st[0].Found || st[0].TaskDef.String() != tt.want || len(st[0].Deployments) == 0 || len(st[0].Events) == 0 {
				t.Errorf("status = %+v", st[0])
			}
			if !strings.Contains(st[0].Events[0].Message, "steady state") && !strings.Contains(st[0].Events[0].Message, "completed") {
				t.Errorf("newest event %q", st[0].Events[0].Message)
			}
		})
	}
}

func TestRollbackWithoutOlderRevision(t *testing.T) {
	e := newEnv(t)
	e.inforum(t, 100, 4096, 4096)
	_, err := deploy.RollbackTarget(e.ctx, e.ecs, deploy.Ref{Name: "backend", Service: "backend", Cluster: "inforum"}, time.Minute)
	if !errors.Is(err, deploy.ErrNoOlderRevision) || !strings.Contains(err.Error(), "ecs-backend-task:1 has no older ACTIVE revision") {
		t.Fatalf("err = %v", err)
	}
}

// After a rollback, deploying the same files again moves the service to the
// revision it was rolled back from instead of registering a copy of it.
func TestRedeployAfterRollbackReusesTheRevision(t *testing.T) {
	e := newEnv(t)
	e.inforum(t, 100, 4096, 4096)
	if _, run, _ := e.deploy(t, context.Background(), nil, backendSpec(t, "v2")); run.Result != report.Success {
		t.Fatalf("deploy: %s %s", run.Result, run.Cause)
	}
	target, err := deploy.RollbackTarget(e.ctx, e.ecs, deploy.Ref{Name: "backend", Service: "backend", Cluster: "inforum", Strategy: "rolling"}, 20*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got := deploy.New(e.ecs, deploy.WithClock(e.w.Clock())).Apply(context.Background(), []deploy.Target{target}); got[0].Outcome != report.Success {
		t.Fatalf("rollback: %s %s", got[0].Outcome, got[0].Cause)
	}
	e.w.ResetCalls()
	p, run, _ := e.deploy(t, context.Background(), nil, backendSpec(t, "v2"))
	s := p.Services[0]
	if s.Action != plan.Reuse || s.Target.String() != "ecs-backend-task:2" || len(s.Changes) == 0 {
		t.Fatalf("plan: %s %s with %d changes, want reuse of ecs-backend-task:2", s.Action, s.Target, len(s.Changes))
	}
	if run.Result != report.Success || run.Services[0].Registered || run.Services[0].Final.String() != "ecs-backend-task:2" {
		t.Fatalf("redeploy: %s, registered %v, final %s", run.Result, run.Services[0].Registered, run.Services[0].Final)
	}
	if n := e.w.Calls()["ecs.RegisterTaskDefinition"]; n != 0 {
		t.Errorf("%d RegisterTaskDefinition calls, want 0", n)
	}
	if td, _, _ := e.running(t, "backend"); td != "ecs-backend-task:2" {
		t.Errorf("backend runs %s", td)
	}
}

// A cancel (SIGTERM) during `pier rollback` finishes the rollback within the
// grace period: reversing it would put the service back on the revision the
// user is leaving.
func TestRollbackFinishesOnCancel(t *testing.T) {
	for _, tt := range []struct {
		name, phase string
		spec        func(testing.TB, string) deploy.Spec
		ref         deploy.Ref
		version     string
		want        string
	}{
		{"rolling, during the rollout", "rollout", backendSpec, deploy.Ref{Name: "backend", Service: "backend", Cluster: "inforum", Strategy: "rolling"}, "v2", "ecs-backend-task:1"},
		{"recreate, during the scale-down", "scale-down", nexusSpec, deploy.Ref{Name: "nexus", Service: "nexus", Cluster: "inforum", Strategy: "recreate"}, "3.72.0", "nexus:1"},
		{"recreate, during the rollout", "rollout", nexusSpec, deploy.Ref{Name: "nexus", Service: "nexus", Cluster: "inforum", Strategy: "recreate"}, "3.72.0", "nexus:1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, sim.WithExclusiveMounts())
			e.inforum(t, 100, 4096, 4096)
			if _, run, _ := e.deploy(t, context.Background(), nil, tt.spec(t, tt.version)); run.Result != report.Success {
				t.Fatalf("deploy: %s %+v", run.Result, run.Services)
			}
			target, err := deploy.RollbackTarget(e.ctx, e.ecs, tt.ref, 20*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			l := &log{on: func(p report.Progress) {
				if p.Kind == report.PhaseStart && p.Message == tt.phase {
					cancel()
				}
			}}
			d := deploy.New(e.ecs, deploy.WithClock(e.w.Clock()), deploy.WithObserver(l), deploy.WithGrace(30*time.Minute))
			got := d.Apply(ctx, []deploy.Target{target})
			if ctx.Err() == nil {
				t.Fatalf("phase %q never started, so nothing was cancelled\n%s", tt.phase, l)
			}
			if got[0].Outcome != report.Success || got[0].Final.String() != tt.want {
				t.Fatalf("rollback after cancel: %s to %s (%s), want success to %s\n%s", got[0].Outcome, got[0].Final, got[0].Cause, tt.want, l)
			}
			if td, _, _ := e.running(t, tt.ref.Service); td != tt.want {
				t.Errorf("service runs %s, want %s", td, tt.want)
			}
			if h := e.w.MaxMountHolders(); h > 1 {
				t.Errorf("%d tasks held the Nexus data directory at once", h)
			}
		})
	}
}

// When the grace period ends before the rollback settles, pier says that
// ECS goes on with it (exit 4) and does not turn the service around.
func TestRollbackGraceEndsWithoutReversing(t *testing.T) {
	e := newEnv(t, sim.WithImageBehavior("v1", sim.ImageBehavior{SlowStart: 5 * time.Minute}))
	e.inforum(t, 100, 4096, 4096)
	if _, run, _ := e.deploy(t, context.Background(), nil, backendSpec(t, "v2")); run.Result != report.Success {
		t.Fatalf("deploy: %s %+v", run.Result, run.Services)
	}
	ref := deploy.Ref{Name: "backend", Service: "backend", Cluster: "inforum", Strategy: "rolling"}
	target, err := deploy.RollbackTarget(e.ctx, e.ecs, ref, 20*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := &log{on: func(p report.Progress) {
		if p.Kind == report.PhaseStart && p.Message == "rollout" {
			cancel()
		}
	}}
	d := deploy.New(e.ecs, deploy.WithClock(e.w.Clock()), deploy.WithObserver(l), deploy.WithGrace(30*time.Second))
	got := d.Apply(ctx, []deploy.Target{target})
	if got[0].Outcome != report.NotRestored || !strings.Contains(got[0].Cause, "does not reverse a rollback") {
		t.Fatalf("outcome %s (%s), want not-restored saying the rollback goes on\n%s", got[0].Outcome, got[0].Cause, l)
	}
	_, _, svc := e.running(t, "backend")
	if td := aws.ToString(svc.TaskDefinition); !strings.HasSuffix(td, "ecs-backend-task:1") {
		t.Errorf("service was turned to %s; the rollback target ecs-backend-task:1 must stay", td)
	}
}
