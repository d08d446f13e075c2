package deploy

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// The messages are ECS's own wording, as the console and describe-services print them.
func TestClassifyEvent(t *testing.T) {
	tests := []struct {
		msg  string
		kind Kind
		has  string
	}{
		{"(service ecs-backend-service) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance 5e3a2b1c9d8f4e7a) has insufficient CPU units available. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.",
			CannotPlace, "The closest matching (container-instance 5e3a2b1c9d8f4e7a) has insufficient CPU units available"},
		{"(service ecs-backend-service) was unable to place a task because no container instance met all of its requirements. Reason: No Container Instances were found in your cluster. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.",
			CannotPlace, "No Container Instances were found in your cluster"},
		{"(service ecs-front-service) (port 80) is unhealthy in (target-group arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/front/0123456789abcdef) due to (reason Health checks failed with these codes: [502]).",
			ELBUnhealthy, "Health checks failed with these codes: [502]"},
		{"(service nexus) (task 0a1b2c3d4e5f) failed container health checks.", ContainerHealth, "task 0a1b2c3d4e5f"},
		{"(service nexus) is unable to consistently start tasks successfully. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.", CannotStart, "consistently"},
		{"(service ecs-backend-service) has reached a steady state.", NotFatal, ""},
		{"(service ecs-backend-service) has started 1 tasks: (task 9f8e7d6c5b4a).", NotFatal, ""},
		{"(service ecs-backend-service) has stopped 1 running tasks: (task 9f8e7d6c5b4a).", NotFatal, ""},
		{"(service ecs-backend-service) registered 1 targets in (target-group arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/back/0123)", NotFatal, ""},
		{"(service ecs-backend-service) (deployment ecs-svc/1234567890123456789) deployment completed.", NotFatal, ""},
	}
	for _, tt := range tests {
		c := ClassifyEvent(tt.msg)
		if c.Kind != tt.kind || !strings.Contains(c.Message, tt.has) {
			t.Errorf("ClassifyEvent(%.60q…) = %+v, want kind %q mentioning %q", tt.msg, c, tt.kind, tt.has)
		}
	}
}

