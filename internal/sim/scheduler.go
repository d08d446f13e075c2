package sim

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func countTasks(d *deployment, f func(*task) bool) int32 {
	var n int32
	for _, t := range d.tasks {
		if f(t) {
			n++
		}
	}
	return n
}

// healthy reports whether the scheduler may count t as a healthy running
// task: RUNNING, its essential containers' health checks not failing (and
// passed where defined), and every load-balancer target healthy.
func (t *task) healthy() bool {
	if !t.active() || t.lastStatus != statusRunning {
		return false
	}
	if t.health == ecstypes.HealthStatusUnhealthy {
		return false
	}
	for _, c := range t.containers {
		if c.essential && c.hasHealthCheck && c.health != ecstypes.HealthStatusHealthy {
			return false
		}
	}
	for _, tg := range t.targets {
		if tg.state != "healthy" {
			return false
		}
	}
	return true
}

// onDrainingInstance reports whether the task runs on a DRAINING container
// instance, which the scheduler empties.
func (t *task) onDrainingInstance() bool {
	return t.instance != nil && t.instance.status == "DRAINING"
}

// staying reports whether an active task keeps its place (it is not on a
// draining instance).
func (t *task) staying() bool { return t.active() && !t.onDrainingInstance() }

// tasksOf returns d's tasks in launch order (maps are unordered; the
// scheduler must be deterministic).
func tasksOf(d *deployment) []*task {
	ts := make([]*task, 0, len(d.tasks))
	for _, t := range d.tasks {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool {
		if !ts[i].createdAt.Equal(ts[j].createdAt) {
			return ts[i].createdAt.Before(ts[j].createdAt)
		}
		return ts[i].id < ts[j].id
	})
	return ts
}

// launchBatch is how many tasks of one service the scheduler starts per
// pass; ECS too starts a large service in batches.
const launchBatch = 50

// maxDesired is ECS's tasks-per-service quota.
const maxDesired = 5000

// failureThreshold is ECS's circuit-breaker threshold for a desired count:
// by default (BOUNDED_PERCENT 50) half the desired count, rounded up, at
// least 3 and at most 200; COUNT is the value itself; UNBOUNDED_PERCENT the
// percentage of the desired count without the bounds (at least 1).
func failureThreshold(cb *ecstypes.DeploymentCircuitBreaker, desired int32) int32 {
	kind, value := ecstypes.ThresholdTypeBoundedPercent, int32(50)
	if cb != nil && cb.ThresholdConfiguration != nil {
		kind, value = cb.ThresholdConfiguration.Type, cb.ThresholdConfiguration.Value
	}
	percent := (desired*value + 99) / 100
	switch kind {
	case ecstypes.ThresholdTypeCount:
		return max(value, 1)
	case ecstypes.ThresholdTypeUnboundedPercent:
		return max(percent, 1)
	}
	return min(max(percent, 3), 200)
}

// resetsOnHealthyTask reports whether a task of the deployment reaching a
// healthy state sets the breaker's failure count back to 0 (ECS's
// resetOnHealthyTask, true when left out).
func resetsOnHealthyTask(cb *ecstypes.DeploymentCircuitBreaker) bool {
	return cb == nil || cb.ResetOnHealthyTask == nil || *cb.ResetOnHealthyTask
}

