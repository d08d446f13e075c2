package sim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// seedInforum builds the reference deployment's cluster: one 4096-CPU
// instance running frontend (2048 CPU, 1 task) and backend (2 × 1024 CPU).
func seedInforum(t *testing.T, e *env, minHealthy int32) (backendV2 string) {
	t.Helper()
	e.cluster(t, "inforum", 4096)
	front := e.bridgeTask(t, "ecs-front-task", "2048", "front/nginx:1")
	back := e.bridgeTask(t, "ecs-backend-task", "1024", "back/nginx:1")
	for _, s := range []struct {
		name, td string
		n        int32
	}{{"frontend", front, 1}, {"backend", back, 2}} {
		must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{
			Cluster: aws.String("inforum"), ServiceName: aws.String(s.name), TaskDefinition: aws.String(s.td), DesiredCount: aws.Int32(s.n),
			DeploymentConfiguration: &ecstypes.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(minHealthy), MaximumPercent: aws.Int32(200)},
		}))(t)
	}
	e.advance(2 * time.Minute)
	return e.bridgeTask(t, "ecs-backend-task", "1024", "back/nginx:2")
}

func TestScenarioFullInstanceBlocksRollingUpdate(t *testing.T) {
	for _, tc := range []struct {
		name       string
		minHealthy int32
		completes  bool
	}{
		{"min100 cannot place", 100, false},
		{"min50 completes", 50, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t)
			v2 := seedInforum(t, e, tc.minHealthy)
			must(e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("inforum"), Service: aws.String("backend"), TaskDefinition: aws.String(v2)}))(t)
			e.advance(20 * time.Minute)
			s := e.service(t, "inforum", "backend")
			p := s.Deployments[0]
			placeFail := hasEvent(s, "(service backend) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance ", ") has insufficient CPU units available. For more information, see the Troubleshooting section.")
			if tc.completes {
				if p.RolloutState != ecstypes.DeploymentRolloutStateCompleted || len(s.Deployments) != 1 || aws.ToString(p.TaskDefinition) != v2 || s.RunningCount != 2 {
					t.Fatalf("rollout did not complete: %+v\n%s", s.Deployments, eventLog(s))
				}
				if !hasEvent(s, "(service backend) has reached a steady state.") {
					t.Errorf("no steady state event:\n%s", eventLog(s))
				}
				checkGolden(t, "events-inforum-min50.txt", eventLog(s))
				return
			}
			if !placeFail {
				t.Errorf("no placement failure event:\n%s", eventLog(s))
			}
			if p.RolloutState != ecstypes.DeploymentRolloutStateInProgress || len(s.Deployments) != 2 || p.RunningCount != 0 || s.RunningCount != 2 {
				t.Errorf("want a stuck rollout with the old tasks serving: %+v", s.Deployments)
			}
			// The event is printed once, not every scheduler pass.
			n := 0
			for _, ev := range s.Events {
				if strings.Contains(aws.ToString(ev.Message), "insufficient CPU units") {
					n++
				}
			}
			if n != 1 {
				t.Errorf("placement event printed %d times", n)
			}
		})
	}
}