// Placement reasons and the other events ECS emits while a rollout is stuck,
// in ECS's words ("Amazon ECS service event messages"). Only a reason that
// waiting cannot change is fatal; an unknown one is quoted, never capacity.
func TestReadEvent(t *testing.T) {
	const more = " For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
	const tg = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/back/0123456789abcdef"
	tests := []struct {
		name     string
		msg      string
		class    class
		kind     Kind
		capacity bool
		has      string
	}{
		{"closest instance short of CPU", "(service ecs-backend-service) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance 5e3a2b1c9d8f4e7a) has insufficient CPU units available." + more,
			stuck, CannotPlace, true, "(container-instance 5e3a2b1c9d8f4e7a) has insufficient CPU units available"},
		{"closest instance short of memory", "(service ecs-backend-service) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance 5e3a) has insufficient memory available." + more,
			stuck, CannotPlace, true, "insufficient memory available"},
		{"port in use", "(service ecs-backend-service) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance 5e3a) is already using a port required by your task." + more,
			stuck, CannotPlace, true, "already using a port required by your task"},
		{"agent disconnected", `(service ecs-backend-service) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance 5e3a) encountered error "AGENT".` + more,
			stuck, CannotPlace, true, `encountered error "AGENT"`},
		{"no instances in the cluster", "(service ecs-backend-service) was unable to place a task because no container instance met all of its requirements. Reason: No Container Instances were found in your cluster." + more,
			stuck, CannotPlace, true, "No Container Instances were found in your cluster"},
		{"requirements without detail", "(service ecs-backend-service) was unable to place a task because no container instance met all of its requirements." + more,
			stuck, CannotPlace, true, "no container instance met all of its requirements"},
		{"no instances in the capacity provider", "(service web) was unable to place a task. Reason: No Container Instances were found in your capacity provider." + more,
			stuck, CannotPlace, true, "No Container Instances were found in your capacity provider"},
		{"concurrent task quota", "(service web) was unable to place a task. Reason: You've reached the limit on the number of tasks you can run concurrently." + more,
			fatal, PlacementQuota, false, "limit on the number of tasks you can run concurrently"},
		{"concurrent vCPU quota", "(service production) was unable to place a task. Reason: You’ve reached the limit on the number of vCPUs you can run concurrently." + more,
			fatal, PlacementQuota, false, "Service Quotas"},
		{"CPU configuration above the limit", "(service web) was unable to place a task. Reason: The requested CPU configuration is above your limit." + more,
			fatal, PlacementQuota, false, "requested CPU configuration is above your limit"},
		{"MEMORY configuration above the limit", "(service web) was unable to place a task. Reason: The requested MEMORY configuration is above your limit." + more,
			fatal, PlacementQuota, false, "MEMORY configuration"},
		{"Fargate capacity", "(service f) was unable to place a task. Reason: Capacity is unavailable at this time. Please try again later or in a different availability zone. For more information, see the Troubleshooting section.",
			stuck, CapacityUnavailable, false, "Capacity is unavailable at this time. Please try again later or in a different availability zone"},
		{"internal error", "(service web) was unable to place a task. Reason: Internal error." + more,
			stuck, PlacementOther, false, "Internal error"},
		{"resource initialization", "(service nexus) was unable to place a task. Reason: ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm." + more,
			fatal, ResourceInit, false, "unable to pull secrets or registry auth"},
		{"image pull", "(service nexus) was unable to place a task. Reason: CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref docker.io/sonatype/nexus3:3.99.0: not found." + more,
			fatal, CannotPull, false, "failed to resolve ref"},
		{"capacity provider not associated", "(service web) was unable to place a task. Reason: The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster." + more,
			fatal, CapacityProvider, false, "not associated with the cluster"},
		{"unknown reason, quoted", "(service web) was unable to place a task. Reason: Something ECS says that pier has never seen." + more,
			stuck, PlacementOther, false, "Something ECS says that pier has never seen"},
		{"unknown shape, quoted whole", "(service web) was unable to place a task in a way nobody wrote down",
			stuck, PlacementOther, false, "in a way nobody wrote down"},
		{"deployment configuration stall", "(service ecs-backend-service) is unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again.",
			fatal, DeploymentConfig, false, "minimumHealthyPercent"},
		{"deployment configuration stall, older wording", "(service ecs-backend-service) was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again.",
			fatal, DeploymentConfig, false, "maximumPercent"},
		{"throttled", "(service ecs-backend-service) operations are being throttled. Will try again later.", throttledEvent, NotFatal, false, ""},
		{"task failed ELB health checks", "(service ecs-backend-service) (task 9f8e7d6c5b4a) failed ELB health checks in (target-group " + tg + ")", stopped, NotFatal, false, ""},
		{"tasks stopped", "(service ecs-backend-service) has stopped 1 running tasks: (task 9f8e7d6c5b4a).", stopped, NotFatal, false, ""},
		{"target group without load balancer", "(service ecs-backend-service) failed to register targets in (target-group " + tg + ") with (error The target group with targetGroupArn " + tg + " does not have an associated load balancer.)",
			fatal, TargetRegistration, false, "does not have an associated load balancer"},
		{"target registration, reason not given", "(service ecs-backend-service) failed to register targets in (target-group " + tg + ")",
			stuck, TargetRegistration, false, tg},
		{"started", "(service ecs-backend-service) has started 1 tasks: (task 9f8e7d6c5b4a).", harmless, NotFatal, false, ""},
		{"steady", "(service ecs-backend-service) has reached a steady state.", harmless, NotFatal, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := readEvent(tt.msg)
			if r.class != tt.class || r.cause.Kind != tt.kind || r.capacity != tt.capacity || !strings.Contains(r.cause.Message, tt.has) {
				t.Errorf("readEvent = %+v, want class %d kind %q capacity %v mentioning %q", r, tt.class, tt.kind, tt.capacity, tt.has)
			}
			if r.cause.Kind != NotFatal && strings.Contains(r.cause.Message, "For more information") {
				t.Errorf("cause keeps ECS's pointer to its guide: %q", r.cause.Message)
			}
		})
	}
}

