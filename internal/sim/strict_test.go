package sim

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// RegisterTaskDefinition refuses what ECS refuses, with ECS's ClientException
// wording.
func TestRegisterTaskDefinitionRejectsWhatECSRejects(t *testing.T) {
	e := start(t)
	ctr := func(name, image string) ecstypes.ContainerDefinition {
		return ecstypes.ContainerDefinition{Name: aws.String(name), Image: aws.String(image), Memory: aws.Int32(256)}
	}
	awsvpc := func(cds ...ecstypes.ContainerDefinition) *ecs.RegisterTaskDefinitionInput {
		return &ecs.RegisterTaskDefinitionInput{Family: aws.String("x"), NetworkMode: ecstypes.NetworkModeAwsvpc, ContainerDefinitions: cds}
	}
	linked := ctr("nginx", "nginx:1")
	linked.Links = []string{"app"}
	mapped := ctr("nginx", "nginx:1")
	mapped.PortMappings = []ecstypes.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(8080)}}
	big := ctr("app", "app:1")
	big.Memory = aws.Int32(4096)
	side := ctr("app", "app:1")
	side.Essential = aws.Bool(false)
	for _, tc := range []struct {
		name string
		in   *ecs.RegisterTaskDefinitionInput
		want string
	}{
		{"task role neither ARN nor name", &ecs.RegisterTaskDefinitionInput{Family: aws.String("x"), TaskRoleArn: aws.String("~~/ecsTaskExecutionRole"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{ctr("a", "a:1")}}, "Role is not valid"},
		{"execution role of another service", &ecs.RegisterTaskDefinitionInput{Family: aws.String("x"), ExecutionRoleArn: aws.String("arn:aws:ecs:us-east-1:123456789012:cluster/c"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{ctr("a", "a:1")}}, "Role is not valid"},
		{"empty role", &ecs.RegisterTaskDefinitionInput{Family: aws.String("x"), TaskRoleArn: aws.String(""),
			ContainerDefinitions: []ecstypes.ContainerDefinition{ctr("a", "a:1")}}, "Role is not valid"},
		{"image with a space", &ecs.RegisterTaskDefinitionInput{Family: aws.String("x"), ContainerDefinitions: []ecstypes.ContainerDefinition{ctr("a", "app:1 ")}}, "Container.image contains invalid characters."},
		{"image with a shell variable", &ecs.RegisterTaskDefinitionInput{Family: aws.String("x"), ContainerDefinitions: []ecstypes.ContainerDefinition{ctr("a", "$IMAGE_NAME:latest")}}, "Container.image contains invalid characters."},
		{"awsvpc host port", awsvpc(mapped), "When networkMode=awsvpc, the host ports and container ports in port mappings must match."},
		{"links in awsvpc", awsvpc(linked, ctr("app", "app:1")), "Links are not supported when networkMode=awsvpc."},
		{"container memory above the task's", &ecs.RegisterTaskDefinitionInput{Family: aws.String("x"), Memory: aws.String("2048"), ContainerDefinitions: []ecstypes.ContainerDefinition{big}},
			"The 'memory' setting for container 'app' is greater than for the task."},
		{"no essential container", &ecs.RegisterTaskDefinitionInput{Family: aws.String("x"), ContainerDefinitions: []ecstypes.ContainerDefinition{side}},
			"Task definition doesn't have any essential container."},
		{"Fargate size", &ecs.RegisterTaskDefinitionInput{Family: aws.String("x"), NetworkMode: ecstypes.NetworkModeAwsvpc, Cpu: aws.String("1024"), Memory: aws.String("1024"),
			RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate}, ContainerDefinitions: []ecstypes.ContainerDefinition{ctr("a", "a:1")}},
			"No Fargate configuration exists for given values: 1024 CPU, 1024 memory. See the Amazon ECS documentation for the valid values."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.ecs.RegisterTaskDefinition(e.ctx, tc.in)
			var client *ecstypes.ClientException
			if !errors.As(err, &client) || client.ErrorMessage() != tc.want {
				t.Errorf("RegisterTaskDefinition: %v, want ClientException %q", err, tc.want)
			}
		})
	}
	// What ECS accepts: a role name, a role ARN with a path, a digest reference.
	ok := &ecs.RegisterTaskDefinitionInput{Family: aws.String("ok"), TaskRoleArn: aws.String("ecsTaskRole"),
		ExecutionRoleArn:     aws.String("arn:aws:iam::123456789012:role/service-role/ecsTaskExecutionRole"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{ctr("a", "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:"+strings.Repeat("ab", 32))}}
	if _, err := e.ecs.RegisterTaskDefinition(e.ctx, ok); err != nil {
		t.Errorf("a valid definition was refused: %v", err)
	}
}

