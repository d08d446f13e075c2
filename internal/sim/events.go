package sim

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// maxEvents is how many events DescribeServices returns, like ECS.
const maxEvents = 100

// dedupWindow is how long ECS suppresses an event identical to the newest one.
const dedupWindow = 6 * time.Hour

// event records a service event, newest first. Like ECS, a message equal to
// the newest event is not repeated within six hours (a hung placement
// prints its reason once, not every scheduler pass).
func (w *World) event(s *service, now time.Time, msg string) {
	if len(s.events) > 0 && aws.ToString(s.events[0].Message) == msg && now.Sub(aws.ToTime(s.events[0].CreatedAt)) < dedupWindow {
		return
	}
	e := ecstypes.ServiceEvent{
		Id:        aws.String(w.nextID(8) + "-" + w.nextID(4) + "-" + w.nextID(4) + "-" + w.nextID(4) + "-" + w.nextID(12)),
		CreatedAt: aws.Time(now),
		Message:   aws.String(msg),
	}
	s.events = append([]ecstypes.ServiceEvent{e}, s.events...)
	if len(s.events) > maxEvents {
		s.events = s.events[:maxEvents]
	}
}

// eventBatch gathers what ECS reports per scheduler pass rather than per
// task: "registered 2 targets in (target-group …)".
type eventBatch struct {
	draining     int
	deregistered map[string]int // target group → targets
	registered   map[string]int
	order        []string // target groups in first-seen order
}

func (b *eventBatch) add(m *map[string]int, tg string) {
	if *m == nil {
		*m = map[string]int{}
	}
	if b.deregistered[tg] == 0 && b.registered[tg] == 0 {
		b.order = append(b.order, tg)
	}
	(*m)[tg]++
}

// flushEvents prints the batched target events of a service.
func (w *World) flushEvents(s *service, now time.Time) {
	b := &s.batch
	if b.draining > 0 {
		w.event(s, now, fmt.Sprintf("(service %s) has begun draining connections on %d tasks.", s.name, b.draining))
	}
	for _, tg := range b.order {
		if n := b.deregistered[tg]; n > 0 {
			w.event(s, now, fmt.Sprintf("(service %s) deregistered %d targets in (target-group %s)", s.name, n, tg))
		}
	}
	for _, tg := range b.order {
		if n := b.registered[tg]; n > 0 {
			w.event(s, now, fmt.Sprintf("(service %s) registered %d targets in (target-group %s)", s.name, n, tg))
		}
	}
	*b = eventBatch{}
}

// Events returns a service's event messages, newest first. It is a test
// helper; clients read the same through DescribeServices.
func (w *World) Events(clusterName, serviceName string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.clusters[clusterName]
	if c == nil {
		return nil
	}
	s := c.services[serviceName]
	if s == nil {
		return nil
	}
	out := make([]string, len(s.events))
	for i, e := range s.events {
		out[i] = aws.ToString(e.Message)
	}
	return out
}

func (w *World) deploymentWire(s *service, d *deployment) ecstypes.Deployment {
	desired := d.desired
	if d != s.primary() {
		desired = countTasks(d, (*task).active)
	}
	out := ecstypes.Deployment{
		Id:                   aws.String(d.id),
		Status:               aws.String(d.status),
		TaskDefinition:       aws.String(d.taskDef),
		DesiredCount:         desired,
		PendingCount:         countTasks(d, func(t *task) bool { return t.active() && t.lastStatus != statusRunning }),
		RunningCount:         countTasks(d, func(t *task) bool { return t.lastStatus == statusRunning }),
		FailedTasks:          d.failedTasks,
		CreatedAt:            aws.Time(d.createdAt),
		UpdatedAt:            aws.Time(d.updatedAt),
		LaunchType:           d.launchType,
		RolloutState:         d.rollout,
		RolloutStateReason:   aws.String(d.rolloutReason),
		NetworkConfiguration: networkWire(d.network),
	}
	if d.launchType == ecstypes.LaunchTypeFargate {
		out.PlatformVersion = aws.String("1.4.0")
		out.PlatformFamily = aws.String("Linux")
	}
	return out
}

