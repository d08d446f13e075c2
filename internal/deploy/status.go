package deploy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pier-deploy/pier/internal/awsapi"
	"github.com/pier-deploy/pier/internal/plan"
	"github.com/pier-deploy/pier/internal/report"
)

// Ref names one service of pier.yaml in ECS.
type Ref struct {
	Name, Service, Cluster string
	Strategy               string
	// To is the revision a rollback returns to (family:revision or its
	// ARN), as the report of a failed run names it; empty: the newest
	// ACTIVE revision below the one in use.
	To string
}

// ServiceStatus is what `pier status` shows of one service.
type ServiceStatus struct {
	Name         string               `json:"name"`
	Service      string               `json:"service"`
	Cluster      string               `json:"cluster"`
	Found        bool                 `json:"found"`
	Status       string               `json:"status,omitempty"`
	TaskDef      plan.Revision        `json:"taskDefinition"`
	Desired      int32                `json:"desiredCount"`
	Running      int32                `json:"runningCount"`
	Pending      int32                `json:"pendingCount"`
	Deployments  []DeploymentStatus   `json:"deployments,omitempty"`
	Events       []report.Event       `json:"events,omitempty"`       // newest first
	StoppedTasks []report.StoppedTask `json:"stoppedTasks,omitempty"` // most recent first
}

// DeploymentStatus is one deployment of a service.
type DeploymentStatus struct {
	ID           string        `json:"id"`
	Status       string        `json:"status"`
	TaskDef      plan.Revision `json:"taskDefinition"`
	RolloutState string        `json:"rolloutState,omitempty"`
	Reason       string        `json:"reason,omitempty"`
	Desired      int32         `json:"desiredCount"`
	Running      int32         `json:"runningCount"`
	Pending      int32         `json:"pendingCount"`
	Failed       int32         `json:"failedTasks"`
	Created      time.Time     `json:"created"`
}

// Status reads services with their deployments, the last events events
// and the reasons of up to stopped recently stopped tasks.
func Status(ctx context.Context, api awsapi.ECS, refs []Ref, events, stopped int) ([]ServiceStatus, error) {
	out := make([]ServiceStatus, len(refs))
	for i, r := range refs {
		out[i] = ServiceStatus{Name: r.Name, Service: r.Service, Cluster: r.Cluster}
	}
	byCluster := map[string][]int{}
	for i, r := range refs {
		byCluster[r.Cluster] = append(byCluster[r.Cluster], i)
	}
	clusters := make([]string, 0, len(byCluster))
	for c := range byCluster {
		clusters = append(clusters, c)
	}
	sort.Strings(clusters)
	for _, c := range clusters {
		idx := byCluster[c]
		for k := 0; k < len(idx); k += maxDescribe {
			chunk := idx[k:min(k+maxDescribe, len(idx))]
			names := make([]string, len(chunk))
			for j, i := range chunk {
				names[j] = refs[i].Service
			}
			resp, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(c), Services: names})
			if err != nil {
				return nil, fmt.Errorf("describing services in cluster %s: %w", c, awsapi.Explain(err))
			}
			for _, i := range chunk {
				for _, s := range resp.Services {
					if str(s.ServiceName) == refs[i].Service {
						fill(&out[i], &s, events)
					}
				}
			}
		}
	}
	for i := range out {
		if !out[i].Found || stopped <= 0 {
			continue
		}
		st, err := stoppedTasks(ctx, api, out[i].Cluster, out[i].Service, stopped)
		if err != nil {
			return nil, err
		}
		out[i].StoppedTasks = st
	}
	return out, nil
}

func fill(st *ServiceStatus, s *types.Service, events int) {
	st.Found, st.Status = true, str(s.Status)
	st.TaskDef = revision(str(s.TaskDefinition))
	st.Desired, st.Running, st.Pending = s.DesiredCount, s.RunningCount, s.PendingCount
	for _, d := range s.Deployments {
		ds := DeploymentStatus{ID: str(d.Id), Status: str(d.Status), TaskDef: revision(str(d.TaskDefinition)),
			RolloutState: string(d.RolloutState), Reason: str(d.RolloutStateReason),
			Desired: d.DesiredCount, Running: d.RunningCount, Pending: d.PendingCount, Failed: d.FailedTasks}
		if d.CreatedAt != nil {
			ds.Created = *d.CreatedAt
		}
		st.Deployments = append(st.Deployments, ds)
	}
	for _, e := range s.Events {
		if len(st.Events) == events {
			break
		}
		st.Events = append(st.Events, report.Event{Time: aws.ToTime(e.CreatedAt), Message: str(e.Message)})
	}
}

func stoppedTasks(ctx context.Context, api awsapi.ECS, cluster, service string, n int) ([]report.StoppedTask, error) {
	tasks, err := listStopped(ctx, api, cluster, service, nil, describeBatch)
	if err != nil {
		return nil, err
	}
	sort.Slice(tasks, func(i, j int) bool { return aws.ToTime(tasks[i].StoppedAt).After(aws.ToTime(tasks[j].StoppedAt)) })
	var out []report.StoppedTask
	for _, t := range tasks[:min(len(tasks), n)] {
		out = append(out, stoppedReport(t))
	}
	return out, nil
}

// ErrNoOlderRevision is RollbackTarget's error when the family has no ACTIVE
// revision older than the one the service runs: there is nowhere to go back to.
var ErrNoOlderRevision = errors.New("no older ACTIVE revision to return to")

// RollbackTarget plans moving a service back to the revision before the one
// it runs: the newest ACTIVE revision of the family older than the current
// one, or ref.To. Applying it runs the service's strategy (recreate-aware).
func RollbackTarget(ctx context.Context, api awsapi.ECS, ref Ref, timeout time.Duration) (Target, error) {
	resp, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(ref.Cluster), Services: []string{ref.Service}})
	if err != nil {
		return Target{}, fmt.Errorf("describing service %s in cluster %s: %w", ref.Service, ref.Cluster, awsapi.Explain(err))
	}
	if len(resp.Services) == 0 || str(resp.Services[0].Status) != "ACTIVE" {
		return Target{}, fmt.Errorf("rolling back %s: the ECS service %s does not exist in cluster %s", ref.Name, ref.Service, ref.Cluster)
	}
	svc := resp.Services[0]
	cur := revision(str(svc.TaskDefinition))
	all, err := revisions(ctx, api, cur.Family)
	if err != nil {
		return Target{}, fmt.Errorf("listing revisions of %s: %w", cur.Family, awsapi.Explain(err))
	}
	prev, err := rollbackTo(ref, cur, all)
	if err != nil {
		return Target{}, err
	}
	p := plan.Service{Name: ref.Name, Service: ref.Service, Cluster: ref.Cluster, Strategy: ref.Strategy, Action: plan.Reuse,
		Family: cur.Family, Current: cur, Target: revision(prev), DesiredCount: plan.Count{Old: desired(&svc), New: desired(&svc)},
		Deployment: deploymentConfig(&svc), LaunchType: launchType(&svc)}
	if p.Strategy == "" {
		p.Strategy = "rolling"
	}
	// What the update must not take for its own deployment, should ECS not
	// answer the look before it.
	p.Observed = plan.Fingerprint{TaskDefinition: cur.Arn, DesiredCount: p.DesiredCount.Old}
	for _, d := range svc.Deployments {
		p.Observed.Deployments = append(p.Observed.Deployments, str(d.Id))
	}
	running := svc.RunningCount
	return Target{Plan: p, Timeout: timeout, RunningBefore: &running, FinishOnCancel: true}, nil
}