// crashingHealthyTask registers a task whose container passes its health
// check and then crashes: a revision that "starts, passes one check and
// then crashes".
func (e *env) crashingHealthyTask(t *testing.T, image string) string {
	t.Helper()
	out := must(e.ecs.RegisterTaskDefinition(e.ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("api"), Memory: aws.String("512"), Cpu: aws.String("256"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("api"), Image: aws.String(image),
			HealthCheck: &ecstypes.HealthCheck{Command: []string{"CMD", "true"}, Interval: aws.Int32(5), Retries: aws.Int32(1)}}},
	}))(t)
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

// With resetOnHealthyTask (the default) every task that passes its checks
// sets the failure count back to 0, so a revision that crashes after its
// first healthy check never trips the breaker; with it off, it does.
func TestCircuitBreakerResetOnHealthyTask(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reset *bool
		trips bool
	}{
		{"default resets", nil, false},
		{"resetOnHealthyTask false", aws.Bool(false), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, WithImageBehavior("api:late-crash", ImageBehavior{Crash: true, CrashAfter: 20 * time.Second}))
			e.cluster(t, "c", 4096)
			good := e.crashingHealthyTask(t, "api:good")
			must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{
				Cluster: aws.String("c"), ServiceName: aws.String("api"), TaskDefinition: aws.String(good), DesiredCount: aws.Int32(2),
				DeploymentConfiguration: &ecstypes.DeploymentConfiguration{DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true, ResetOnHealthyTask: tc.reset}},
			}))(t)
			e.advance(2 * time.Minute)
			bad := e.crashingHealthyTask(t, "api:late-crash")
			must(e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c"), Service: aws.String("api"), TaskDefinition: aws.String(bad)}))(t)
			maxFailed := int32(0)
			for range 30 {
				e.advance(time.Minute)
				for _, d := range e.service(t, "c", "api").Deployments {
					if aws.ToString(d.TaskDefinition) == bad {
						maxFailed = max(maxFailed, d.FailedTasks)
					}
				}
			}
			s := e.service(t, "c", "api")
			tripped := hasEvent(s, "deployment failed: tasks failed to start.")
			if tripped != tc.trips {
				t.Fatalf("breaker tripped %v, want %v (most failedTasks seen %d)\n%s", tripped, tc.trips, maxFailed, eventLog(s))
			}
			if !tc.trips && maxFailed >= 3 {
				t.Errorf("failedTasks reached %d although every task passed its check first", maxFailed)
			}
			if tc.trips && aws.ToString(s.TaskDefinition) != good {
				t.Errorf("not rolled back: %s", aws.ToString(s.TaskDefinition))
			}
		})
	}
}