// schedule runs ECS's rolling-update scheduler for one service: scale in old
// deployments as far as minimumHealthyPercent allows, launch new tasks up to
// maximumPercent, and settle deployments that are done.
func (w *World) schedule(c *cluster, s *service, now time.Time) {
	p := s.primary()
	if p == nil {
		return
	}
	n := s.desired
	maxTotal := n * aws.ToInt32(s.config.MaximumPercent) / 100
	minHealthy := (n*aws.ToInt32(s.config.MinimumHealthyPercent) + 99) / 100
	if s.status == "DRAINING" {
		minHealthy = 0
	}

	var live, healthy int32
	for _, d := range s.deployments {
		live += countTasks(d, (*task).active)
		healthy += countTasks(d, (*task).healthy)
	}

	var stopped []*task
	// Old deployments' tasks, and the primary's on DRAINING instances, make
	// way: those that are not healthy go first and freely, healthy ones only
	// while the service keeps minimumHealthyPercent.
	var leaving []*task
	for _, d := range s.deployments[1:] {
		leaving = append(leaving, tasksOf(d)...)
	}
	for _, t := range tasksOf(p) {
		if t.onDrainingInstance() {
			leaving = append(leaving, t)
		}
	}
	sort.SliceStable(leaving, func(i, j int) bool { return !leaving[i].healthy() && leaving[j].healthy() })
	for _, t := range leaving {
		if !t.active() {
			continue
		}
		if t.healthy() {
			if healthy-1 < minHealthy {
				continue
			}
			healthy--
		}
		live--
		reason := fmt.Sprintf("Scaling activity initiated by (deployment %s)", p.id)
		if t.deployment == p {
			reason = fmt.Sprintf("Container instance %s is draining", t.instance.ec2ID)
		}
		w.stopTask(t, ecstypes.TaskStopCodeServiceSchedulerInitiated, reason, now)
		stopped = append(stopped, t)
	}
	// Scale in the primary when it has more than desired (desired count lowered).
	if extra := countTasks(p, (*task).staying) - n; extra > 0 {
		ts := tasksOf(p)
		sort.SliceStable(ts, func(i, j int) bool { return !ts[i].healthy() && ts[j].healthy() })
		for _, t := range ts {
			if extra == 0 {
				break
			}
			if !t.active() {
				continue
			}
			live--
			extra--
			w.stopTask(t, ecstypes.TaskStopCodeServiceSchedulerInitiated, fmt.Sprintf("Scaling activity initiated by (deployment %s)", p.id), now)
			stopped = append(stopped, t)
		}
	}
	if len(stopped) > 0 {
		w.event(s, now, fmt.Sprintf("(service %s) has stopped %d running tasks: %s.", s.name, len(stopped), taskList(stopped)))
	}

	// Launch.
	launching := p.rollout != ecstypes.DeploymentRolloutStateFailed && s.status == "ACTIVE" && !now.Before(s.nextLaunch)
	want := min(maxTotal-live, n-countTasks(p, (*task).staying), launchBatch)
	if launching && want > 0 && w.schedulerThrottled() {
		w.event(s, now, fmt.Sprintf("(service %s) operations are being throttled. Will try again later.", s.name))
		launching = false
	}
	if launching && len(stopped) == 0 && w.stalled(s, p, n, maxTotal-live) {
		w.event(s, now, fmt.Sprintf("(service %s) was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again.", s.name))
	}
	if launching && want > 0 {
		td, err := w.findTaskDef(p.taskDef)
		if err == nil {
			var started []*task
			for range want {
				t, why := w.placeTask(c, td, placementRequest{service: s, deployment: p, launchType: p.launchType, network: p.network}, now)
				if t == nil {
					w.event(s, now, fmt.Sprintf("(service %s) was unable to place a task%s For more information, see the Troubleshooting section.", s.name, why))
					break
				}
				started = append(started, t)
			}
			if len(started) > 0 {
				w.event(s, now, fmt.Sprintf("(service %s) has started %d tasks: %s.", s.name, len(started), taskList(started)))
			}
		}
	}

	w.settle(s, now)
}

// schedulerThrottled draws whether ECS's own calls for this launch round
// are throttled (Faults.SchedulerThrottleRate).
func (w *World) schedulerThrottled() bool {
	r := w.faults.SchedulerThrottleRate
	return r > 0 && w.faultRNG.Float64() < r
}

// stalled reports whether minimumHealthyPercent and maximumPercent leave the
// scheduler no move at all: the primary lacks tasks, there is no room to
// start one (room ≤ 0), and every running task is healthy and needed for
// minimumHealthyPercent, so none may stop. Nothing changes that but a new
// deployment configuration; tasks still starting or unhealthy ones would.
func (w *World) stalled(s *service, p *deployment, desired, room int32) bool {
	if room > 0 || countTasks(p, (*task).staying) >= desired {
		return false
	}
	for _, d := range s.deployments {
		if countTasks(d, (*task).active) != countTasks(d, (*task).healthy) {
			return false
		}
	}
	return true
}

// settle retires drained deployments and completes the primary when it runs
// its desired count of healthy tasks and nothing else is left.
func (w *World) settle(s *service, now time.Time) {
	p := s.primary()
	kept := s.deployments[:1]
	for _, d := range s.deployments[1:] {
		if countTasks(d, func(t *task) bool { return t.lastStatus != statusStopped }) == 0 {
			d.status = "INACTIVE"
			d.updatedAt = now
			continue
		}
		kept = append(kept, d)
	}
	s.deployments = kept

	settled := func(t *task) bool { return t.healthy() && now.Sub(t.startedAt) >= w.timing.SteadyAfter }
	steady := len(s.deployments) == 1 &&
		countTasks(p, settled) == s.desired &&
		countTasks(p, (*task).active) == s.desired &&
		countTasks(p, func(t *task) bool { return !t.active() && t.lastStatus != statusStopped }) == 0
	if !steady {
		return
	}
	if p.rollout == ecstypes.DeploymentRolloutStateInProgress {
		p.rollout = ecstypes.DeploymentRolloutStateCompleted
		p.rolloutReason = fmt.Sprintf("ECS deployment %s completed.", p.id)
		p.updatedAt = now
		p.finishedAt = now
		if p.rolledBack {
			for _, d := range s.history {
				if d.rollbackTo == p {
					d.sdStatus = ecstypes.ServiceDeploymentStatusRollbackSuccessful
					d.finishedAt = now
				}
			}
		} else {
			p.sdStatus = ecstypes.ServiceDeploymentStatusSuccessful
		}
		w.event(s, now, fmt.Sprintf("(service %s) (deployment %s) deployment completed.", s.name, p.id))
	}
	if p.rollout == ecstypes.DeploymentRolloutStateCompleted {
		w.event(s, now, fmt.Sprintf("(service %s) has reached a steady state.", s.name))
	}
}

