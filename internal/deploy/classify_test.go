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
