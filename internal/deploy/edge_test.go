package deploy_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pier-deploy/pier/internal/deploy"
	"github.com/pier-deploy/pier/internal/report"
	"github.com/pier-deploy/pier/internal/sim"
	"github.com/pier-deploy/pier/internal/taskdef"
)

// keepRevisions: after each success, only the newest N ACTIVE revisions of
// the family stay, and never the one in use nor the rollback target.
func TestKeepRevisions(t *testing.T) {
	e := newEnv(t)
	e.inforum(t, 100, 4096, 4096)
	var last *report.Run
	for _, v := range []string{"v2", "v3", "v4"} {
		spec := backendSpec(t, v)
		spec.KeepRevisions = 1 // in use and rollback target are kept anyway
		_, run, _ := e.deploy(t, context.Background(), nil, spec)
		if run.Result != report.Success {
			t.Fatalf("deploy %s: %s %s", v, run.Result, run.Cause)
		}
		last = run
	}
	out := must(e.ecs.ListTaskDefinitions(e.ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("ecs-backend-task"), Status: ecstypes.TaskDefinitionStatusActive}))(t)
	var active []string
	for _, a := range out.TaskDefinitionArns {
		active = append(active, shortTD(a))
	}
	if len(active) != 2 || active[0] != "ecs-backend-task:3" || active[1] != "ecs-backend-task:4" {
		t.Errorf("ACTIVE revisions %v, want [ecs-backend-task:3 ecs-backend-task:4]", active)
	}
	if d := last.Services[0].Deregistered; len(d) != 1 || d[0] != "ecs-backend-task:2" {
		t.Errorf("last run deregistered %v, want [ecs-backend-task:2]", d)
	}
}

func TestCancelledBeforeStartChangesNothing(t *testing.T) {
	e := newEnv(t)
	e.inforum(t, 100, 4096, 4096)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e.w.ResetCalls()
	_, run, _ := e.deploy(t, ctx, nil, backendSpec(t, "v2"), nexusSpec(t, "3.72.0"))
	if run.Result != report.Failed || run.Result.ExitCode() != 1 {
		t.Fatalf("result %s, want failed (exit 1)", run.Result)
	}
	if c := e.w.Calls(); c["ecs.RegisterTaskDefinition"]+c["ecs.UpdateService"] != 0 {
		t.Errorf("a cancelled run changed something: %v", c)
	}
}

func TestServiceDeletedDuringRollout(t *testing.T) {
	e := newEnv(t)
	e.inforum(t, 100, 4096, 4096)
	l := &log{}
	fired := false
	l.on = func(p report.Progress) {
		if !fired && p.Kind == report.PhaseStart && p.Message == "rollout" {
			fired = true
			must(e.ecs.DeleteService(e.ctx, &ecs.DeleteServiceInput{Cluster: aws.String("inforum"), Service: aws.String("backend"), Force: aws.Bool(true)}))(t)
		}
	}
	_, run, _ := e.deploy(t, context.Background(), l, backendSpec(t, "v2"))
	s := run.Services[0]
	if run.Result.ExitCode() != 4 || !strings.Contains(s.Cause, "being deleted") && !strings.Contains(s.Cause, "deleted?") {
		t.Fatalf("exit %d, cause %q; want 4 saying the service is being deleted\n%s", run.Result.ExitCode(), s.Cause, l)
	}
}

func TestMissingServiceIsRefusedBeforeAnyChange(t *testing.T) {
	e := newEnv(t)
	e.inforum(t, 100, 4096, 4096)
	spec := backendSpec(t, "v2")
	spec.Service = "ecs-backend-service" // the seed's name; this cluster calls it "backend"
	p, targets, err := planOnly(e, spec)
	if err != nil {
		t.Fatal(err)
	}
	errs := p.Errors()
	if len(errs) != 1 || !strings.Contains(errs[0].Message, `ECS service "ecs-backend-service" does not exist in cluster "inforum"`) {
		t.Fatalf("plan errors %+v", errs)
	}
	e.w.ResetCalls()
	got := deploy.New(e.ecs, deploy.WithClock(e.w.Clock())).Apply(context.Background(), targets)
	if got[0].Outcome != report.Failed || e.w.Calls()["ecs.RegisterTaskDefinition"] != 0 {
		t.Errorf("applying a plan for a missing service: %s, calls %v", got[0].Outcome, e.w.Calls())
	}
}

