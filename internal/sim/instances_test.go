package sim

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Draining an instance moves its service tasks elsewhere, within the
// service's minimumHealthyPercent.
func TestDrainingInstance(t *testing.T) {
	e := start(t)
	e.cluster(t, "c", 4096, 4096)
	td := e.bridgeTask(t, "web", "1024", "web:1")
	must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("web"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(2)}))(t)
	e.advance(2 * time.Minute)
	arns := must(e.ecs.ListContainerInstances(e.ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("c")}))(t).ContainerInstanceArns
	drained := arns[0]
	before := must(e.ecs.ListTasks(e.ctx, &ecs.ListTasksInput{Cluster: aws.String("c"), ContainerInstance: aws.String(drained)}))(t).TaskArns
	if len(before) != 1 {
		t.Fatalf("%d tasks on the first instance, want 1 (spread)", len(before))
	}
	up := must(e.ecs.UpdateContainerInstancesState(e.ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: aws.String("c"), ContainerInstances: []string{drained, "ghost"}, Status: ecstypes.ContainerInstanceStatusDraining}))(t)
	if len(up.ContainerInstances) != 1 || aws.ToString(up.ContainerInstances[0].Status) != "DRAINING" || len(up.Failures) != 1 {
		t.Fatalf("UpdateContainerInstancesState: %+v %+v", up.ContainerInstances, up.Failures)
	}
	e.advance(5 * time.Second)
	if s := e.service(t, "c", "web"); s.RunningCount != 2 {
		t.Errorf("the draining task stopped before its replacement ran: running %d", s.RunningCount)
	}
	e.advance(3 * time.Minute)
	if left := must(e.ecs.ListTasks(e.ctx, &ecs.ListTasksInput{Cluster: aws.String("c"), ContainerInstance: aws.String(drained)}))(t).TaskArns; len(left) != 0 {
		t.Errorf("%d tasks left on the draining instance", len(left))
	}
	s := e.service(t, "c", "web")
	if s.RunningCount != 2 || !hasEvent(s, "(service web) has stopped 1 running tasks: (task "+lastPart(before[0])+").") {
		t.Errorf("running %d\n%s", s.RunningCount, eventLog(s))
	}
	stopped := must(e.ecs.DescribeTasks(e.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: before}))(t).Tasks[0]
	if !strings.HasPrefix(aws.ToString(stopped.StoppedReason), "Container instance i-") {
		t.Errorf("stopped reason %q", aws.ToString(stopped.StoppedReason))
	}
	if all := must(e.ecs.ListContainerInstances(e.ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("c")}))(t).ContainerInstanceArns; len(all) != 2 {
		t.Errorf("ListContainerInstances without a filter: %d, want ACTIVE and DRAINING", len(all))
	}

	// The instance still running tasks is not deregistered without force;
	// the drained one is, and leaves every list.
	busy := arns[1]
	_, err := e.ecs.DeregisterContainerInstance(e.ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("c"), ContainerInstance: aws.String(busy)})
	var invalid *ecstypes.InvalidParameterException
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "Found running tasks on the instance") {
		t.Errorf("deregistering an instance with tasks: %v", err)
	}
	gone := must(e.ecs.DeregisterContainerInstance(e.ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("c"), ContainerInstance: aws.String(drained)}))(t)
	if aws.ToString(gone.ContainerInstance.Status) != "INACTIVE" || aws.ToString(gone.ContainerInstance.ContainerInstanceArn) != drained {
		t.Errorf("DeregisterContainerInstance: %s %s", aws.ToString(gone.ContainerInstance.ContainerInstanceArn), aws.ToString(gone.ContainerInstance.Status))
	}
	if all := must(e.ecs.ListContainerInstances(e.ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("c")}))(t).ContainerInstanceArns; len(all) != 1 || all[0] != busy {
		t.Errorf("ListContainerInstances after deregistering: %v, want only %s", all, busy)
	}
	if _, err := e.ecs.DeregisterContainerInstance(e.ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("c"), ContainerInstance: aws.String(drained)}); !errors.As(err, &invalid) {
		t.Errorf("deregistering twice: %v", err)
	}
	cl := must(e.ecs.DescribeClusters(e.ctx, &ecs.DescribeClustersInput{Clusters: []string{"c"}}))(t).Clusters[0]
	if cl.RegisteredContainerInstancesCount != 1 || cl.RunningTasksCount != 2 {
		t.Errorf("cluster: %d instances, %d running tasks", cl.RegisteredContainerInstancesCount, cl.RunningTasksCount)
	}
}

func TestArchitectureAttribute(t *testing.T) {
	e := start(t)
	e.cluster(t, "c", 4096)
	td := must(e.ecs.RegisterTaskDefinition(e.ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("arm"),
		RuntimePlatform:      &ecstypes.RuntimePlatform{CpuArchitecture: ecstypes.CPUArchitectureArm64, OperatingSystemFamily: ecstypes.OSFamilyLinux},
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("a"), Image: aws.String("a:1"), Memory: aws.Int32(128)}}}))(t)
	run := must(e.ecs.RunTask(e.ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn}))(t)
	if len(run.Tasks) != 0 || len(run.Failures) != 1 || aws.ToString(run.Failures[0].Reason) != "ATTRIBUTE" {
		t.Errorf("RunTask: %d tasks, failures %+v", len(run.Tasks), run.Failures)
	}
	must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("arm"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(1)}))(t)
	e.advance(10 * time.Second)
	if s := e.service(t, "c", "arm"); !hasEvent(s, ") is missing an attribute required by your task. For more information, see the Troubleshooting section.") {
		t.Errorf("events:\n%s", eventLog(s))
	}
	must(e.ecs.RegisterContainerInstance(e.ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String("c"),
		Attributes: []ecstypes.Attribute{{Name: aws.String("ecs.cpu-architecture"), Value: aws.String("arm64")}}}))(t)
	e.advance(time.Minute)
	if s := e.service(t, "c", "arm"); s.RunningCount != 1 {
		t.Errorf("an arm64 instance joined, running %d\n%s", s.RunningCount, eventLog(s))
	}
	// A task that names no architecture runs as its instance's.
	anyArch := must(e.ecs.RegisterTaskDefinition(e.ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("any"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("a"), Image: aws.String("a:1"), Memory: aws.Int32(128)}}}))(t)
	must(e.ecs.RunTask(e.ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: anyArch.TaskDefinition.TaskDefinitionArn, Count: aws.Int32(6)}))(t)
	arns := must(e.ecs.ListTasks(e.ctx, &ecs.ListTasksInput{Cluster: aws.String("c")}))(t).TaskArns
	seen := map[string]bool{}
	for _, tk := range must(e.ecs.DescribeTasks(e.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: arns}))(t).Tasks {
		inst := must(e.ecs.DescribeContainerInstances(e.ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("c"), ContainerInstances: []string{aws.ToString(tk.ContainerInstanceArn)}}))(t).ContainerInstances[0]
		want := "x86_64"
		for _, a := range inst.Attributes {
			if aws.ToString(a.Name) == "ecs.cpu-architecture" {
				want = aws.ToString(a.Value)
			}
		}
		if len(tk.Attributes) != 1 || aws.ToString(tk.Attributes[0].Name) != "ecs.cpu-architecture" || aws.ToString(tk.Attributes[0].Value) != want {
			t.Errorf("task %s on a %s instance: attributes %+v", aws.ToString(tk.TaskDefinitionArn), want, tk.Attributes)
		}
		seen[want] = true
	}
	if !seen["arm64"] || !seen["x86_64"] {
		t.Errorf("tasks ran on %v, want both architectures", seen)
	}
}
