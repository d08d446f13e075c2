package sim

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// containerHC is a container health check with Docker's defaults filled in.
type containerHC struct {
	interval, startPeriod time.Duration
	retries               int
}

func (t *task) healthCheckOf(name string) containerHC {
	hc := containerHC{interval: 30 * time.Second, retries: 3}
	for _, cd := range t.def.def.ContainerDefinitions {
		if aws.ToString(cd.Name) != name || cd.HealthCheck == nil {
			continue
		}
		if v := aws.ToInt32(cd.HealthCheck.Interval); v > 0 {
			hc.interval = time.Duration(v) * time.Second
		}
		if v := aws.ToInt32(cd.HealthCheck.Retries); v > 0 {
			hc.retries = int(v)
		}
		if v := aws.ToInt32(cd.HealthCheck.StartPeriod); v > 0 {
			hc.startPeriod = time.Duration(v) * time.Second
		}
	}
	return hc
}

// checkFailure says how the load balancer's health check of container
// name would fail, as ELBv2's reason code and description: nothing listens
// (the container stopped: Target.FailedHealthChecks), it never answers
// (Target.Timeout), or it answers 502, itself or because a container it
// reaches through links (nginx → springboot) has stopped or is unhealthy
// (Target.ResponseCodeMismatch). ok is false when the check passes.
func (t *task) checkFailure(name string) (code, description string, ok bool) {
	c := linkedTo(t, name)
	switch {
	case c == nil:
		return "", "", false
	case c.lastStatus == statusStopped:
		return "Target.FailedHealthChecks", "Health checks failed", true
	case c.behavior.ELBTimeout:
		return "Target.Timeout", "Request timed out", true
	case t.failsChecks(name, map[string]bool{}):
		return "Target.ResponseCodeMismatch", elbFailure, true
	}
	return "", "", false
}

// failsChecks reports whether the service behind container name would fail
// an HTTP health check: its image is unhealthy, or a container it reaches
// through links (nginx → springboot) has stopped or is unhealthy itself.
func (t *task) failsChecks(name string, seen map[string]bool) bool {
	if seen[name] {
		return false
	}
	seen[name] = true
	c := linkedTo(t, name)
	if c == nil {
		return false
	}
	if c.behavior.Unhealthy || c.behavior.ELBTimeout || c.lastStatus == statusStopped {
		return true
	}
	for _, cd := range t.def.def.ContainerDefinitions {
		if aws.ToString(cd.Name) != name {
			continue
		}
		for _, l := range cd.Links {
			if t.failsChecks(l, seen) {
				return true
			}
		}
	}
	return false
}

// registerTargets registers a service task that just started in each of the
// service's target groups: the instance and host port in bridge mode, the
// task's address and container port in awsvpc mode.
func (w *World) registerTargets(t *task, now time.Time) {
	if t.deployment == nil {
		return
	}
	for _, lb := range t.deployment.loadBalancers {
		tgArn := aws.ToString(lb.TargetGroupArn)
		cname, cport := aws.ToString(lb.ContainerName), aws.ToInt32(lb.ContainerPort)
		tg := &target{tgArn: tgArn, container: cname, cport: cport, state: "initial"}
		switch {
		case t.eniIP != "":
			tg.id, tg.port = t.eniIP, cport
		case t.instance != nil:
			tg.id = t.instance.ec2ID
			for _, c := range t.containers {
				if c.name != cname {
					continue
				}
				for _, b := range c.bindings {
					if aws.ToInt32(b.ContainerPort) == cport {
						tg.port = aws.ToInt32(b.HostPort)
					}
				}
			}
		}
		st := w.targets.settings(tgArn)
		tg.registered = now
		if code, desc, failing := t.checkFailure(cname); failing {
			tg.failAt = now.Add(st.interval * time.Duration(st.unhealthyThreshold))
			tg.failCode, tg.failDesc = code, desc
		} else {
			tg.healthyAt = now.Add(st.interval * time.Duration(st.healthyThreshold))
		}
		t.targets = append(t.targets, tg)
		w.registerTarget(t, tg, now)
	}
}

