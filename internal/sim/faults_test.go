package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/pier-deploy/pier/internal/sim/ecr"
)

// throttlePattern calls ListClusters n times and returns which calls were throttled.
func throttlePattern(t *testing.T, seed uint64, n int) (string, *env) {
	e := start(t, WithSeed(seed), WithFaults(Faults{ThrottleRate: 0.3, Operations: []string{"ListClusters"}}))
	var b strings.Builder
	for range n {
		_, err := e.ecs.ListClusters(e.ctx, &ecs.ListClustersInput{})
		switch code := apiCode(err); code {
		case "":
			b.WriteByte('.')
		case "ThrottlingException":
			b.WriteByte('T')
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	return b.String(), e
}

func TestThrottlingIsSeededAndCounted(t *testing.T) {
	a, e := throttlePattern(t, 42, 60)
	b, _ := throttlePattern(t, 42, 60)
	c, _ := throttlePattern(t, 43, 60)
	if a != b {
		t.Errorf("same seed, different throttling:\n%s\n%s", a, b)
	}
	if a == c {
		t.Errorf("different seeds, same throttling: %s", a)
	}
	if n := strings.Count(a, "T"); n < 5 || n > 35 {
		t.Errorf("%d of 60 calls throttled at rate 0.3: %s", n, a)
	}
	if got := e.w.Calls()["ecs.ListClusters"]; got != 60 {
		t.Errorf("counted %d ListClusters calls, want 60 (throttled ones included)", got)
	}
	// Other operations are not throttled.
	for range 20 {
		if _, err := e.ecs.DescribeClusters(e.ctx, &ecs.DescribeClustersInput{}); err != nil {
			t.Fatalf("DescribeClusters: %v", err)
		}
	}
	e.w.ResetCalls()
	if len(e.w.Calls()) != 0 {
		t.Error("ResetCalls left counters")
	}
}

func TestServerErrorsOnEveryProtocol(t *testing.T) {
	e := start(t, WithFaults(Faults{ServerErrorRate: 1}))
	if _, err := e.ecs.ListClusters(e.ctx, &ecs.ListClustersInput{}); apiCode(err) != "ServerException" {
		t.Errorf("ECS: %v", err)
	}
	cfg := e.srv.AWSConfig()
	cfg.Retryer = connectionRetryer
	if _, err := elb.NewFromConfig(cfg).DescribeTargetGroups(e.ctx, &elb.DescribeTargetGroupsInput{}); apiCode(err) != "InternalFailure" || strings.Contains(err.Error(), "Rate exceeded") {
		t.Errorf("ELBv2: %v", err)
	}
	e.w.SetFaults(Faults{})
	if _, err := e.ecs.ListClusters(e.ctx, &ecs.ListClustersInput{}); err != nil {
		t.Errorf("after clearing faults: %v", err)
	}
}

func TestImagePulls(t *testing.T) {
	e := start(t, WithImageBehavior("*:broken", ImageBehavior{PullFailure: true}), WithImageBehavior("*:slow", ImageBehavior{SlowStart: 5 * time.Minute}))
	e.cluster(t, "c", 8192)
	host := e.srv.RegistryHost()
	idx, err := ecr.SyntheticImage("app:v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := e.w.ECR().Seed("app", idx, "v1")
	if err != nil {
		t.Fatal(err)
	}
	arm, err := ecr.SyntheticImage("app:arm", []string{"linux/arm64"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.w.ECR().Seed("app", arm, "arm"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		image   string
		running bool
		reason  string
	}{
		{host + "/app:v1", true, ""},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1", true, ""},
		{host + "/app:v2", false, "CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref " + host + "/app:v2"},
		{"nginx:broken", false, "CannotPullContainerError: "},
		{host + "/app:arm", false, "CannotPullContainerError: pull image manifest has been retried 7 time(s): image Manifest does not contain descriptor matching platform 'linux/amd64'"},
		{"nginx:slow", false, ""},
		{"docker.io/library/nginx:1.27", true, ""},
	} {
		t.Run(tc.image, func(t *testing.T) {
			tk := e.runOne(t, "pull", ecstypes.ContainerDefinition{Name: aws.String("app"), Image: aws.String(tc.image), Memory: aws.Int32(64)}, time.Minute)
			status := aws.ToString(tk.LastStatus)
			if tc.running != (status == "RUNNING") {
				t.Fatalf("status %s, stopped reason %q", status, aws.ToString(tk.StoppedReason))
			}
			if tc.reason != "" {
				if status != "STOPPED" || tk.StopCode != ecstypes.TaskStopCodeTaskFailedToStart || !strings.HasPrefix(aws.ToString(tk.StoppedReason), tc.reason) ||
					!strings.HasPrefix(aws.ToString(tk.Containers[0].Reason), "CannotPullContainerError") {
					t.Errorf("status %s code %s reason %q", status, tk.StopCode, aws.ToString(tk.StoppedReason))
				}
			}
			if tc.image == host+"/app:v1" && aws.ToString(tk.Containers[0].ImageDigest) != digest {
				t.Errorf("digest %s, want the registry's %s", aws.ToString(tk.Containers[0].ImageDigest), digest)
			}
			if tc.image == "nginx:slow" && status != "PENDING" {
				t.Errorf("slow image is %s after a minute", status)
			}
		})
	}
}

func TestNoCapacity(t *testing.T) {
	e := start(t, WithFaults(Faults{NoCapacity: true}))
	e.cluster(t, "c", 4096)
	fargate := must(e.ecs.RegisterTaskDefinition(e.ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("f"), NetworkMode: ecstypes.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		ContainerDefinitions:    []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("app:1")}},
	}))(t)
	must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("c"), ServiceName: aws.String("f"), TaskDefinition: fargate.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(1), LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}},
	}))(t)
	ec2 := e.bridgeTask(t, "b", "256", "b:1")
	must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("b"), TaskDefinition: aws.String(ec2), DesiredCount: aws.Int32(1)}))(t)
	e.advance(time.Minute)
	if s := e.service(t, "c", "f"); !hasEvent(s, "(service f) was unable to place a task. Reason: Capacity is unavailable at this time. Please try again later or in a different availability zone. For more information, see the Troubleshooting section.") {
		t.Errorf("fargate:\n%s", eventLog(s))
	}
	if s := e.service(t, "c", "b"); !hasEvent(s, "(service b) was unable to place a task because no container instance met all of its requirements.") {
		t.Errorf("ec2:\n%s", eventLog(s))
	}
	e.w.SetFaults(Faults{})
	e.advance(2 * time.Minute)
	for _, name := range []string{"f", "b"} {
		if s := e.service(t, "c", name); s.RunningCount != 1 {
			t.Errorf("%s: running %d once capacity is back\n%s", name, s.RunningCount, eventLog(s))
		}
	}
}

