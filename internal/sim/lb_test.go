package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// targetGroup creates an ALB with a listener forwarding to a new target
// group, as the seed's services have, and returns the group's ARN.
func (e *env) targetGroup(t testing.TB, name string) (string, *elb.Client) {
	t.Helper()
	cfg := e.srv.AWSConfig()
	cfg.Retryer = connectionRetryer
	c := elb.NewFromConfig(cfg)
	lb := must(c.CreateLoadBalancer(e.ctx, &elb.CreateLoadBalancerInput{Name: aws.String(name + "-alb"), Subnets: []string{"subnet-a", "subnet-b"}}))(t)
	tg := must(c.CreateTargetGroup(e.ctx, &elb.CreateTargetGroupInput{
		Name: aws.String(name + "-tg"), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: aws.String("vpc-1"),
		TargetType: elbtypes.TargetTypeEnumInstance, HealthCheckIntervalSeconds: aws.Int32(10), HealthyThresholdCount: aws.Int32(3), UnhealthyThresholdCount: aws.Int32(2),
	}))(t)
	arn := aws.ToString(tg.TargetGroups[0].TargetGroupArn)
	must(c.CreateListener(e.ctx, &elb.CreateListenerInput{
		LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(arn)}},
	}))(t)
	return arn, c
}

func TestScenarioUnhealthyTargetsAreReplaced(t *testing.T) {
	e := start(t, WithImageBehavior("web/nginx:bad", ImageBehavior{Unhealthy: true}))
	e.cluster(t, "c", 4096, 4096)
	tg, elbc := e.targetGroup(t, "web")
	good := e.bridgeTask(t, "web", "512", "web/nginx:good")
	must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("c"), ServiceName: aws.String("web"), TaskDefinition: aws.String(good), DesiredCount: aws.Int32(2),
		LoadBalancers:                 []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String("nginx"), ContainerPort: aws.Int32(80)}},
		HealthCheckGracePeriodSeconds: aws.Int32(20),
	}))(t)
	e.advance(3 * time.Minute)
	s := e.service(t, "c", "web")
	if s.Deployments[0].RolloutState != ecstypes.DeploymentRolloutStateCompleted {
		t.Fatalf("first deployment did not complete: %+v\n%s", s.Deployments, eventLog(s))
	}
	if !hasEvent(s, "(service web) registered 2 targets in (target-group "+tg+")") {
		t.Errorf("no registration event:\n%s", eventLog(s))
	}
	health := must(elbc.DescribeTargetHealth(e.ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)}))(t)
	healthy := 0
	for _, d := range health.TargetHealthDescriptions {
		if d.TargetHealth.State == elbtypes.TargetHealthStateEnumHealthy {
			healthy++
			if p := aws.ToInt32(d.Target.Port); p < 32768 || p > 60999 {
				t.Errorf("target port %d outside the dynamic range", p)
			}
		}
	}
	if healthy != 2 {
		t.Fatalf("%d healthy targets, want 2: %+v", healthy, health.TargetHealthDescriptions)
	}

	bad := e.bridgeTask(t, "web", "512", "web/nginx:bad")
	must(e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c"), Service: aws.String("web"), TaskDefinition: aws.String(bad)}))(t)
	e.advance(15 * time.Minute)
	s = e.service(t, "c", "web")
	if !hasEvent(s, "is unhealthy in (target-group "+tg+") due to (reason Health checks failed with these codes: [502]).") {
		t.Errorf("no ELB health check event:\n%s", eventLog(s))
	}
	stopped := must(e.ecs.ListTasks(e.ctx, &ecs.ListTasksInput{Cluster: aws.String("c"), ServiceName: aws.String("web"), DesiredStatus: ecstypes.DesiredStatusStopped}))(t)
	replaced := 0
	for _, tk := range must(e.ecs.DescribeTasks(e.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: stopped.TaskArns}))(t).Tasks {
		if strings.HasPrefix(aws.ToString(tk.StoppedReason), "Task failed ELB health checks in (target-group "+tg+")") && tk.StopCode == ecstypes.TaskStopCodeServiceSchedulerInitiated {
			replaced++
		}
	}
	if replaced < 2 {
		t.Errorf("%d tasks replaced for failed ELB health checks, want at least 2\n%s", replaced, eventLog(s))
	}
	checkGolden(t, "events-unhealthy-targets.txt", eventLog(s))
	// The old tasks keep serving: minimumHealthyPercent 100 never lets them go
	// while the new ones are unhealthy.
	if s.RunningCount < 2 || s.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted {
		t.Errorf("running %d, deployments %+v", s.RunningCount, s.Deployments)
	}
}