// registerTarget registers tg with ELBv2, or, while RegisterTargetsError is
// set, fails as ECS reports it and leaves the target unregistered, to be
// tried again in 30 s: the task runs but the load balancer never sends it
// traffic nor marks it healthy.
func (w *World) registerTarget(t *task, tg *target, now time.Time) {
	if msg := w.faults.RegisterTargetsError; msg != "" {
		tg.state = "unregistered"
		tg.retryAt = now.Add(30 * time.Second)
		w.event(t.service, now, fmt.Sprintf("(service %s) failed to register targets in (target-group %s) with (error %s)", t.service.name, tg.tgArn, msg))
		return
	}
	if tg.state == "unregistered" {
		st := w.targets.settings(tg.tgArn)
		tg.state, tg.registered = "initial", now
		tg.healthyAt = now.Add(st.interval * time.Duration(st.healthyThreshold))
		if !tg.failAt.IsZero() {
			tg.failAt, tg.healthyAt = now.Add(st.interval*time.Duration(st.unhealthyThreshold)), time.Time{}
		}
	}
	w.targets.register(tg.tgArn, tg.id, tg.port)
	t.service.batch.add(&t.service.batch.registered, tg.tgArn)
}

// elbFailure is the target-health description ELBv2 gives a target that
// answers its HTTP health check with 502; ECS quotes the description in the
// service event ("… due to (reason Health checks failed with these codes: [502]).").
const elbFailure = "Health checks failed with these codes: [502]"

// checkTargets moves target health along (initial: Elb.RegistrationInProgress,
// then Elb.InitialHealthChecking; healthy; unhealthy with the reason the
// check fails for) and stops a task whose target turned unhealthy once the
// service's grace period is over. It reports whether the task was stopped.
func (w *World) checkTargets(t *task, now time.Time) bool {
	for _, tg := range t.targets {
		w.advanceTarget(t, tg, now)
	}
	s := t.service
	if s == nil || !t.active() {
		return false
	}
	grace := time.Duration(aws.ToInt32(s.gracePeriod)) * time.Second
	if now.Sub(t.startedAt) < grace {
		return false
	}
	for _, tg := range t.targets {
		if tg.state != "unhealthy" {
			continue
		}
		where := fmt.Sprintf("(task %s) (port %d)", t.id, tg.port)
		if t.instance != nil && t.eniIP == "" {
			where = fmt.Sprintf("(task %s) (instance %s) (port %d)", t.id, tg.id, tg.port)
		}
		w.event(s, now, fmt.Sprintf("(service %s) %s is unhealthy in (target-group %s) due to (reason %s).", s.name, where, tg.tgArn, tg.failDesc))
		w.event(s, now, fmt.Sprintf("(service %s) (task %s) failed ELB health checks in (target-group %s).", s.name, t.id, tg.tgArn))
		w.taskFailed(t, now, false)
		w.stopTask(t, ecstypes.TaskStopCodeServiceSchedulerInitiated, fmt.Sprintf("Task failed ELB health checks in (target-group %s)", tg.tgArn), now)
		w.event(s, now, fmt.Sprintf("(service %s) has stopped 1 running tasks: %s.", s.name, taskList([]*task{t})))
		return true
	}
	return false
}

// advanceTarget moves one target's health along the load balancer's checks.
func (w *World) advanceTarget(t *task, tg *target, now time.Time) {
	if tg.state == "unregistered" && t.active() && !now.Before(tg.retryAt) {
		w.registerTarget(t, tg, now)
	}
	if tg.state != "initial" && tg.state != "healthy" && tg.state != "unhealthy" {
		return
	}
	// A container that died or a link target that failed after
	// registration fails the next checks.
	if tg.state != "unhealthy" && tg.failAt.IsZero() {
		if code, desc, failing := t.checkFailure(tg.container); failing {
			st := w.targets.settings(tg.tgArn)
			tg.failAt = now.Add(st.interval * time.Duration(st.unhealthyThreshold))
			tg.failCode, tg.failDesc = code, desc
			tg.healthyAt = time.Time{}
		}
	}
	switch {
	case !tg.healthyAt.IsZero() && !now.Before(tg.healthyAt) && tg.state == "initial":
		tg.state = "healthy"
		w.targets.setHealth(tg.tgArn, tg.id, tg.port, "healthy", "", "")
	case !tg.failAt.IsZero() && !now.Before(tg.failAt) && tg.state != "unhealthy":
		tg.state = "unhealthy"
		w.targets.setHealth(tg.tgArn, tg.id, tg.port, "unhealthy", tg.failCode, tg.failDesc)
	case tg.state == "initial" && !tg.checking && now.After(tg.registered):
		// Registration is done; the load balancer is sending the checks
		// it needs to decide.
		tg.checking = true
		w.targets.setHealth(tg.tgArn, tg.id, tg.port, "initial", "Elb.InitialHealthChecking", "")
	}
}
