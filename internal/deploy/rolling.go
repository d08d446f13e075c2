package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pier-deploy/pier/internal/report"
)

func (r *run) timeout() time.Duration {
	if r.t.Timeout > 0 {
		return r.t.Timeout
	}
	return 20 * time.Minute
}

// rolling is ECS's own rolling update, watched on our deployment id.
func (r *run) rolling(ctx context.Context) {
	p := r.t.Plan
	taskDef, ok := r.begin(ctx)
	if !ok {
		return
	}
	r.startPhase("update")
	since := r.d.o.clock.Now()
	id, err := r.update(ctx, taskDef, p.DesiredCount.New, false)
	if err != nil {
		r.endPhase("failed")
		r.finish(report.Failed, Cause{APIError, err.Error()})
		return
	}
	r.rep.Deployment = id
	defer r.d.busy(p.Cluster)()
	r.d.emit(r.name(), report.Note, fmt.Sprintf("updated %s to %s, desired count %d: deployment %s", p.Service, shortTD(taskDef), p.DesiredCount.New, depName(id)))
	r.startPhase("rollout")
	ro := r.watch(id, taskDef, p.Current.Arn, p.DesiredCount.New, since, p.Deployment.CircuitBreaker && p.Deployment.Rollback)
	floor := (int64(p.DesiredCount.New)*int64(p.Deployment.MinimumHealthyPercent) + 99) / 100
	ro.mayStopOld = int64(p.DesiredCount.Old) > floor
	ro.noRoom = !ro.mayStopOld && p.NoRoom()
	ro.roomComing = func(svc *types.Service) bool {
		return (p.WaitsForOthers() && r.d.othersBusy(p.Cluster)) || r.stopping(ctx) ||
			(ro.mayStopOld && r.settling(ctx, svc))
	}
	v, last, ok := r.settle(ctx, ro)
	if ok || r.keptOnCancel(v) {
		return
	}
	switch v.cause.Kind {
	case NoDeployment:
		// Nothing of ours runs. If the service still runs the revision it
		// ran, the rollback below sets it back to that one too, so that a
		// deployment ECS starts late cannot move it after pier reported;
		// if it runs another, someone else deploys.
		if ro.runs != p.Current.Arn {
			r.rep.Final = revision(ro.runs)
			r.finish(report.NotRestored, Cause{NoDeployment, v.cause.Message + ", not " + p.Current.String() + ": " + describeState(last)})
			return
		}
	case Superseded:
		if last != nil {
			r.rep.Final = revision(primaryTD(last))
		}
		r.finish(report.NotRestored, Cause{Superseded, v.cause.Message + "; the service now follows that deployment: " + describeState(last)})
		return
	case ServiceGone:
		r.finish(report.NotRestored, v.cause)
		return
	}
	r.rollBack(ctx, v, last, ro)
}

// settle waits for our deployment and then its health check. On success
// it applies keepRevisions and reports it; on failure it closes the phase,
// says why, and returns the verdict for the strategy to reverse.
func (r *run) settle(ctx context.Context, ro *rollout) (verdict, *types.Service, bool) {
	v, last := r.wait(ctx, ro, r.timeout(), !r.t.FinishOnCancel)
	if ro.deployment != "" {
		r.rep.Deployment = ro.deployment
	}
	if v.state == completed {
		if c := r.healthCheck(ctx, true); c.Kind != NotFatal {
			v = verdict{state: failed, cause: c}
		}
	}
	if v.state == completed {
		r.rep.Final = r.rep.New
		r.retain(ctx, ro.taskDef, r.t.Plan.Current.Arn)
		r.finish(report.Success, Cause{})
		return v, last, true
	}
	r.endPhase("failed")
	r.d.emit(r.name(), report.Error, "failed: "+v.cause.Message)
	return v, last, false
}

