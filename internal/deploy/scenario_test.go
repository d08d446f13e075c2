package deploy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/pier-deploy/pier/internal/deploy"
	"github.com/pier-deploy/pier/internal/plan"
	"github.com/pier-deploy/pier/internal/report"
	"github.com/pier-deploy/pier/internal/sim"
)

// Each scenario deploys the backend from v1 to v2 on the simulated inforum
// cluster and checks the verdict three ways: the exit code, the cause in
// the output, and the task definition the service runs at the end.
func TestRollingScenarios(t *testing.T) {
	tests := []struct {
		name       string
		opts       []sim.Option
		cpus       []int32 // container instances
		minHealthy int32
		during     func(t *testing.T, e *env) // runs once the rollout is under way
		exit       int
		cause      string // in the report's cause and the progress output
		final      string // family:revision the backend runs at the end
		finalCount int32
	}{
		{name: "success", cpus: []int32{4096, 4096}, minHealthy: 100, exit: 0, final: "ecs-backend-task:2", finalCount: 2},
		{name: "circuit breaker rollback is not success", cpus: []int32{4096, 4096}, minHealthy: 100,
			opts: []sim.Option{sim.WithImageBehavior("backend-springboot:v2", sim.ImageBehavior{Crash: true, ExitCode: 1}),
				sim.WithImageBehavior("backend-nginx:v2", sim.ImageBehavior{Crash: true, ExitCode: 1})},
			exit: 3, cause: "exited with code 1", final: "ecs-backend-task:1", finalCount: 2},
		{name: "out of memory", cpus: []int32{4096, 4096}, minHealthy: 100,
			opts: []sim.Option{sim.WithImageBehavior("backend-nginx:v2", sim.ImageBehavior{Crash: true, ExitCode: 137})},
			exit: 3, cause: "out of memory", final: "ecs-backend-task:1", finalCount: 2},
		{name: "placement failure on the seed's one instance", cpus: []int32{4096}, minHealthy: 100,
			exit: 3, cause: "has insufficient CPU units available", final: "ecs-backend-task:1", finalCount: 2},
		{name: "placement works with minimumHealthyPercent 50", cpus: []int32{4096}, minHealthy: 50,
			exit: 0, final: "ecs-backend-task:2", finalCount: 2},
		{name: "image pull failure", cpus: []int32{4096, 4096}, minHealthy: 100,
			opts: []sim.Option{sim.WithImageBehavior("backend-nginx:v2", sim.ImageBehavior{PullFailure: true})},
			exit: 3, cause: "CannotPullContainerError", final: "ecs-backend-task:1", finalCount: 2},
		{name: "30% of API calls throttled still succeeds", cpus: []int32{4096, 4096}, minHealthy: 100,
			opts: []sim.Option{sim.WithFaults(sim.Faults{ThrottleRate: 0.3})},
			exit: 0, final: "ecs-backend-task:2", finalCount: 2},
		{name: "superseded by a concurrent deployment", cpus: []int32{4096, 4096}, minHealthy: 100,
			opts: []sim.Option{sim.WithImageBehavior("backend-nginx:v2", sim.ImageBehavior{SlowStart: 3 * time.Minute})},
			during: func(t *testing.T, e *env) {
				// Someone else registers and deploys v3 meanwhile.
				v3 := e.register(t, load(t, "backend-task.json", backendImages("v3")))
				must(e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("inforum"), Service: aws.String("backend"),
					TaskDefinition: aws.String(v3)}))(t)
			},
			exit: 4, cause: "outside this run", final: "ecs-backend-task:3", finalCount: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts...)
			e.inforum(t, tt.minHealthy, tt.cpus...)
			l := &log{}
			if tt.during != nil {
				fired := false
				l.on = func(p report.Progress) {
					if !fired && p.Kind == report.Note && strings.Contains(p.Message, "updated backend") {
						fired = true
						tt.during(t, e)
					}
				}
			}
			_, run, _ := e.deploy(t, context.Background(), l, backendSpec(t, "v2"))
			s := run.Services[0]
			if got := run.Result.ExitCode(); got != tt.exit {
				t.Fatalf("exit %d (%s: %s), want %d\n%s", got, s.Outcome, s.Cause, tt.exit, l)
			}
			if !strings.Contains(s.Cause, tt.cause) || !strings.Contains(l.String(), tt.cause) {
				t.Errorf("cause %q (or the output) does not mention %q\n%s", s.Cause, tt.cause, l)
			}
			td, n, svc := e.running(t, "backend")
			if td != tt.final || n != tt.finalCount {
				t.Errorf("backend runs %s × %d, want %s × %d; %+v", td, n, tt.final, tt.finalCount, svc.Deployments)
			}
			if s.Final.String() != tt.final {
				t.Errorf("report says the service ends on %s, ECS says %s", s.Final, td)
			}
			eventsReportedOnce(t, e, "backend", run)
		})
	}
}

func TestPreflightWarnsBeforeThePlacementFailure(t *testing.T) {
	e := newEnv(t)
	e.inforum(t, 100, 4096)
	p, _, err := planOnly(e, backendSpec(t, "v2"))
	if err != nil {
		t.Fatal(err)
	}
	var capacity *plan.Finding
	for i, f := range p.Services[0].Findings {
		if f.Check == "capacity" {
			capacity = &p.Services[0].Findings[i]
		}
	}
	if capacity == nil || capacity.Severity != plan.Warning || !strings.Contains(capacity.Fix, "minimumHealthyPercent to 50") {
		t.Fatalf("capacity finding = %+v, want a warning suggesting minimumHealthyPercent 50; findings %+v", capacity, p.Services[0].Findings)
	}
	if !strings.Contains(capacity.Message, "0 CPU units") {
		t.Errorf("finding %q does not say the instance has no CPU left", capacity.Message)
	}
}

func TestUnchangedRedeployChangesNothing(t *testing.T) {
	e := newEnv(t)
	e.inforum(t, 100, 4096, 4096)
	_, run, _ := e.deploy(t, context.Background(), nil, backendSpec(t, "v2"), frontendSpec(t, "v2"))
	if run.Result != report.Success {
		t.Fatalf("first deploy: %s %+v", run.Result, run.Services)
	}
	e.w.ResetCalls()
	p, run, _ := e.deploy(t, context.Background(), nil, backendSpec(t, "v2"), frontendSpec(t, "v2"))
	if run.Result != report.NoChanges || p.HasChanges() {
		t.Fatalf("second deploy: %s, plan has changes %v", run.Result, p.HasChanges())
	}
	calls := e.w.Calls()
	if calls["ecs.RegisterTaskDefinition"] != 0 || calls["ecs.UpdateService"] != 0 {
		t.Errorf("second deploy called %v", calls)
	}
}

func planOnly(e *env, specs ...deploy.Spec) (*plan.Plan, []deploy.Target, error) {
	return deploy.Plan(e.ctx, e.ecs, "pier.yaml", nil, specs)
}
