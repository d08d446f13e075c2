package sim

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// The service-deployment APIs (ListServiceDeployments,
// DescribeServiceDeployments) show one record per UpdateService/CreateService
// deployment. A circuit-breaker rollback is not a record of its own: the
// failed record carries it (ROLLBACK_IN_PROGRESS → ROLLBACK_SUCCESSFUL).

func (w *World) revisionSummary(d *deployment) *ecstypes.ServiceRevisionSummary {
	return &ecstypes.ServiceRevisionSummary{
		Arn:                aws.String(d.revisionArn),
		RequestedTaskCount: d.desired,
		RunningTaskCount:   countTasks(d, func(t *task) bool { return t.lastStatus == statusRunning }),
		PendingTaskCount:   countTasks(d, func(t *task) bool { return t.active() && t.lastStatus != statusRunning }),
	}
}

func (w *World) serviceDeploymentWire(s *service, d *deployment) ecstypes.ServiceDeployment {
	dc := d.config
	out := ecstypes.ServiceDeployment{
		ServiceDeploymentArn:    aws.String(d.arn),
		ServiceArn:              aws.String(s.arn),
		ClusterArn:              aws.String(s.cluster.arn),
		CreatedAt:               aws.Time(d.createdAt),
		StartedAt:               aws.Time(d.createdAt),
		UpdatedAt:               aws.Time(d.updatedAt),
		FinishedAt:              timePtr(d.finishedAt),
		Status:                  d.sdStatus,
		TargetServiceRevision:   w.revisionSummary(d),
		DeploymentConfiguration: &dc,
		SourceServiceRevisions:  []ecstypes.ServiceRevisionSummary{},
	}
	if d.sdReason != "" {
		out.StatusReason = aws.String(d.sdReason)
	}
	if d.sdStatus == ecstypes.ServiceDeploymentStatusStopped {
		out.StoppedAt = timePtr(d.finishedAt)
	}
	for _, src := range d.source {
		out.SourceServiceRevisions = append(out.SourceServiceRevisions, *w.revisionSummary(src))
	}
	if cb := dc.DeploymentCircuitBreaker; cb != nil && cb.Enable {
		status := ecstypes.ServiceDeploymentRollbackMonitorsStatusMonitoring
		switch {
		case d.rollout == ecstypes.DeploymentRolloutStateFailed:
			status = ecstypes.ServiceDeploymentRollbackMonitorsStatusTriggered
		case d.rollout == ecstypes.DeploymentRolloutStateCompleted:
			status = ecstypes.ServiceDeploymentRollbackMonitorsStatusMonitoringComplete
		}
		out.DeploymentCircuitBreaker = &ecstypes.ServiceDeploymentCircuitBreaker{
			FailureCount: d.failedTasks,
			Threshold:    failureThreshold(cb, s.desired),
			Status:       status,
		}
	}
	if rb := d.rollbackTo; rb != nil {
		out.Rollback = &ecstypes.Rollback{
			Reason:             aws.String(rb.rolloutReason),
			StartedAt:          aws.Time(rb.createdAt),
			ServiceRevisionArn: aws.String(rb.revisionArn),
		}
	}
	return out
}

func (w *World) opListServiceDeployments(in *ecs.ListServiceDeploymentsInput) (*ecs.ListServiceDeploymentsOutput, error) {
	c, s, err := w.findAnyService(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	var briefs []ecstypes.ServiceDeploymentBrief
	// Newest first, as ECS lists them.
	for i := len(s.history) - 1; i >= 0; i-- {
		d := s.history[i]
		if d.rolledBack {
			continue
		}
		if len(in.Status) > 0 {
			match := false
			for _, st := range in.Status {
				match = match || st == d.sdStatus
			}
			if !match {
				continue
			}
		}
		if ca := in.CreatedAt; ca != nil {
			if ca.After != nil && d.createdAt.Before(*ca.After) || ca.Before != nil && d.createdAt.After(*ca.Before) {
				continue
			}
		}
		b := ecstypes.ServiceDeploymentBrief{
			ServiceDeploymentArn:     aws.String(d.arn),
			ServiceArn:               aws.String(s.arn),
			ClusterArn:               aws.String(c.arn),
			CreatedAt:                aws.Time(d.createdAt),
			StartedAt:                aws.Time(d.createdAt),
			FinishedAt:               timePtr(d.finishedAt),
			Status:                   d.sdStatus,
			TargetServiceRevisionArn: aws.String(d.revisionArn),
		}
		if d.sdReason != "" {
			b.StatusReason = aws.String(d.sdReason)
		}
		briefs = append(briefs, b)
	}
	start, end, next, err := pageBounds(len(briefs), in.NextToken, in.MaxResults, 20)
	if err != nil {
		return nil, err
	}
	out := &ecs.ListServiceDeploymentsOutput{
		ServiceDeployments: append([]ecstypes.ServiceDeploymentBrief{}, briefs[start:end]...),
		NextToken:          next,
	}
	return out, nil
}

func (w *World) opDescribeServiceDeployments(in *ecs.DescribeServiceDeploymentsInput) (*ecs.DescribeServiceDeploymentsOutput, error) {
	if len(in.ServiceDeploymentArns) == 0 {
		return nil, errorf(errInvalidParam, "serviceDeploymentArns cannot be empty.")
	}
	out := &ecs.DescribeServiceDeploymentsOutput{ServiceDeployments: []ecstypes.ServiceDeployment{}, Failures: []ecstypes.Failure{}}
	for _, arn := range in.ServiceDeploymentArns {
		found := false
		// service-deployment/CLUSTER/SERVICE/ID
		if _, rest, ok := strings.Cut(arn, ":service-deployment/"); ok {
			parts := strings.Split(rest, "/")
			if c := w.clusters[parts[0]]; c != nil && len(parts) == 3 {
				if s := c.services[parts[1]]; s != nil {
					for _, d := range s.history {
						if d.arn == arn && !d.rolledBack {
							out.ServiceDeployments = append(out.ServiceDeployments, w.serviceDeploymentWire(s, d))
							found = true
						}
					}
				}
			}
		}
		if !found {
			out.Failures = append(out.Failures, ecstypes.Failure{Arn: aws.String(arn), Reason: aws.String("MISSING")})
		}
	}
	return out, nil
}