func TestScenarioCrashingImageTripsCircuitBreaker(t *testing.T) {
	for _, rollback := range []bool{true, false} {
		t.Run(map[bool]string{true: "rollback", false: "no rollback"}[rollback], func(t *testing.T) {
			e := start(t, WithImageBehavior("*:crash", ImageBehavior{Crash: true, ExitCode: 137, CrashAfter: 5 * time.Second}))
			e.cluster(t, "c", 4096, 4096)
			good := e.bridgeTask(t, "api", "512", "api:good")
			must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{
				Cluster: aws.String("c"), ServiceName: aws.String("api"), TaskDefinition: aws.String(good), DesiredCount: aws.Int32(2),
				DeploymentConfiguration: &ecstypes.DeploymentConfiguration{DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: rollback}},
			}))(t)
			e.advance(2 * time.Minute)
			first := e.service(t, "c", "api").Deployments[0]
			bad := e.bridgeTask(t, "api", "512", "api:crash")
			must(e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c"), Service: aws.String("api"), TaskDefinition: aws.String(bad)}))(t)
			e.advance(30 * time.Minute)
			s := e.service(t, "c", "api")
			if !hasEvent(s, "deployment failed: tasks failed to start.") {
				t.Errorf("no circuit breaker event:\n%s", eventLog(s))
			}
			stopped := must(e.ecs.ListTasks(e.ctx, &ecs.ListTasksInput{Cluster: aws.String("c"), DesiredStatus: ecstypes.DesiredStatusStopped}))(t)
			tasks := must(e.ecs.DescribeTasks(e.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: stopped.TaskArns}))(t)
			crashed := 0
			for _, tk := range tasks.Tasks {
				if tk.StopCode == ecstypes.TaskStopCodeEssentialContainerExited && aws.ToString(tk.StoppedReason) == "Essential container in task exited" {
					for _, c := range tk.Containers {
						if aws.ToString(c.Name) == "nginx" && aws.ToInt32(c.ExitCode) == 137 {
							crashed++
						}
					}
				}
			}
			if crashed < 3 {
				t.Errorf("%d crashed tasks with exit code 137, want at least the threshold 3", crashed)
			}
			if rollback {
				if aws.ToString(s.TaskDefinition) != good || len(s.Deployments) != 1 || s.Deployments[0].RolloutState != ecstypes.DeploymentRolloutStateCompleted || s.RunningCount != 2 {
					t.Fatalf("not rolled back to %s: %s %+v\n%s", good, aws.ToString(s.TaskDefinition), s.Deployments, eventLog(s))
				}
				if !hasEvent(s, "(service api) rolling back to deployment "+aws.ToString(first.Id)+".") {
					t.Errorf("no rollback event:\n%s", eventLog(s))
				}
				// The service-deployment record of the failed rollout tells the same story.
				list := must(e.ecs.ListServiceDeployments(e.ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("c"), Service: aws.String("api")}))(t)
				if len(list.ServiceDeployments) != 2 {
					t.Fatalf("%d service deployments, want 2", len(list.ServiceDeployments))
				}
				sd := must(e.ecs.DescribeServiceDeployments(e.ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{aws.ToString(list.ServiceDeployments[0].ServiceDeploymentArn)}}))(t)
				got := sd.ServiceDeployments[0]
				if aws.ToString(s.CurrentServiceDeployment) != aws.ToString(got.ServiceDeploymentArn) {
					t.Errorf("currentServiceDeployment %s, want the rolled-back record %s", aws.ToString(s.CurrentServiceDeployment), aws.ToString(got.ServiceDeploymentArn))
				}
				if got.Status != ecstypes.ServiceDeploymentStatusRollbackSuccessful || got.Rollback == nil || got.DeploymentCircuitBreaker == nil || got.DeploymentCircuitBreaker.Status != ecstypes.ServiceDeploymentRollbackMonitorsStatusTriggered {
					t.Errorf("failed deployment record: %+v", got)
				}
				if list.ServiceDeployments[1].Status != ecstypes.ServiceDeploymentStatusSuccessful {
					t.Errorf("first deployment record %s, want SUCCESSFUL", list.ServiceDeployments[1].Status)
				}
				checkGolden(t, "events-crash-rollback.txt", eventLog(s))
				return
			}
			// Without health checks the new tasks looked healthy for a moment, so
			// the old ones were already replaced: ECS leaves the FAILED primary
			// in place and stops launching.
			p := s.Deployments[0]
			if p.RolloutState != ecstypes.DeploymentRolloutStateFailed || aws.ToString(p.TaskDefinition) != bad || p.FailedTasks < 3 || p.PendingCount != 0 {
				t.Fatalf("want a FAILED primary that launches nothing more: %+v\n%s", s.Deployments, eventLog(s))
			}
		})
	}
}

// nexusTask registers a Fargate task mounting EFS through an access point,
// with a container health check that passes only after Nexus has started.
func (e *env) nexusTask(t *testing.T, image string) string {
	t.Helper()
	out := must(e.ecs.RegisterTaskDefinition(e.ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("nexus"), NetworkMode: ecstypes.NetworkModeAwsvpc, Cpu: aws.String("2048"), Memory: aws.String("4096"),
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("nexus"), Image: aws.String(image),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8081)}},
			HealthCheck: &ecstypes.HealthCheck{Command: []string{"CMD-SHELL", "curl -f http://localhost:8081/service/rest/v1/status || exit 1"},
				Interval: aws.Int32(30), Retries: aws.Int32(3), StartPeriod: aws.Int32(60)},
			MountPoints: []ecstypes.MountPoint{{SourceVolume: aws.String("nexus-data"), ContainerPath: aws.String("/nexus-data")}},
		}},
		Volumes: []ecstypes.Volume{{Name: aws.String("nexus-data"), EfsVolumeConfiguration: &ecstypes.EFSVolumeConfiguration{
			FileSystemId: aws.String("fs-0123"), TransitEncryption: ecstypes.EFSTransitEncryptionEnabled,
			AuthorizationConfig: &ecstypes.EFSAuthorizationConfig{AccessPointId: aws.String("fsap-0456"), Iam: ecstypes.EFSAuthorizationConfigIAMEnabled},
		}}},
	}))(t)
	return *out.TaskDefinition.TaskDefinitionArn
}

