package deploy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pier-deploy/pier/internal/awsapi"
	"github.com/pier-deploy/pier/internal/report"
)

// recreate upgrades a single-writer service without overlap: scale to 0,
// wait until every task is STOPPED, start the new revision, wait for it and
// its health check. On failure, or on cancel, the same sequence runs back
// to the old revision. Invariant: no two tasks of the service are ever
// RUNNING or PENDING at once, because a task is started only after every
// earlier one is confirmed STOPPED.
func (r *run) recreate(ctx context.Context) {
	p := r.t.Plan
	taskDef, ok := r.begin(ctx)
	if !ok {
		return
	}

	r.startPhase("scale-down")
	if _, err := r.update(ctx, "", 0, false); err != nil {
		r.endPhase("failed")
		r.finish(report.Failed, Cause{APIError, err.Error()})
		return
	}
	r.d.emit(r.name(), report.Note, fmt.Sprintf("scaled %s to 0; waiting until every task is STOPPED", p.Service))
	if ok, state := r.waitStopped(ctx); !ok {
		r.endPhase("failed")
		r.finish(report.NotRestored, Cause{TimedOut, fmt.Sprintf("%s is at desired count 0 on %s and not every task is confirmed STOPPED (%s); pier did not start a new task so two cannot overlap: run `pier rollback %s` when they have stopped",
			p.Service, p.Current, state, p.Name)})
		return
	}
	if cancelled, _ := r.d.cancelled(); cancelled && !r.t.FinishOnCancel {
		r.endPhase("cancelled")
		r.recreateBack(ctx, Cause{Cancelled, "cancelled after scaling to 0, before the new revision started"}, false)
		return
	}

	r.startPhase("rollout")
	if cancelled, _ := r.d.cancelled(); cancelled && !r.t.FinishOnCancel {
		r.endPhase("cancelled")
		r.recreateBack(ctx, Cause{Cancelled, "cancelled after scaling to 0, before the new revision started"}, false)
		return
	}
	since := r.d.o.clock.Now()
	id, err := r.update(ctx, taskDef, p.DesiredCount.New, taskDef == p.Current.Arn)
	if err != nil {
		r.endPhase("failed")
		r.recreateBack(ctx, Cause{APIError, err.Error()}, true)
		return
	}
	r.rep.Deployment = id
	r.d.emit(r.name(), report.Note, fmt.Sprintf("started %s with desired count %d: deployment %s", shortTD(taskDef), p.DesiredCount.New, depName(id)))
	// The circuit breaker's own rollback would start an old task beside a
	// stopping new one; pier reverses itself instead, so it is not awaited.
	ro := r.watch(id, taskDef, p.Current.Arn, p.DesiredCount.New, since, false)
	r.confirm = taskDef
	v, _, ok := r.settle(ctx, ro)
	if ok || r.keptOnCancel(v) {
		return
	}
	r.recreateBack(ctx, v.cause, true)
}