// Only the count differs: no revision is registered, the service is scaled
// on its current revision, and the verdict waits for the new tasks.
func TestCountOnlyUpdate(t *testing.T) {
	for _, strategy := range []string{"rolling", "recreate"} {
		t.Run(strategy, func(t *testing.T) {
			e := newEnv(t, sim.WithExclusiveMounts())
			e.inforum(t, 100, 4096, 4096)
			spec := backendSpec(t, "v1")
			spec.Count = aws.Int32(3)
			if strategy == "recreate" {
				// A recreate service scaled from 1 to 0 and back is the same
				// sequence a restart takes.
				spec = nexusSpec(t, "3.70.0")
				spec.Count = aws.Int32(1)
				must(e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("inforum"), Service: aws.String("nexus"), DesiredCount: aws.Int32(0)}))(t)
				e.w.Clock().Advance(10 * time.Minute)
			}
			e.w.ResetCalls()
			p, run, _ := e.deploy(t, context.Background(), nil, spec)
			if p.Services[0].Action != "update" || run.Result != report.Success {
				t.Fatalf("action %s, result %s (%s)", p.Services[0].Action, run.Result, run.Cause)
			}
			if c := e.w.Calls()["ecs.RegisterTaskDefinition"]; c != 0 {
				t.Errorf("%d registrations for a count change", c)
			}
			td, n, _ := e.running(t, spec.Service)
			if n != *spec.Count || td != p.Services[0].Current.String() {
				t.Errorf("%s runs %s × %d, want %s × %d", spec.Service, td, n, p.Services[0].Current, *spec.Count)
			}
			if h := e.w.MaxMountHolders(); h > 1 {
				t.Errorf("%d mount holders", h)
			}
		})
	}
}

// Two services share a cluster with room for one extra task. Each alone
// could start its new task; together the second must wait until the first
// rollout's old task stops, minutes later. Preflight says so, and pier
// waits for it instead of calling ECS's "unable to place" a failure.
func TestRolloutsSharingRoomWaitForEachOther(t *testing.T) {
	e := newEnv(t, sim.WithImageBehavior(":v2", sim.ImageBehavior{SlowStart: 3 * time.Minute}))
	must(e.ecs.CreateCluster(e.ctx, &ecs.CreateClusterInput{ClusterName: aws.String("shared")}))(t)
	must(e.ecs.RegisterContainerInstance(e.ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String("shared"),
		TotalResources: []ecstypes.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 3072},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 8192},
		}}))(t)
	td := func(name, v string) *taskdef.TaskDef {
		js := fmt.Sprintf(`{"family":%q,"networkMode":"bridge","cpu":"1024","memory":"512","requiresCompatibilities":["EC2"],
			"containerDefinitions":[{"name":"app","image":"registry.example/%s:%s","essential":true}]}`, name, name, v)
		return must(taskdef.Parse(name+".json", []byte(js)))(t)
	}
	dc := &ecstypes.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(100), MaximumPercent: aws.Int32(200)}
	var specs []deploy.Spec
	for _, name := range []string{"app-a", "app-b"} {
		must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("shared"), ServiceName: aws.String(name),
			TaskDefinition: aws.String(e.register(t, td(name, "v1"))), DesiredCount: aws.Int32(1), LaunchType: ecstypes.LaunchTypeEc2,
			DeploymentConfiguration: dc}))(t)
		specs = append(specs, deploy.Spec{Name: name, Service: name, Cluster: "shared", Strategy: "rolling", TaskDef: td(name, "v2"), Timeout: 20 * time.Minute})
	}
	e.w.Clock().Advance(time.Minute)

	l := &log{}
	p, run, _ := e.deploy(t, context.Background(), l, specs...)
	if !p.Services[1].WaitsForOthers() || p.Services[0].WaitsForOthers() {
		t.Errorf("preflight: app-a %+v, app-b %+v; want app-b told to wait", p.Services[0].Findings, p.Services[1].Findings)
	}
	if run.Result != report.Success {
		t.Fatalf("result %s: %s\n%s", run.Result, run.Cause, l)
	}
	if !strings.Contains(l.String(), "was unable to place a task") {
		t.Errorf("ECS never reported the shortage: the test proves nothing\n%s", l)
	}
}