// serviceDeploymentOf returns the service-deployment record that covers d:
// d's own, or for a circuit-breaker rollback the failed deployment's.
func serviceDeploymentOf(s *service, d *deployment) *deployment {
	if d.rolledBack {
		for _, h := range s.history {
			if h.rollbackTo == d {
				return h
			}
		}
	}
	return d
}

// networkWire is a network configuration as ECS shows it: assignPublicIp
// defaults to DISABLED.
func networkWire(n *ecstypes.NetworkConfiguration) *ecstypes.NetworkConfiguration {
	if n == nil || n.AwsvpcConfiguration == nil || n.AwsvpcConfiguration.AssignPublicIp != "" {
		return n
	}
	vpc := *n.AwsvpcConfiguration
	vpc.AssignPublicIp = ecstypes.AssignPublicIpDisabled
	return &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &vpc}
}

func (w *World) serviceWire(s *service, tags bool) ecstypes.Service {
	var running, pending int32
	deps := make([]ecstypes.Deployment, 0, len(s.deployments))
	for _, d := range s.deployments {
		running += countTasks(d, func(t *task) bool { return t.lastStatus == statusRunning })
		pending += countTasks(d, func(t *task) bool { return t.active() && t.lastStatus != statusRunning })
		deps = append(deps, w.deploymentWire(s, d))
	}
	dc := s.config
	out := ecstypes.Service{
		ServiceArn:                    aws.String(s.arn),
		ServiceName:                   aws.String(s.name),
		ClusterArn:                    aws.String(s.cluster.arn),
		Status:                        aws.String(s.status),
		DesiredCount:                  s.desired,
		RunningCount:                  running,
		PendingCount:                  pending,
		LaunchType:                    s.launchType,
		TaskDefinition:                aws.String(s.taskDef),
		DeploymentConfiguration:       &dc,
		DeploymentController:          &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeEcs},
		Deployments:                   deps,
		Events:                        append([]ecstypes.ServiceEvent{}, s.events...),
		LoadBalancers:                 s.loadBalancers,
		NetworkConfiguration:          networkWire(s.network),
		HealthCheckGracePeriodSeconds: s.gracePeriod,
		CreatedAt:                     aws.Time(s.createdAt),
		CreatedBy:                     aws.String("arn:aws:iam::" + w.account + ":user/pier-sim"),
		SchedulingStrategy:            ecstypes.SchedulingStrategyReplica,
		EnableExecuteCommand:          s.enableExec,
		PropagateTags:                 s.propagateTags,
		PlacementConstraints:          []ecstypes.PlacementConstraint{},
		PlacementStrategy:             []ecstypes.PlacementStrategy{},
		ServiceRegistries:             []ecstypes.ServiceRegistry{},
	}
	if p := s.primary(); p != nil {
		out.CurrentServiceDeployment = aws.String(serviceDeploymentOf(s, p).arn)
	}
	if out.LoadBalancers == nil {
		out.LoadBalancers = []ecstypes.LoadBalancer{}
	}
	// ECS shows the defaults it applied, not only what the caller set.
	if out.PropagateTags == "" {
		out.PropagateTags = ecstypes.PropagateTagsNone
	}
	if out.HealthCheckGracePeriodSeconds == nil && len(out.LoadBalancers) > 0 {
		out.HealthCheckGracePeriodSeconds = aws.Int32(0)
	}
	if s.launchType == ecstypes.LaunchTypeFargate {
		out.PlatformVersion = aws.String("LATEST")
		out.PlatformFamily = aws.String("Linux")
	}
	if tags {
		out.Tags = s.tags
		if out.Tags == nil {
			out.Tags = []ecstypes.Tag{}
		}
	}
	return out
}