// After a circuit-breaker rollback the FAILED deployment stays listed while
// its tasks drain, then goes.
func TestFailedDeploymentListedWhileItDrains(t *testing.T) {
	e := start(t,
		WithImageBehavior("api:crash", ImageBehavior{Crash: true, CrashAfter: 5 * time.Second}),
		WithImageBehavior("api:crash-app", ImageBehavior{SlowStop: 25 * time.Second}))
	e.cluster(t, "c", 4096, 4096)
	good := e.bridgeTask(t, "api", "512", "api:good")
	must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("c"), ServiceName: aws.String("api"), TaskDefinition: aws.String(good), DesiredCount: aws.Int32(2),
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true}},
	}))(t)
	e.advance(2 * time.Minute)
	bad := e.bridgeTask(t, "api", "512", "api:crash")
	must(e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c"), Service: aws.String("api"), TaskDefinition: aws.String(bad)}))(t)
	var listed bool
	for range 1800 {
		e.advance(time.Second)
		s := e.service(t, "c", "api")
		if !hasEvent(s, "deployment failed: tasks failed to start.") {
			continue
		}
		for _, d := range s.Deployments {
			listed = listed || aws.ToString(d.TaskDefinition) == bad && d.RolloutState == ecstypes.DeploymentRolloutStateFailed && d.Status != nil && *d.Status == "ACTIVE"
		}
		break
	}
	if !listed {
		t.Fatalf("the FAILED deployment was not listed right after the breaker tripped:\n%s", eventLog(e.service(t, "c", "api")))
	}
	e.advance(10 * time.Minute)
	s := e.service(t, "c", "api")
	if len(s.Deployments) != 1 || aws.ToString(s.Deployments[0].TaskDefinition) != good {
		t.Errorf("once drained, only the rollback should be listed: %+v", s.Deployments)
	}
}

// A non-essential container can be OOM-killed while the task runs on.
func TestNonEssentialContainerOutOfMemory(t *testing.T) {
	e := start(t, WithImageBehavior("sidecar:fat", ImageBehavior{OutOfMemory: true, CrashAfter: 20 * time.Second}))
	e.cluster(t, "c", 4096)
	out := must(e.ecs.RegisterTaskDefinition(e.ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("t"), Memory: aws.String("1024"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{
			{Name: aws.String("main"), Image: aws.String("main:1")},
			{Name: aws.String("sidecar"), Image: aws.String("sidecar:fat"), Essential: aws.Bool(false)},
		}}))(t)
	run := must(e.ecs.RunTask(e.ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: out.TaskDefinition.TaskDefinitionArn}))(t)
	e.advance(2 * time.Minute)
	tk := must(e.ecs.DescribeTasks(e.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: []string{aws.ToString(run.Tasks[0].TaskArn)}}))(t).Tasks[0]
	if aws.ToString(tk.LastStatus) != statusRunning {
		t.Fatalf("task %s (%s), want it still RUNNING", aws.ToString(tk.LastStatus), aws.ToString(tk.StoppedReason))
	}
	for _, c := range tk.Containers {
		switch aws.ToString(c.Name) {
		case "sidecar":
			if aws.ToString(c.LastStatus) != statusStopped || aws.ToInt32(c.ExitCode) != 137 || aws.ToString(c.Reason) != oomReason {
				t.Errorf("sidecar %s exit %d reason %q, want STOPPED 137 %q", aws.ToString(c.LastStatus), aws.ToInt32(c.ExitCode), aws.ToString(c.Reason), oomReason)
			}
		case "main":
			if aws.ToString(c.LastStatus) != statusRunning {
				t.Errorf("main %s, want RUNNING", aws.ToString(c.LastStatus))
			}
		}
	}
}

// ECS's own calls throttled: no launch, the throttling event, and launches
// again once the throttling stops.
func TestSchedulerThrottled(t *testing.T) {
	e := start(t, WithFaults(Faults{SchedulerThrottleRate: 1}))
	e.cluster(t, "c", 4096)
	td := e.bridgeTask(t, "web", "256", "web:1")
	must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("web"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(1)}))(t)
	e.advance(time.Minute)
	s := e.service(t, "c", "web")
	if !hasEvent(s, "(service web) operations are being throttled. Will try again later.") || s.RunningCount+s.PendingCount != 0 {
		t.Fatalf("want the throttling event and no task: running %d pending %d\n%s", s.RunningCount, s.PendingCount, eventLog(s))
	}
	e.w.SetFaults(Faults{})
	e.advance(2 * time.Minute)
	if s := e.service(t, "c", "web"); s.RunningCount != 1 {
		t.Errorf("running %d after the throttling stopped, want 1", s.RunningCount)
	}
}