// taskFailed counts a failed task of a service for the deployment circuit
// breaker and, when throttle is set, for the launch throttle too. ECS's
// throttle (and its "unable to consistently start tasks" event) leaves out
// a task it stopped itself for failing its target group's health checks:
// that task had started fine.
func (w *World) taskFailed(t *task, now time.Time, throttle bool) {
	s, d := t.service, t.deployment
	if s == nil || d == nil || t.failed {
		return
	}
	t.failed = true
	d.failedTasks++
	d.updatedAt = now
	if throttle {
		s.consecutiveFailures++
	}
	if k := s.consecutiveFailures; throttle && k >= 3 {
		backoff := min(15*time.Second<<(k-3), 15*time.Minute)
		s.nextLaunch = now.Add(backoff)
		if k == 3 || k%5 == 0 {
			w.event(s, now, fmt.Sprintf("(service %s) is unable to consistently start tasks successfully. For more information, see the Troubleshooting section.", s.name))
		}
	}
	cb := d.config.DeploymentCircuitBreaker
	if cb == nil || !cb.Enable || d != s.primary() || d.rollout != ecstypes.DeploymentRolloutStateInProgress {
		return
	}
	if d.failedTasks < failureThreshold(cb, s.desired) {
		return
	}
	d.rollout = ecstypes.DeploymentRolloutStateFailed
	d.rolloutReason = "ECS deployment circuit breaker: tasks failed to start."
	d.updatedAt = now
	d.finishedAt = now
	w.event(s, now, fmt.Sprintf("(service %s) (deployment %s) deployment failed: tasks failed to start.", s.name, d.id))
	var target *deployment
	for i := len(s.history) - 1; i >= 0; i-- {
		if h := s.history[i]; h != d && h.rollout == ecstypes.DeploymentRolloutStateCompleted {
			target = h
			break
		}
	}
	if !cb.Rollback || target == nil {
		d.sdStatus = ecstypes.ServiceDeploymentStatusStopped
		d.sdReason = d.rolloutReason
		return
	}
	s.taskDef = target.taskDef
	nd := w.newDeployment(s, target.taskDef, true)
	nd.rolloutReason = fmt.Sprintf("ECS deployment circuit breaker: rolling back to deploymentId %s.", target.id)
	d.rollbackTo = nd
	d.sdStatus = ecstypes.ServiceDeploymentStatusRollbackInProgress
	d.sdReason = "Service deployment rolled back because the circuit breaker threshold was exceeded."
	d.finishedAt = time.Time{}
	w.event(s, now, fmt.Sprintf("(service %s) rolling back to deployment %s.", s.name, target.id))
}

// taskSucceeded resets the launch throttle while a task of the primary is
// healthy, and the circuit breaker's failure count once per task when it
// reaches a healthy state: its container or load-balancer health checks
// passed, or, for a task with no health check at all, it has kept running
// for StableAfter (nothing else tells ECS it is healthy).
func (w *World) taskSucceeded(t *task, now time.Time) {
	s, d := t.service, t.deployment
	if s == nil || d == nil {
		return
	}
	s.consecutiveFailures = 0
	s.nextLaunch = time.Time{}
	if t.reachedHealthy || !t.hasHealthChecks() && now.Sub(t.startedAt) < w.timing.StableAfter {
		return
	}
	t.reachedHealthy = true
	if resetsOnHealthyTask(d.config.DeploymentCircuitBreaker) && d.failedTasks > 0 {
		d.failedTasks = 0
		d.updatedAt = now
	}
}

// hasHealthChecks reports whether anything checks the task's health: a
// container health check of an essential container or a target group.
func (t *task) hasHealthChecks() bool {
	for _, c := range t.containers {
		if c.essential && c.hasHealthCheck {
			return true
		}
	}
	return len(t.targets) > 0
}

func taskList(ts []*task) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = "(task " + t.id + ")"
	}
	return strings.Join(parts, " ")
}
