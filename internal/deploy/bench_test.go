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

// fleet seeds a cluster with n small bridge-mode services on roomy
// instances and returns their specs at version v.
func (e *env) fleet(b testing.TB, n int) func(v string) []deploy.Spec {
	must(e.ecs.CreateCluster(e.ctx, &ecs.CreateClusterInput{ClusterName: aws.String("fleet")}))(b)
	for i := 0; i < n/10+1; i++ {
		must(e.ecs.RegisterContainerInstance(e.ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String("fleet"),
			TotalResources: []ecstypes.Resource{
				{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 16384},
				{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 65536},
			}}))(b)
	}
	td := func(i int, v string) *taskdef.TaskDef {
		js := fmt.Sprintf(`{"family":"svc-%d","networkMode":"bridge","cpu":"128","memory":"256","requiresCompatibilities":["EC2"],
			"containerDefinitions":[{"name":"app","image":"registry.example/app:%s","essential":true,"portMappings":[{"containerPort":80,"hostPort":0}]}]}`, i, v)
		t, err := taskdef.Parse(fmt.Sprintf("svc-%d.json", i), []byte(js))
		if err != nil {
			b.Fatal(err)
		}
		return t
	}
	dc := &ecstypes.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(100), MaximumPercent: aws.Int32(200),
		DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true}}
	for i := 0; i < n; i++ {
		must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("fleet"), ServiceName: aws.String(fmt.Sprintf("svc-%d", i)),
			TaskDefinition: aws.String(e.register(b, td(i, "v1"))), DesiredCount: aws.Int32(2), LaunchType: ecstypes.LaunchTypeEc2, DeploymentConfiguration: dc}))(b)
	}
	e.w.Clock().Advance(5 * time.Minute)
	return func(v string) []deploy.Spec {
		specs := make([]deploy.Spec, n)
		for i := range specs {
			specs[i] = deploy.Spec{Name: fmt.Sprintf("svc-%d", i), Service: fmt.Sprintf("svc-%d", i), Cluster: "fleet", Strategy: "rolling",
				TaskDef: td(i, v), Timeout: 20 * time.Minute}
		}
		return specs
	}
}

// BenchmarkDeployAPICalls: every ECS call one deploy makes (plan, register,
// update, waiting, stopped-task reads), per service.
func BenchmarkDeployAPICalls(b *testing.B) {
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			var calls, describes, rounds float64
			for i := 0; i < b.N; i++ {
				e := newEnv(b)
				specs := e.fleet(b, n)
				e.w.ResetCalls()
				_, run, d := e.deploy(b, context.Background(), nil, specs("v2")...)
				if run.Result != report.Success {
					b.Fatalf("deploy: %s %s", run.Result, run.Cause)
				}
				total := 0
				for op, c := range e.w.Calls() {
					if strings.HasPrefix(op, "ecs.") {
						total += c
					}
				}
				calls += float64(total) / float64(n)
				r, c := d.Rounds()
				describes += float64(c)
				rounds += float64(r)
			}
			b.ReportMetric(calls/float64(b.N), "calls/service")
			b.ReportMetric(describes/rounds, "DescribeServices/round")
			b.ReportMetric(rounds/float64(b.N), "rounds")
		})
	}
}

// BenchmarkVerdictLatency: virtual seconds from ECS reporting the outcome
// (the deployment's completion event, or the failed task's stop) to pier's
// verdict on it (the end of the rollout phase).
func BenchmarkVerdictLatency(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts []sim.Option
		mark string // the service event that is ECS's own verdict
		cpus []int32
	}{
		{"steady", nil, "deployment completed", []int32{4096, 4096}},
		{"steady-after-5m", []sim.Option{sim.WithImageBehavior("backend-nginx:v2", sim.ImageBehavior{SlowStart: 5 * time.Minute})}, "deployment completed", []int32{4096, 4096}},
		{"crash", []sim.Option{sim.WithImageBehavior("backend-nginx:v2", sim.ImageBehavior{Crash: true, ExitCode: 1})}, "", []int32{4096, 4096}},
		// Preflight found no room before the change, so ECS's "unable to
		// place" is the verdict at once (without that warning pier would
		// wait placeGraceStuck: ECS prints it for transient shortages too).
		{"cannot-place", nil, "was unable to place a task", []int32{4096}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var lag float64
			for i := 0; i < b.N; i++ {
				e := newEnv(b, tc.opts...)
				e.inforum(b, 100, tc.cpus...)
				_, run, _ := e.deploy(b, context.Background(), nil, backendSpec(b, "v2"))
				s := run.Services[0]
				var verdict time.Time
				for _, p := range s.Phases {
					if p.Name == "rollout" {
						verdict = p.Finished
					}
				}
				var reported time.Time
				if tc.mark != "" {
					for _, ev := range s.Events {
						if strings.Contains(ev.Message, tc.mark) && reported.IsZero() {
							reported = ev.Time
						}
					}
				} else {
					reported = firstStop(b, e, s.Deployment)
				}
				if verdict.IsZero() || reported.IsZero() {
					b.Fatalf("no verdict (%v) or no ECS report (%v): %+v", verdict, reported, s)
				}
				lag += verdict.Sub(reported).Seconds()
			}
			b.ReportMetric(lag/float64(b.N), "virtual-s/verdict")
		})
	}
}

// firstStop is when the first task of the deployment stopped.
func firstStop(b testing.TB, e *env, deployment string) time.Time {
	list := must(e.ecs.ListTasks(e.ctx, &ecs.ListTasksInput{Cluster: aws.String("inforum"), ServiceName: aws.String("backend"), DesiredStatus: ecstypes.DesiredStatusStopped}))(b)
	var first time.Time
	if len(list.TaskArns) == 0 {
		return first
	}
	for _, t := range must(e.ecs.DescribeTasks(e.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("inforum"), Tasks: list.TaskArns}))(b).Tasks {
		if aws.ToString(t.StartedBy) == deployment && t.StoppedAt != nil && (first.IsZero() || t.StoppedAt.Before(first)) {
			first = *t.StoppedAt
		}
	}
	return first
}

// BenchmarkUnchangedRedeploy: the ECS calls a deploy makes when nothing
// changed (it only looks), per service.
func BenchmarkUnchangedRedeploy(b *testing.B) {
	var calls float64
	const n = 10
	for i := 0; i < b.N; i++ {
		e := newEnv(b)
		specs := e.fleet(b, n)
		if _, run, _ := e.deploy(b, context.Background(), nil, specs("v2")...); run.Result != report.Success {
			b.Fatalf("first deploy: %s", run.Result)
		}
		e.w.ResetCalls()
		if _, run, _ := e.deploy(b, context.Background(), nil, specs("v2")...); run.Result != report.NoChanges {
			b.Fatalf("second deploy: %s", run.Result)
		}
		c := e.w.Calls()
		if c["ecs.RegisterTaskDefinition"]+c["ecs.UpdateService"] != 0 {
			b.Fatalf("an unchanged redeploy changed something: %v", c)
		}
		total := 0
		for op, k := range c {
			if strings.HasPrefix(op, "ecs.") {
				total += k
			}
		}
		calls += float64(total) / n
	}
	b.ReportMetric(calls/float64(b.N), "calls/service")
}