// minimumHealthyPercent 100 with maximumPercent 100 leaves the scheduler no
// move: ECS says so, once, and the deployment stays IN_PROGRESS.
func TestStalledDeploymentConfiguration(t *testing.T) {
	e := start(t)
	e.cluster(t, "c", 4096, 4096)
	v1 := e.bridgeTask(t, "web", "256", "web:1")
	must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("web"), TaskDefinition: aws.String(v1), DesiredCount: aws.Int32(2),
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(100), MaximumPercent: aws.Int32(100)}}))(t)
	e.advance(2 * time.Minute)
	if hasEvent(e.service(t, "c", "web"), "unable to stop or start tasks") {
		t.Fatal("the first deployment (nothing to replace) was reported stalled")
	}
	v2 := e.bridgeTask(t, "web", "256", "web:2")
	must(e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c"), Service: aws.String("web"), TaskDefinition: aws.String(v2)}))(t)
	e.advance(10 * time.Minute)
	s := e.service(t, "c", "web")
	const msg = "(service web) was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again."
	n := 0
	for _, ev := range s.Events {
		if aws.ToString(ev.Message) == msg {
			n++
		}
	}
	if n != 1 || s.Deployments[0].RolloutState != ecstypes.DeploymentRolloutStateInProgress || s.Deployments[0].RunningCount != 0 {
		t.Errorf("stall event %d times (want 1), deployments %+v\n%s", n, s.Deployments, eventLog(s))
	}
}

// A load-balanced service's tasks: target health states and reasons as ELBv2
// gives them, and ECS's events when it stops a task for its ELB checks.
func TestTargetHealthReasonsAndELBStop(t *testing.T) {
	e := start(t, WithImageBehavior("web/nginx:mute", ImageBehavior{ELBTimeout: true}))
	e.cluster(t, "c", 4096)
	tg, _ := e.targetGroup(t, "web")
	td := e.bridgeTask(t, "web", "512", "web/nginx:mute")
	must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("c"), ServiceName: aws.String("web"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(1),
		LoadBalancers:                 []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String("nginx"), ContainerPort: aws.Int32(80)}},
		HealthCheckGracePeriodSeconds: aws.Int32(30),
	}))(t)
	seen := map[string]bool{}
	var taskID string
	for range 120 {
		e.advance(time.Second)
		for _, tgt := range e.w.ELBv2().Targets(tg) {
			seen[tgt.State+" "+tgt.Reason] = true
		}
		if s := e.service(t, "c", "web"); hasEvent(s, "failed ELB health checks in") {
			for _, ev := range s.Events {
				if m := aws.ToString(ev.Message); strings.Contains(m, "failed ELB health checks in") {
					taskID = strings.TrimSuffix(strings.Fields(m)[3], ")")
				}
			}
			break
		}
	}
	for _, want := range []string{"initial Elb.RegistrationInProgress", "initial Elb.InitialHealthChecking", "unhealthy Target.Timeout", "draining Target.DeregistrationInProgress"} {
		if !seen[want] {
			t.Errorf("target never %q; seen %v", want, seen)
		}
	}
	s := e.service(t, "c", "web")
	for _, want := range []string{
		"(service web) (task " + taskID + ") (instance ",
		") is unhealthy in (target-group " + tg + ") due to (reason Request timed out).",
		"(service web) (task " + taskID + ") failed ELB health checks in (target-group " + tg + ").",
		"(service web) has stopped 1 running tasks: (task " + taskID + ").",
	} {
		if taskID == "" || !hasEvent(s, want) {
			t.Errorf("no event with %q:\n%s", want, eventLog(s))
		}
	}
	if h := e.w.ELBv2().Targets(tg); len(h) > 0 && h[0].State == string(elbtypes.TargetHealthStateEnumHealthy) {
		t.Errorf("a mute target turned healthy: %+v", h)
	}
}

