package deploy

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pier-deploy/pier/internal/awsapi"
	"github.com/pier-deploy/pier/internal/report"
)

// taskReader is the part of the ECS API that lists and describes tasks.
type taskReader interface {
	ListTasks(context.Context, *ecs.ListTasksInput, ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
	DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
}

// describeBatch is how many tasks one DescribeTasks call takes.
const describeBatch = 100

// listStopped is the one reading of a service's stopped tasks: every page
// of ListTasks with desiredStatus STOPPED (ECS lists them for at least an
// hour after they stop, including those still stopping), then DescribeTasks
// for each arn that skip (nil: none) does not rule out, 100 a call, up to
// limit arns (0: all).
//
// ListTasks is filtered by service, not by startedBy: the API reference
// says a startedBy filter must be the only filter, and without
// desiredStatus it lists running tasks only. Whose task it was is read
// from each task's startedBy (our deployment's id) instead.
func listStopped(ctx context.Context, api taskReader, cluster, service string, skip func(arn string) bool, limit int) ([]types.Task, error) {
	var arns []string
	var token *string
	for {
		out, err := api.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(service),
			DesiredStatus: types.DesiredStatusStopped, NextToken: token})
		if err != nil {
			return nil, fmt.Errorf("listing stopped tasks of service %s in cluster %s: %w", service, cluster, awsapi.Explain(err))
		}
		for _, a := range out.TaskArns {
			if skip == nil || !skip(a) {
				arns = append(arns, a)
			}
		}
		if token = out.NextToken; token == nil || (limit > 0 && len(arns) >= limit) {
			break
		}
	}
	if limit > 0 && len(arns) > limit {
		arns = arns[:limit]
	}
	var tasks []types.Task
	for i := 0; i < len(arns); i += describeBatch {
		out, err := api.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns[i:min(i+describeBatch, len(arns))]})
		if err != nil {
			return nil, fmt.Errorf("describing stopped tasks of service %s in cluster %s: %w", service, cluster, awsapi.Explain(err))
		}
		tasks = append(tasks, out.Tasks...)
	}
	return tasks, nil
}

// stoppedReport is a stopped task as the run's report keeps it.
func stoppedReport(t types.Task) report.StoppedTask {
	st := report.StoppedTask{ID: taskID(str(t.TaskArn)), Reason: str(t.StoppedReason), StopCode: string(t.StopCode),
		Stopped: aws.ToTime(t.StoppedAt)}
	for _, c := range t.Containers {
		st.Containers = append(st.Containers, report.ContainerExit{Name: str(c.Name), ExitCode: c.ExitCode, Reason: str(c.Reason)})
	}
	return st
}

// ours reports whether a task belongs to the rollout: started by its
// deployment, or (where ECS gave no startedBy) of its revision and created
// on ECS's clock since the deployment began.
func (r *rollout) ours(t types.Task) bool {
	if by := str(t.StartedBy); by != "" {
		return by == r.deployment
	}
	began := r.began
	if began.IsZero() {
		began = r.since
	}
	return str(t.TaskDefinitionArn) == r.taskDef && t.CreatedAt != nil && !t.CreatedAt.Before(began)
}

// lastWord is ECS's newest event about task id beyond starting or stopping
// it (failed ELB or container health checks, say), for the cause a stopped
// task gives; empty when there is none.
func lastWord(events []report.Event, id string) string {
	for i := len(events) - 1; i >= 0; i-- {
		m := events[i].Message
		if strings.Contains(m, id) && !strings.Contains(m, ") has started ") && !strings.Contains(m, ") has stopped ") {
			return m
		}
	}
	return ""
}

// essential names the essential containers of the definition the run
// registers; nil when it reuses one (DescribeTasks does not say).
func (r *run) essential() map[string]bool {
	if r.t.Register == nil {
		return nil
	}
	return essentials(r.t.Register.ContainerDefinitions)
}