func TestClassifyStoppedTask(t *testing.T) {
	arn := aws.String("arn:aws:ecs:ap-northeast-2:123456789012:task/inforum/0a1b2c3d")
	exit := func(n int32) *int32 { return &n }
	tests := []struct {
		name string
		task types.Task
		kind Kind
		has  string
	}{
		{"pull", types.Task{TaskArn: arn, StopCode: types.TaskStopCodeTaskFailedToStart,
			StoppedReason: aws.String("CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref 123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/backend-nginx@sha256:abcd: not found")},
			CannotPull, "failed to resolve ref"},
		{"pull in container reason", types.Task{TaskArn: arn, StopCode: types.TaskStopCodeTaskFailedToStart, StoppedReason: aws.String("Task failed to start"),
			Containers: []types.Container{{Name: aws.String("nginx"), Reason: aws.String("CannotPullContainerError: Error response from daemon: manifest unknown")}}},
			CannotPull, "container nginx"},
		{"resource init", types.Task{TaskArn: arn, StopCode: types.TaskStopCodeTaskFailedToStart,
			StoppedReason: aws.String("ResourceInitializationError: failed to invoke EFS utils commands to set up EFS volumes: stderr: Failed to resolve \"fs-0123.efs.ap-northeast-2.amazonaws.com\"")},
			ResourceInit, "EFS"},
		{"oom", types.Task{TaskArn: arn, StopCode: types.TaskStopCodeEssentialContainerExited, StoppedReason: aws.String("Essential container in task exited"),
			Containers: []types.Container{{Name: aws.String("nginx"), ExitCode: exit(0)}, {Name: aws.String("springboot"), ExitCode: exit(137), Reason: aws.String("OutOfMemoryError: Container killed due to memory usage")}}},
			OutOfMemory, "springboot exited with code 137 (out of memory"},
		{"crash", types.Task{TaskArn: arn, StopCode: types.TaskStopCodeEssentialContainerExited, StoppedReason: aws.String("Essential container in task exited"),
			Containers: []types.Container{{Name: aws.String("nexus"), ExitCode: exit(1)}}},
			ContainerExit, "essential container nexus exited with code 1"},
		{"elb", types.Task{TaskArn: arn, StopCode: types.TaskStopCodeServiceSchedulerInitiated,
			StoppedReason: aws.String("Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/back/0123)")},
			ELBUnhealthy, "failed ELB health checks"},
		{"cannot start", types.Task{TaskArn: arn, StopCode: types.TaskStopCodeTaskFailedToStart,
			StoppedReason: aws.String("CannotStartContainerError: Error response from daemon: failed to initialize logging driver")},
			CannotStart, "could not start a container"},
		{"crash after running, no container reason", types.Task{TaskArn: arn, StopCode: types.TaskStopCodeEssentialContainerExited, StoppedReason: aws.String("Essential container in task exited"),
			Containers: []types.Container{{Name: aws.String("nginx"), ExitCode: exit(143)}, {Name: aws.String("springboot"), ExitCode: exit(2)}}},
			ContainerExit, "springboot exited with code 2"},
		{"host went away", types.Task{TaskArn: arn, StopCode: types.TaskStopCodeServiceSchedulerInitiated,
			StoppedReason: aws.String("Host EC2 (instance i-0123456789abcdef0) stopped/terminated.")}, NotFatal, ""},
		{"scaled in by a deployment", types.Task{TaskArn: arn, StopCode: types.TaskStopCodeServiceSchedulerInitiated,
			StoppedReason: aws.String("Scaling activity initiated by (deployment ecs-svc/1234567890123456789)")}, NotFatal, ""},
		{"user stop", types.Task{TaskArn: arn, StopCode: types.TaskStopCodeUserInitiated, StoppedReason: aws.String("Task stopped by user")}, NotFatal, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ClassifyStoppedTask(tt.task)
			if c.Kind != tt.kind || !strings.Contains(c.Message, tt.has) {
				t.Errorf("ClassifyStoppedTask = %+v, want kind %q mentioning %q", c, tt.kind, tt.has)
			}
			if c.Kind != NotFatal && !strings.Contains(c.Message, "0a1b2c3d") {
				t.Errorf("cause %q does not name the task", c.Message)
			}
		})
	}
}

// Where a non-essential container crashed too, the essential one ended the
// task: the cause names it when pier knows the definition.
func TestClassifyStoppedTaskNamesTheEssentialContainer(t *testing.T) {
	exit := func(n int32) *int32 { return &n }
	task := types.Task{TaskArn: aws.String("arn:aws:ecs:ap-northeast-2:123456789012:task/inforum/0a1b"), StopCode: types.TaskStopCodeEssentialContainerExited,
		StoppedReason: aws.String("Essential container in task exited"),
		Containers:    []types.Container{{Name: aws.String("springboot"), ExitCode: exit(1)}, {Name: aws.String("nginx"), ExitCode: exit(1)}}}
	f := false
	ess := essentials([]types.ContainerDefinition{{Name: aws.String("springboot"), Essential: &f}, {Name: aws.String("nginx")}})
	if c := classifyStopped(task, ess); !strings.Contains(c.Message, "essential container nginx exited with code 1") {
		t.Errorf("cause %q, want the essential nginx", c.Message)
	}
	// A container killed for memory still comes first: it explains the exit.
	task.Containers[0].ExitCode, task.Containers[0].Reason = exit(137), aws.String("OutOfMemoryError: Container killed due to memory usage")
	if c := classifyStopped(task, ess); c.Kind != OutOfMemory || !strings.Contains(c.Message, "springboot") {
		t.Errorf("cause %+v, want springboot out of memory", c)
	}
}