// keptOnCancel ends a run that must not reverse itself (FinishOnCancel)
// when its grace period after a cancel ran out, and says where ECS goes on.
func (r *run) keptOnCancel(v verdict) bool {
	if !r.t.FinishOnCancel || v.cause.Kind != Cancelled {
		return false
	}
	p := r.t.Plan
	r.finish(report.NotRestored, Cause{Cancelled, fmt.Sprintf("%s; pier does not reverse a rollback: ECS goes on moving %s to %s; follow it with `pier status %s`",
		v.cause.Message, p.Service, p.Target, p.Name)})
	return true
}

// rollBack returns the service to the revision it ran before: it waits for
// the circuit breaker's own rollback when ECS started one, otherwise it
// updates the service back and waits for that deployment.
func (r *run) rollBack(ctx context.Context, failure verdict, last *types.Service, ours *rollout) {
	p := r.t.Plan
	r.startPhase("rollback")
	since := r.d.o.clock.Now()
	id := failure.rollback
	if id == "" {
		var err error
		id, err = r.update(ctx, p.Current.Arn, p.DesiredCount.Old, false)
		if err != nil {
			r.endPhase("failed")
			r.finish(report.NotRestored, Cause{failure.cause.Kind, failure.cause.Message + "; rolling back failed: " + err.Error() + "; " + describeState(last)})
			return
		}
		r.d.emit(r.name(), report.Note, fmt.Sprintf("rolling back to %s: deployment %s", p.Current, depName(id)))
	} else {
		r.d.emit(r.name(), report.Note, fmt.Sprintf("ECS's circuit breaker is rolling back to %s: waiting for deployment %s", p.Current, id))
	}
	if failure.cause.Kind == CircuitBreaker {
		r.failed = ours // waitRestored reads its stopped tasks until one says why
	}
	if failure.cause.Kind == CircuitBreaker {
		r.failed = ours // waitRestored reads its stopped tasks until one says why
	}
	ok, state := r.waitRestored(ctx, id, since)
	failure.cause.Message += r.learnedCause(ctx, failure.cause, ours)
	if !ok {
		r.endPhase("failed")
		r.finish(report.NotRestored, Cause{failure.cause.Kind, failure.cause.Message + "; the rollback to " + p.Current.String() + " did not settle: " + state})
		return
	}
	r.rep.Final = p.Current
	r.finish(report.RolledBack, Cause{failure.cause.Kind, failure.cause.Message + "; rolled back to " + p.Current.String() + r.t.shortBefore()})
}

// waitRestored waits until the service runs its previous revision with the
// previous count: the rollback deployment completed, or every running task
// is of the previous revision already (see restoredOn). It keeps going
// after a cancel until the grace period ends: a rollback is the safe state.
func (r *run) waitRestored(ctx context.Context, id string, since time.Time) (bool, string) {
	p := r.t.Plan
	ro := r.watch(id, p.Current.Arn, "", p.DesiredCount.Old, since, false)
	deadline := since.Add(r.timeout())
	var last *types.Service
	for {
		s := r.d.poll.next(ctx, p.Cluster, p.Service, since)
		if _, over := r.d.cancelled(); over {
			return false, "the grace period after cancel ended; " + describeState(last)
		}
		if s.err != nil {
			if ctx.Err() != nil {
				return false, s.err.Error()
			}
			continue
		}
		last, r.last = s.svc, s.svc
		v := ro.assess(s.svc, s.at)
		for _, e := range v.events {
			r.event(e)
		}
		if r.failed != nil && r.learned.Kind == NotFatal {
			r.stoppedCause(ctx, r.failed)
		}
		if (v.state == completed || restoredOn(s.svc, p.Current.Arn, p.DesiredCount.Old, r.t.least())) &&
			(r.confirm == "" || r.onRevision(ctx, s.svc, p.Current.Arn, r.t.least())) {
			return true, ""
		}
		if v.state == failed && !Placement(v.cause.Kind) {
			return false, v.cause.Message + "; " + describeState(s.svc)
		}
		if s.at.After(deadline) {
			return false, "timed out: " + describeState(s.svc)
		}
	}
}

func primaryTD(svc *types.Service) string {
	for _, d := range svc.Deployments {
		if str(d.Status) == "PRIMARY" {
			return str(d.TaskDefinition)
		}
	}
	return str(svc.TaskDefinition)
}