// ECS failing to register a task as a target: its event, a task that never
// counts as healthy, and registration once the fault clears.
func TestRegisterTargetsFails(t *testing.T) {
	e := start(t, WithFaults(Faults{RegisterTargetsError: "Rate exceeded"}))
	e.cluster(t, "c", 4096)
	tg, _ := e.targetGroup(t, "web")
	td := e.bridgeTask(t, "web", "512", "web/nginx:1")
	must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("c"), ServiceName: aws.String("web"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(1),
		LoadBalancers: []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String("nginx"), ContainerPort: aws.Int32(80)}},
	}))(t)
	e.advance(3 * time.Minute)
	s := e.service(t, "c", "web")
	if !hasEvent(s, "(service web) failed to register targets in (target-group "+tg+") with (error Rate exceeded)") ||
		s.Deployments[0].RolloutState != ecstypes.DeploymentRolloutStateInProgress || len(e.w.ELBv2().Targets(tg)) != 0 {
		t.Fatalf("want the registration failure, no target and an unfinished rollout: %+v targets %v\n%s", s.Deployments, e.w.ELBv2().Targets(tg), eventLog(s))
	}
	e.w.SetFaults(Faults{})
	e.advance(3 * time.Minute)
	if s := e.service(t, "c", "web"); s.Deployments[0].RolloutState != ecstypes.DeploymentRolloutStateCompleted || len(e.w.ELBv2().Targets(tg)) != 1 {
		t.Errorf("after the fault: %+v targets %v\n%s", s.Deployments, e.w.ELBv2().Targets(tg), eventLog(s))
	}
}

// Another actor's UpdateService lands during a rollout: the service ends on
// their revision or count, not the one the first caller set.
func TestForeignUpdateDuringRollout(t *testing.T) {
	for _, tc := range []struct {
		name        string
		update      func(v3 string) ForeignUpdate
		wantTD      string // "v2" or "v3"
		wantDesired int32
	}{
		{"revision after the first UpdateService", func(v3 string) ForeignUpdate {
			return ForeignUpdate{Service: "web", AfterUpdate: 20 * time.Second, TaskDefinition: "web:3"}
		}, "v3", 2},
		{"desired count at a virtual time", func(string) ForeignUpdate {
			return ForeignUpdate{Cluster: "c", Service: "web", At: 2*time.Minute + 30*time.Second, DesiredCount: aws.Int32(3)}
		}, "v2", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, WithForeignUpdate(tc.update("")))
			e.cluster(t, "c", 4096, 4096)
			v1 := e.bridgeTask(t, "web", "256", "web:1")
			must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("web"), TaskDefinition: aws.String(v1), DesiredCount: aws.Int32(2)}))(t)
			e.advance(2 * time.Minute)
			v2 := e.bridgeTask(t, "web", "256", "web:2")
			v3 := e.bridgeTask(t, "web", "256", "web:3")
			must(e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c"), Service: aws.String("web"), TaskDefinition: aws.String(v2)}))(t)
			e.advance(10 * time.Minute)
			s := e.service(t, "c", "web")
			want := map[string]string{"v2": v2, "v3": v3}[tc.wantTD]
			if aws.ToString(s.TaskDefinition) != want || s.DesiredCount != tc.wantDesired || s.RunningCount != tc.wantDesired {
				t.Errorf("service on %s with %d/%d tasks, want %s with %d\n%s", aws.ToString(s.TaskDefinition), s.RunningCount, s.DesiredCount, want, tc.wantDesired, eventLog(s))
			}
			if r := e.w.ForeignUpdates(); len(r) != 1 || r[0].Landed.IsZero() || r[0].Err != "" {
				t.Errorf("foreign update: %+v", r)
			}
		})
	}
}
