package sim

import (
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return aws.Time(t)
}

// attachmentID is the id of an awsvpc task's network-interface attachment:
// a UUID, as ECS gives it (derived from the task id, so it is stable).
func attachmentID(t *task) string {
	h := t.id
	return h[8:16] + "-" + h[4:8] + "-" + h[0:4] + "-" + h[16:20] + "-" + h[20:32]
}

func (w *World) taskWire(t *task, tags bool) ecstypes.Task {
	out := ecstypes.Task{
		TaskArn:            aws.String(t.arn),
		ClusterArn:         aws.String(t.cluster.arn),
		TaskDefinitionArn:  aws.String(t.def.arn()),
		LastStatus:         aws.String(t.lastStatus),
		DesiredStatus:      aws.String(t.desiredStatus),
		LaunchType:         t.launchType,
		Cpu:                aws.String(strconv.Itoa(int(t.cpu))),
		Memory:             aws.String(strconv.Itoa(int(t.memory))),
		Group:              aws.String(t.group),
		AvailabilityZone:   aws.String(t.az),
		CreatedAt:          aws.Time(t.createdAt),
		PullStartedAt:      timePtr(t.pullStartedAt),
		PullStoppedAt:      timePtr(t.pullStoppedAt),
		StartedAt:          timePtr(t.startedAt),
		StoppingAt:         timePtr(t.stoppingAt),
		StoppedAt:          timePtr(t.stoppedAt),
		ExecutionStoppedAt: timePtr(t.execStoppedAt),
		ConnectivityAt:     timePtr(t.connectivityAt),
		StopCode:           t.stopCode,
		HealthStatus:       t.health,
		Version:            t.version,
		Attributes:         []ecstypes.Attribute{{Name: aws.String("ecs.cpu-architecture"), Value: aws.String(t.arch())}},
		Overrides:          &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{}, InferenceAcceleratorOverrides: []ecstypes.InferenceAcceleratorOverride{}},
	}
	if !t.connectivityAt.IsZero() || t.lastStatus == statusRunning {
		out.Connectivity = ecstypes.ConnectivityConnected
	}
	if t.startedBy != "" {
		out.StartedBy = aws.String(t.startedBy)
	}
	if t.stoppedReason != "" {
		out.StoppedReason = aws.String(t.stoppedReason)
	}
	if t.instance != nil {
		out.ContainerInstanceArn = aws.String(t.instance.arn)
	}
	if t.launchType == ecstypes.LaunchTypeFargate {
		out.PlatformVersion = aws.String("1.4.0")
		out.PlatformFamily = aws.String("Linux")
		out.CapacityProviderName = aws.String("FARGATE")
		out.EphemeralStorage = &ecstypes.EphemeralStorage{SizeInGiB: 20}
	}
	if t.eniIP != "" {
		var details []ecstypes.KeyValuePair
		if t.subnet != "" {
			details = append(details, ecstypes.KeyValuePair{Name: aws.String("subnetId"), Value: aws.String(t.subnet)})
		}
		dns := "ip-" + strings.ReplaceAll(t.eniIP, ".", "-") + "." + w.region + ".compute.internal"
		if w.region == "us-east-1" {
			dns = "ip-" + strings.ReplaceAll(t.eniIP, ".", "-") + ".ec2.internal"
		}
		details = append(details,
			ecstypes.KeyValuePair{Name: aws.String("networkInterfaceId"), Value: aws.String("eni-0" + t.id[:16])},
			ecstypes.KeyValuePair{Name: aws.String("macAddress"), Value: aws.String("0a:" + t.id[16:18] + ":" + t.id[18:20] + ":" + t.id[20:22] + ":" + t.id[22:24] + ":" + t.id[24:26])},
			ecstypes.KeyValuePair{Name: aws.String("privateDnsName"), Value: aws.String(dns)},
			ecstypes.KeyValuePair{Name: aws.String("privateIPv4Address"), Value: aws.String(t.eniIP)},
		)
		out.Attachments = []ecstypes.Attachment{{
			Id:      aws.String(attachmentID(t)),
			Type:    aws.String("ElasticNetworkInterface"),
			Status:  aws.String(map[bool]string{true: "DELETED", false: "ATTACHED"}[t.lastStatus == statusStopped]),
			Details: details,
		}}
	}
	for _, c := range t.containers {
		ct := ecstypes.Container{
			ContainerArn:      aws.String(c.arn),
			TaskArn:           aws.String(t.arn),
			Name:              aws.String(c.name),
			Image:             aws.String(c.image),
			LastStatus:        aws.String(c.lastStatus),
			ExitCode:          c.exitCode,
			NetworkBindings:   c.bindings,
			HealthStatus:      c.health,
			Cpu:               aws.String(strconv.Itoa(int(c.cpu))),
			NetworkInterfaces: []ecstypes.NetworkInterface{},
		}
		if c.digest != "" {
			ct.ImageDigest = aws.String(c.digest)
		}
		if c.runtimeID != "" {
			ct.RuntimeId = aws.String(c.runtimeID)
		}
		if c.reason != "" {
			ct.Reason = aws.String(c.reason)
		}
		if c.memory != nil {
			ct.Memory = aws.String(strconv.Itoa(int(*c.memory)))
		}
		if c.memoryRes != nil {
			ct.MemoryReservation = aws.String(strconv.Itoa(int(*c.memoryRes)))
		}
		if ct.NetworkBindings == nil {
			ct.NetworkBindings = []ecstypes.NetworkBinding{}
		}
		if t.eniIP != "" {
			ct.NetworkInterfaces = []ecstypes.NetworkInterface{{AttachmentId: aws.String(attachmentID(t)), PrivateIpv4Address: aws.String(t.eniIP)}}
		}
		out.Containers = append(out.Containers, ct)
	}
	if tags {
		out.Tags = []ecstypes.Tag{}
	}
	return out
}

