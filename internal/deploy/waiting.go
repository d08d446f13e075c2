package deploy

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pier-deploy/pier/internal/report"
)

// A rollout can wait for many minutes with nothing new to say. Each poll
// round of a wait tells the observer what the service is waiting for, as
// typed progress; the faces decide how often to show it (the CLI: a
// heartbeat at most every 30 s, a live status line on a terminal).

// waiting sends the state of the wait that began at since.
func (r *run) waiting(since time.Time, msg string, running, desired int32) {
	now := r.d.o.clock.Now()
	phase := ""
	if r.phase != nil {
		phase = r.phase.Name
	}
	r.d.o.observer.Progress(report.Progress{Time: now, Elapsed: now.Sub(r.d.started), Service: r.name(), Kind: report.Waiting, Message: msg,
		Wait: &report.Wait{Phase: phase, Running: running, Desired: desired, Since: now.Sub(since)}})
}

// rolloutState says what a rollout waits for in a snapshot: "1 of 2 new
// tasks running, waiting for target health". ECS starts new tasks as
// maximumPercent allows, waits for them to pass the target group's health
// checks (when the service has a load balancer), stops old tasks, and marks
// the deployment COMPLETED once the service is steady.
func rolloutState(ro *rollout, svc *types.Service) (string, int32, int32) {
	ours, _ := ro.deployments(svc)
	if ours == nil {
		return "waiting for ECS to start the deployment", 0, ro.want
	}
	running, want := ours.RunningCount, ro.want
	var old, others int32
	for _, d := range svc.Deployments {
		if str(d.Id) != str(ours.Id) {
			old += d.RunningCount
			others++
		}
	}
	state := fmt.Sprintf("%d of %d new tasks running", running, want)
	lb := len(svc.LoadBalancers) > 0
	switch {
	case ours.PendingCount > 0:
		state += fmt.Sprintf(", %d starting", ours.PendingCount)
	case running < want && lb:
		state += ", waiting for target health"
	case running < want:
		state += ", waiting for ECS to place the rest"
	case old > 0:
		state += fmt.Sprintf(", waiting for %d old task(s) to stop", old)
	case others > 0 && lb:
		state += ", waiting for the old tasks to drain from the load balancer"
	case others > 0:
		state += ", waiting for the old deployment to finish"
	case lb:
		state += ", waiting for target health"
	default:
		state += ", waiting for the deployment to complete"
	}
	return state, running, want
}

// drainState says what a scale-down to zero waits for.
func drainState(svc *types.Service) (string, int32) {
	left := svc.RunningCount + svc.PendingCount
	if left == 0 && len(svc.LoadBalancers) > 0 {
		return "no task running, waiting for the stopping tasks to drain from the load balancer and reach STOPPED", 0
	}
	if left == 0 {
		return "no task running, waiting for the stopping tasks to reach STOPPED", 0
	}
	return fmt.Sprintf("%d task(s) still running, waiting for them to stop", left), left
}