func TestSlowStopHonoursStopTimeout(t *testing.T) {
	for _, tc := range []struct {
		stopTimeout *int32
		stoppedBy   time.Duration // virtual time after StopTask when the task is STOPPED
		exit        int32
	}{
		{aws.Int32(120), 65 * time.Second, 0}, // exits by itself after 60 s
		{nil, 35 * time.Second, 137},          // killed at the default 30 s
	} {
		e := start(t, WithImageBehavior("nexus:slow", ImageBehavior{SlowStop: time.Minute}))
		e.cluster(t, "c", 4096)
		td := must(e.ecs.RegisterTaskDefinition(e.ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("n"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("nexus"), Image: aws.String("nexus:slow"), Memory: aws.Int32(512), StopTimeout: tc.stopTimeout}}}))(t)
		run := must(e.ecs.RunTask(e.ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn}))(t)
		arn := aws.ToString(run.Tasks[0].TaskArn)
		e.advance(time.Minute)
		must(e.ecs.StopTask(e.ctx, &ecs.StopTaskInput{Cluster: aws.String("c"), Task: aws.String(arn)}))(t)
		status := func() ecstypes.Task {
			return must(e.ecs.DescribeTasks(e.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: []string{arn}}))(t).Tasks[0]
		}
		e.advance(tc.stoppedBy - 10*time.Second)
		if s := aws.ToString(status().LastStatus); s != "STOPPING" {
			t.Errorf("stopTimeout %v: %s before the container exited", tc.stopTimeout, s)
		}
		e.advance(10 * time.Second)
		tk := status()
		if aws.ToString(tk.LastStatus) != "STOPPED" || aws.ToInt32(tk.Containers[0].ExitCode) != tc.exit {
			t.Errorf("stopTimeout %v: %s exit %d, want STOPPED exit %d", tc.stopTimeout, aws.ToString(tk.LastStatus), aws.ToInt32(tk.Containers[0].ExitCode), tc.exit)
		}
	}
}

// A crashing image exits with its code and no reason; an out-of-memory one
// is killed with 137 and ECS's OutOfMemoryError reason. Either stops the
// task as an essential container exit.
func TestCrashAndOutOfMemory(t *testing.T) {
	e := start(t, WithImageBehavior("*:crash", ImageBehavior{Crash: true, ExitCode: 3, CrashAfter: 20 * time.Second}),
		WithImageBehavior("*:oom", ImageBehavior{OutOfMemory: true}))
	e.cluster(t, "c", 8192)
	for _, tc := range []struct {
		image  string
		code   int32
		reason string
	}{
		{"app:crash", 3, ""},
		{"app:oom", 137, "OutOfMemoryError: Container killed due to memory usage"},
	} {
		t.Run(tc.image, func(t *testing.T) {
			tk := e.runOne(t, "exit", ecstypes.ContainerDefinition{Name: aws.String("app"), Image: aws.String(tc.image), Memory: aws.Int32(64)}, time.Minute)
			c := tk.Containers[0]
			if aws.ToString(tk.LastStatus) != "STOPPED" || tk.StopCode != ecstypes.TaskStopCodeEssentialContainerExited || aws.ToString(tk.StoppedReason) != "Essential container in task exited" ||
				aws.ToInt32(c.ExitCode) != tc.code || aws.ToString(c.Reason) != tc.reason {
				t.Errorf("task %s %s %q; container exit %d reason %q", aws.ToString(tk.LastStatus), tk.StopCode, aws.ToString(tk.StoppedReason), aws.ToInt32(c.ExitCode), aws.ToString(c.Reason))
			}
		})
	}
}