// recreateBack runs the recreate sequence back to the old revision and
// count. drain says whether tasks of the new revision may exist.
func (r *run) recreateBack(ctx context.Context, cause Cause, drain bool) {
	p := r.t.Plan
	r.startPhase("rollback")
	if drain {
		if _, err := r.update(ctx, "", 0, false); err != nil {
			r.endPhase("failed")
			r.finish(report.NotRestored, Cause{cause.Kind, fmt.Sprintf("%s; scaling to 0 to restore %s failed: %v; the service stays on %s with desired count %d: run `pier rollback %s` once ECS answers",
				cause.Message, p.Current, err, r.rep.Final, p.DesiredCount.New, p.Name)})
			return
		}
		if ok, state := r.waitStopped(ctx); !ok {
			r.endPhase("failed")
			r.finish(report.NotRestored, Cause{cause.Kind, fmt.Sprintf("%s; %s is at desired count 0 and not every task is confirmed STOPPED (%s): run `pier rollback %s` when they have stopped",
				cause.Message, p.Service, state, p.Name)})
			return
		}
	}
	since := r.d.o.clock.Now()
	id, err := r.update(ctx, p.Current.Arn, p.DesiredCount.Old, true)
	if err != nil {
		r.endPhase("failed")
		r.finish(report.NotRestored, Cause{cause.Kind, fmt.Sprintf("%s; restoring %s failed: %v; the service is at desired count 0: run `pier rollback %s`", cause.Message, p.Current, err, p.Name)})
		return
	}
	r.d.emit(r.name(), report.Note, fmt.Sprintf("restoring %s with desired count %d: deployment %s", p.Current, p.DesiredCount.Old, depName(id)))
	r.confirm = p.Current.Arn
	if ok, state := r.waitRestored(ctx, id, since); !ok {
		r.endPhase("failed")
		r.finish(report.NotRestored, Cause{cause.Kind, cause.Message + "; restoring " + p.Current.String() + " did not settle: " + state})
		return
	}
	if c := r.healthCheck(ctx, false); c.Kind != NotFatal {
		r.endPhase("failed")
		r.finish(report.NotRestored, Cause{cause.Kind, cause.Message + "; " + p.Current.String() + " runs again but its health check fails: " + c.Message})
		return
	}
	r.rep.Final = p.Current
	r.finish(report.RolledBack, Cause{cause.Kind, cause.Message + "; restored " + p.Current.String() + r.t.shortBefore()})
}

// waitStopped waits until the service shows no task and every task it had
// is STOPPED (not merely told to stop). It keeps waiting after a cancel,
// until the grace period ends: starting anything earlier could overlap.
func (r *run) waitStopped(ctx context.Context) (bool, string) {
	p := r.t.Plan
	since := r.d.o.clock.Now()
	deadline := since.Add(r.timeout())
	stopped := map[string]bool{}
	state := "no answer from ECS yet"
	for {
		s := r.d.poll.next(ctx, p.Cluster, p.Service, since)
		if _, over := r.d.cancelled(); over {
			return false, "the grace period after cancel ended; " + state
		}
		if s.err != nil {
			if ctx.Err() != nil {
				return false, s.err.Error()
			}
			continue
		}
		state, r.last = describeState(s.svc), s.svc
		r.reportEvents(s.svc)
		if drained(s.svc) {
			ok, err := r.allStopped(ctx, stopped)
			if err == nil && ok {
				r.d.emit(r.name(), report.Note, "every task is STOPPED")
				return true, ""
			}
			if err != nil {
				state = err.Error()
			} else {
				state = "tasks are still stopping"
			}
		}
		if s.at.After(deadline) {
			return false, fmt.Sprintf("timed out after %s: %s", r.timeout(), state)
		}
		msg, left := drainState(s.svc)
		r.waiting(since, msg, left, 0)
	}
}

// allStopped lists the service's tasks: none may be meant to run, and every
// one told to stop must have reached STOPPED. known remembers confirmed ones.
func (r *run) allStopped(ctx context.Context, known map[string]bool) (bool, error) {
	p := r.t.Plan
	running, err := r.d.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(p.Cluster), ServiceName: aws.String(p.Service),
		DesiredStatus: types.DesiredStatusRunning})
	if err != nil {
		return false, fmt.Errorf("listing running tasks of %s: %w", p.Service, awsapi.Explain(err))
	}
	if len(running.TaskArns) > 0 {
		return false, nil
	}
	tasks, err := listStopped(ctx, r.d.ecs, p.Cluster, p.Service, func(a string) bool { return known[a] }, 0)
	if err != nil {
		return false, err
	}
	all := true
	for _, t := range tasks {
		if str(t.LastStatus) == "STOPPED" {
			known[str(t.TaskArn)] = true
		} else {
			all = false
		}
	}
	if !all {
		return false, nil
	}
	return true, nil
}