func (w *World) opListTasks(in *ecs.ListTasksInput) (*ecs.ListTasksOutput, error) {
	c, err := w.findCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	var svc *service
	if in.ServiceName != nil {
		if svc, err = w.findService(c, *in.ServiceName); err != nil {
			return nil, err
		}
	}
	var inst *instance
	if in.ContainerInstance != nil {
		if inst = w.findInstance(c, *in.ContainerInstance); inst == nil {
			return nil, errorf(errInvalidParam, "Container instance not found.")
		}
	}
	want := statusRunning
	if in.DesiredStatus != "" {
		want = string(in.DesiredStatus)
	}
	var arns []string
	for _, t := range c.taskList {
		switch {
		case t.desiredStatus != want && !(want == statusStopped && t.lastStatus == statusStopped),
			svc != nil && t.service != svc,
			inst != nil && t.instance != inst,
			in.Family != nil && aws.ToString(t.def.def.Family) != *in.Family,
			in.StartedBy != nil && t.startedBy != *in.StartedBy,
			in.LaunchType != "" && t.launchType != in.LaunchType:
			continue
		}
		arns = append(arns, t.arn)
	}
	page, next, err := paginate(arns, in.NextToken, in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	return &ecs.ListTasksOutput{TaskArns: page, NextToken: next}, nil
}

func (w *World) opDescribeTasks(in *ecs.DescribeTasksInput) (*ecs.DescribeTasksOutput, error) {
	c, err := w.findCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if len(in.Tasks) == 0 {
		return nil, errorf(errInvalidParam, "Tasks cannot be empty.")
	}
	if len(in.Tasks) > 100 {
		return nil, errorf(errInvalidParam, "The number of tasks requested exceeds the maximum of 100.")
	}
	tags := false
	for _, f := range in.Include {
		tags = tags || f == ecstypes.TaskFieldTags
	}
	out := &ecs.DescribeTasksOutput{Tasks: []ecstypes.Task{}, Failures: []ecstypes.Failure{}}
	for _, ref := range in.Tasks {
		t, ok := c.tasks[lastPart(ref)]
		if !ok {
			arn := ref
			if len(ref) < 4 || ref[:4] != "arn:" {
				arn = w.arn("task/" + c.name + "/" + ref)
			}
			out.Failures = append(out.Failures, ecstypes.Failure{Arn: aws.String(arn), Reason: aws.String("MISSING")})
			continue
		}
		out.Tasks = append(out.Tasks, w.taskWire(t, tags))
	}
	return out, nil
}

func (w *World) opStopTask(in *ecs.StopTaskInput) (*ecs.StopTaskOutput, error) {
	c, err := w.findCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	t, ok := c.tasks[lastPart(aws.ToString(in.Task))]
	if !ok {
		return nil, errorf(errInvalidParam, "The referenced task was not found.")
	}
	reason := aws.ToString(in.Reason)
	if reason == "" {
		reason = "Task stopped by user"
	}
	w.stopTask(t, ecstypes.TaskStopCodeUserInitiated, reason, w.now())
	out := w.taskWire(t, false)
	return &ecs.StopTaskOutput{Task: &out}, nil
}

func (w *World) opRunTask(in *ecs.RunTaskInput) (*ecs.RunTaskOutput, error) {
	c, err := w.findCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	td, err := w.findTaskDef(aws.ToString(in.TaskDefinition))
	if err != nil {
		return nil, errorf(errInvalidParam, "TaskDefinition not found.")
	}
	lt := launchTypeOf(in.LaunchType, in.CapacityProviderStrategy)
	if err := checkPlacementInputs(lt, td, in.NetworkConfiguration); err != nil {
		return nil, err
	}
	count := aws.ToInt32(in.Count)
	if count == 0 {
		count = 1
	}
	if count > 10 {
		return nil, errorf(errInvalidParam, "Count must be between 1 and 10.")
	}
	now := w.now()
	out := &ecs.RunTaskOutput{Tasks: []ecstypes.Task{}, Failures: []ecstypes.Failure{}}
	for range count {
		t, _, reason := w.tryPlace(c, td, placementRequest{launchType: lt, network: in.NetworkConfiguration, startedBy: aws.ToString(in.StartedBy), group: aws.ToString(in.Group)}, now)
		if t == nil {
			f := ecstypes.Failure{Reason: aws.String(reason)}
			for _, i := range c.instances {
				if i.status == "ACTIVE" {
					f.Arn = aws.String(i.arn)
					break
				}
			}
			out.Failures = append(out.Failures, f)
			continue
		}
		out.Tasks = append(out.Tasks, w.taskWire(t, false))
	}
	return out, nil
}