func TestScenarioExclusiveMount(t *testing.T) {
	for _, tc := range []struct {
		name        string
		min, max    int32
		wantHolders int
	}{
		{"default rolling update overlaps", 100, 200, 2},
		{"stop old first", 0, 100, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, WithExclusiveMounts())
			e.cluster(t, "tools")
			v1 := e.nexusTask(t, "sonatype/nexus3:3.70.0")
			net := &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}
			must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{
				Cluster: aws.String("tools"), ServiceName: aws.String("nexus"), TaskDefinition: aws.String(v1), DesiredCount: aws.Int32(1),
				LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: net,
				DeploymentConfiguration: &ecstypes.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(tc.min), MaximumPercent: aws.Int32(tc.max)},
			}))(t)
			e.advance(3 * time.Minute)
			v2 := e.nexusTask(t, "sonatype/nexus3:3.72.0")
			must(e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("tools"), Service: aws.String("nexus"), TaskDefinition: aws.String(v2)}))(t)
			e.advance(10 * time.Minute)
			if got := e.w.MaxMountHolders(); got != tc.wantHolders {
				t.Errorf("max holders %d, want %d", got, tc.wantHolders)
			}
			s := e.service(t, "tools", "nexus")
			stopped := must(e.ecs.ListTasks(e.ctx, &ecs.ListTasksInput{Cluster: aws.String("tools"), DesiredStatus: ecstypes.DesiredStatusStopped}))(t)
			// Nexus finding its lock held is an ordinary process exit: code 1,
			// and no container reason from ECS (a real exit has none).
			var exits []string
			lockExits := 0
			if len(stopped.TaskArns) > 0 {
				for _, tk := range must(e.ecs.DescribeTasks(e.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("tools"), Tasks: stopped.TaskArns}))(t).Tasks {
					for _, c := range tk.Containers {
						exits = append(exits, fmt.Sprintf("%s exit %d reason %q (%s)", aws.ToString(c.Name), aws.ToInt32(c.ExitCode), aws.ToString(c.Reason), aws.ToString(tk.StoppedReason)))
						if aws.ToInt32(c.ExitCode) == 1 && c.Reason == nil && tk.StopCode == ecstypes.TaskStopCodeEssentialContainerExited {
							lockExits++
						}
					}
				}
			}
			conflicts := 0
			for _, m := range e.w.MountHolders() {
				conflicts += m.Conflicts
			}
			if tc.wantHolders == 2 {
				if lockExits == 0 || conflicts < lockExits {
					t.Errorf("want Nexus exits with code 1 and no reason, one for each lock conflict (%d): %q", conflicts, exits)
				}
				if s.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted {
					t.Errorf("the overlapping rollout completed:\n%s", eventLog(s))
				}
				checkGolden(t, "events-nexus-overlap.txt", eventLog(s)+"\n"+strings.Join(exits, "\n")+"\n")
				return
			}
			if lockExits > 0 || conflicts > 0 || s.Deployments[0].RolloutState != ecstypes.DeploymentRolloutStateCompleted || e.w.MaxLiveTasks("tools", "nexus") != 1 {
				t.Errorf("stop-old-first: exits %q, conflicts %d, deployments %+v, max live %d\n%s", exits, conflicts, s.Deployments, e.w.MaxLiveTasks("tools", "nexus"), eventLog(s))
			}
		})
	}
}

// ECS's circuit-breaker threshold: by default half the desired count
// rounded up, at least 3 and at most 200; thresholdConfiguration changes it.
func TestCircuitBreakerThreshold(t *testing.T) {
	bounded := &ecstypes.DeploymentCircuitBreaker{Enable: true}
	count := &ecstypes.DeploymentCircuitBreaker{Enable: true, ThresholdConfiguration: &ecstypes.ThresholdConfiguration{Type: ecstypes.ThresholdTypeCount, Value: 2}}
	unbounded := &ecstypes.DeploymentCircuitBreaker{Enable: true, ThresholdConfiguration: &ecstypes.ThresholdConfiguration{Type: ecstypes.ThresholdTypeUnboundedPercent, Value: 50}}
	for _, tc := range []struct {
		cb            *ecstypes.DeploymentCircuitBreaker
		desired, want int32
	}{
		{nil, 0, 3}, {bounded, 1, 3}, {bounded, 2, 3}, {bounded, 6, 3}, {bounded, 7, 4}, {bounded, 10, 5},
		{bounded, 399, 200}, {bounded, 400, 200}, {bounded, 1000, 200},
		{count, 10, 2}, {unbounded, 1000, 500}, {unbounded, 1, 1},
	} {
		if got := failureThreshold(tc.cb, tc.desired); got != tc.want {
			t.Errorf("%+v desired %d: threshold %d, want %d", tc.cb, tc.desired, got, tc.want)
		}
	}
}
