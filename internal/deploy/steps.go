package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/pier-deploy/pier/internal/awsapi"
	"github.com/pier-deploy/pier/internal/plan"
	"github.com/pier-deploy/pier/internal/redact"
	"github.com/pier-deploy/pier/internal/report"
)

// target registers the desired definition when the plan says so and
// returns the ARN the service should run.
func (r *run) target(ctx context.Context) (string, error) {
	p := r.t.Plan
	switch p.Action {
	case plan.Register:
		r.startPhase("register")
		if r.t.Register == nil {
			return "", fmt.Errorf("registering a new revision of %s: no definition was given", p.Family)
		}
		out, err := r.d.ecs.RegisterTaskDefinition(ctx, r.t.Register)
		if err != nil {
			// ECS may quote the definition back (a value it rejects): never a secret.
			return "", fmt.Errorf("registering task definition %q: %w", p.Family, redact.NewScrubber(r.t.Secrets).Error(awsapi.Explain(err)))
		}
		arn := str(out.TaskDefinition.TaskDefinitionArn)
		r.rep.Registered = true
		r.rep.New = revision(arn)
		r.d.emit(r.name(), report.Note, "registered "+r.rep.New.String())
		return arn, nil
	case plan.Reuse:
		r.rep.New = p.Target
		r.d.emit(r.name(), report.Note, "reusing the identical revision "+p.Target.String())
		return p.Target.Arn, nil
	}
	r.rep.New = p.Current
	return p.Current.Arn, nil
}

// update calls UpdateService and returns the id of the deployment it
// started: the deployment of taskDef that was not there before the call
// (see following), which may be "" when the answer does not show it yet;
// the wait that follows looks for it. The answer's PRIMARY is no proof.
func (r *run) update(ctx context.Context, taskDef string, count int32, force bool) (string, error) {
	p := r.t.Plan
	in := &ecs.UpdateServiceInput{Cluster: aws.String(p.Cluster), Service: aws.String(p.Service), ForceNewDeployment: force}
	if count != r.live {
		// Only a change is sent: ECS keeps the desired count an update
		// leaves out, so a count pier could not read is never overwritten.
		in.DesiredCount = aws.Int32(count)
	}
	var f *following
	if taskDef != "" {
		in.TaskDefinition = aws.String(taskDef)
		f = r.beforeUpdate(ctx, taskDef, force)
	}
	r.pending = nil
	out, err := r.d.ecs.UpdateService(ctx, in)
	if err != nil {
		what := fmt.Sprintf("desired count %d", count)
		if taskDef != "" {
			what = shortTD(taskDef) + ", " + what
		}
		return "", fmt.Errorf("updating service %s (%s): %w", p.Service, what, awsapi.Explain(err))
	}
	r.rep.Updated = true
	r.live = count
	history(r.seen, out.Service)
	if f == nil {
		return "", nil
	}
	r.rep.Final = revision(taskDef) // what the service runs from now on, whatever happens next
	if out.Service != nil {
		if d := f.pick(out.Service.Deployments, taskDef); d != nil {
			return str(d.Id), nil
		}
	}
	r.pending = f
	return "", nil
}

// wait follows a rollout until it completes, fails, times out, or the run
// is cancelled (when stopOnCancel) or its grace period ends.
func (r *run) wait(ctx context.Context, ro *rollout, timeout time.Duration, stopOnCancel bool) (verdict, *types.Service) {
	deadline := ro.since.Add(timeout)
	var last *types.Service
	var apiErrs int
	recheck := false // a task of ours was still stopping at the last look
	for {
		s := r.d.poll.next(ctx, r.t.Plan.Cluster, r.t.Plan.Service, ro.since)
		if cancelled, over := r.d.cancelled(); over || (cancelled && stopOnCancel) {
			c := Cause{Cancelled, "cancelled while waiting for deployment " + ro.name()}
			if over {
				c.Message = "the grace period after cancel ended while waiting for deployment " + ro.name()
			}
			return verdict{state: failed, cause: c}, last
		}
		if s.err != nil {
			if ctx.Err() != nil {
				return verdict{state: failed, cause: Cause{Cancelled, s.err.Error()}}, last
			}
			if retryable(s.err) && apiErrs < 40 {
				apiErrs++
				if apiErrs == 1 || apiErrs%10 == 0 {
					r.d.emit(r.name(), report.Warn, "retrying next round: "+s.err.Error())
				}
				continue
			}
			var me *missingError
			if errors.As(s.err, &me) {
				return verdict{state: failed, cause: Cause{ServiceGone, s.err.Error()}}, last
			}
			return verdict{state: failed, cause: Cause{APIError, s.err.Error()}}, last
		}
		last, r.last = s.svc, s.svc
		v := ro.assess(s.svc, s.at)
		for _, e := range v.events {
			r.event(e)
		}
		if v.checkStopped || recheck {
			c, pending := r.stoppedCause(ctx, ro)
			recheck = pending
			switch {
			case c.Kind == NotFatal:
			case v.state == waiting:
				v.state, v.cause = failed, c
			case v.state == failed && c.Kind != v.cause.Kind:
				v.cause.Message += "; " + c.Message
			}
		}
		if v.state == completed && r.confirm != "" && !r.onRevision(ctx, s.svc, r.confirm, ro.want) {
			v.state = waiting // ECS's counts say done; the tasks do not yet
		}
		if v.state != waiting {
			if v.note != "" {
				r.d.emit(r.name(), report.Note, v.note)
			}
			return v, last
		}
		if s.at.After(deadline) {
			return verdict{state: failed, cause: Cause{TimedOut, fmt.Sprintf("timed out after %s waiting for deployment %s: %s",
				timeout, ro.name(), describeState(s.svc))}}, last
		}
		msg, running, want := rolloutState(ro, s.svc)
		r.waiting(ro.since, msg, running, want)
	}
}

func (r *run) event(e types.ServiceEvent) {
	at := r.d.o.clock.Now()
	if e.CreatedAt != nil {
		at = *e.CreatedAt
	}
	r.rep.Events = append(r.rep.Events, report.Event{Time: at, Message: str(e.Message)})
	now := r.d.o.clock.Now()
	r.d.o.observer.Progress(report.Progress{Time: at, Elapsed: now.Sub(r.d.started), Service: r.name(), Kind: report.ECSEvent, Message: str(e.Message)})
}

// stoppedCause reads the tasks of our deployment that stopped since the
// last look and returns the first fatal cause among them; pending says a
// task of ours is still stopping (or ECS did not answer), so its reason is
// read on the next round.
func (r *run) stoppedCause(ctx context.Context, ro *rollout) (first Cause, pending bool) {
	p := r.t.Plan
	tasks, err := listStopped(ctx, r.d.ecs, p.Cluster, p.Service, func(a string) bool { return r.stopSeen[a] }, 0)
	if err != nil {
		return Cause{}, true
	}
	for _, t := range tasks {
		if !ro.ours(t) {
			r.stopSeen[str(t.TaskArn)] = true
			continue
		}
		if str(t.LastStatus) != "STOPPED" {
			pending = true // still stopping: read it when it has its reason
			continue
		}
		r.stopSeen[str(t.TaskArn)] = true
		r.rep.StoppedTasks = append(r.rep.StoppedTasks, stoppedReport(t))
		if c := classifyStopped(t, r.essential()); c.Kind != NotFatal && first.Kind == NotFatal {
			if w := lastWord(r.rep.Events, taskID(str(t.TaskArn))); w != "" && !strings.Contains(c.Message, w) {
				c.Message += "; ECS's last word on it: " + w
			}
			first = c
			if r.learned.Kind == NotFatal {
				r.learned = c
			}
			r.d.emit(r.name(), report.Warn, "stopped task: "+c.Message)
		}
	}
	return first, pending
}

// stopping reports whether a task of the service is on its way to STOPPED
// (ECS decided to stop it; it drains from its target group or its
// containers are exiting): the room it holds comes free when it gets there.
// It reads state, and only while a placement failure waits for its
// verdict. An error counts as no: the grace runs on.
func (r *run) stopping(ctx context.Context) bool {
	p := r.t.Plan
	tasks, err := listStopped(ctx, r.d.ecs, p.Cluster, p.Service, func(a string) bool { return r.gone[a] }, 0)
	if err != nil {
		return false
	}
	coming := false
	for _, t := range tasks {
		if str(t.LastStatus) == "STOPPED" {
			r.gone[str(t.TaskArn)] = true
		} else {
			coming = true
		}
	}
	return coming
}

// settling reports whether a target of the service is still passing its
// first health checks or draining: ECS stops an old task (freeing its
// room) only once a new one is healthy, and a draining one frees it when
// the deregistration delay ends. An error counts as no.
func (r *run) settling(ctx context.Context, svc *types.Service) bool {
	if r.d.o.elb == nil || svc == nil {
		return false
	}
	for _, lb := range svc.LoadBalancers {
		if lb.TargetGroupArn == nil {
			continue
		}
		out, err := r.d.o.elb.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: lb.TargetGroupArn})
		if err != nil {
			continue
		}
		for _, th := range out.TargetHealthDescriptions {
			if h := th.TargetHealth; h != nil && (h.State == elbtypes.TargetHealthStateEnumInitial || h.State == elbtypes.TargetHealthStateEnumDraining) {
				return true
			}
		}
	}
	return false
}

// describeState says in one line what ECS is doing with the service, for
// causes that must say what state the service is left in.
func describeState(svc *types.Service) string {
	if svc == nil {
		return "state unknown (no answer from ECS)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "desired %d, running %d, pending %d; deployments:", svc.DesiredCount, svc.RunningCount, svc.PendingCount)
	for _, d := range svc.Deployments {
		fmt.Fprintf(&b, " %s %s %s running %d/%d", str(d.Id), str(d.Status), shortTD(str(d.TaskDefinition)), d.RunningCount, d.DesiredCount)
		if d.RolloutState != "" {
			fmt.Fprintf(&b, " %s", d.RolloutState)
		}
		b.WriteString(";")
	}
	return strings.TrimSuffix(b.String(), ";")
}

// healthCheck polls the URL once per round until it answers 2xx or the
// check's timeout passes. A cancel stops a forward check (stopOnCancel);
// the check of a restored revision goes on until the grace period ends.
func (r *run) healthCheck(ctx context.Context, stopOnCancel bool) Cause {
	h := r.t.Health
	if h == nil || h.URL == "" {
		return Cause{}
	}
	r.startPhase("health-check")
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = defaultHealthTimeout
	}
	since := r.d.o.clock.Now()
	last := "no answer yet"
	for {
		if code, err := r.get(ctx, h.URL); err != nil {
			last = err.Error()
		} else if code/100 == 2 {
			r.d.emit(r.name(), report.Note, fmt.Sprintf("health check %s answered %d", h.URL, code))
			return Cause{}
		} else {
			last = fmt.Sprintf("HTTP %d", code)
		}
		if r.d.o.clock.Now().Sub(since) >= timeout {
			return Cause{HealthURL, fmt.Sprintf("%s did not answer 2xx within %s (last: %s)", h.URL, plan.Duration(timeout), last)}
		}
		if cancelled, over := r.d.cancelled(); over || (cancelled && stopOnCancel) {
			return Cause{Cancelled, "cancelled during the health check of " + h.URL}
		}
		s := r.d.poll.next(ctx, r.t.Plan.Cluster, r.t.Plan.Service, since)
		if s.err != nil && ctx.Err() != nil {
			return Cause{Cancelled, s.err.Error()}
		}
		r.reportEvents(s.svc)
	}
}

func (r *run) get(ctx context.Context, url string) (int, error) {
	return probe(ctx, r.d.o.http, url)
}

// retain deregisters ACTIVE revisions of the family beyond the newest
// keepRevisions, never the one in use nor the rollback target.
func (r *run) retain(ctx context.Context, inUse, rollbackTo string) {
	keep := r.t.KeepRevisions
	if keep <= 0 {
		return
	}
	r.startPhase("retention")
	family := r.rep.New.Family
	arns, err := revisions(ctx, r.d.ecs, family) // newest first, ordered by pier
	if err != nil {
		r.d.emit(r.name(), report.Warn, fmt.Sprintf("listing revisions of %s for keepRevisions: %v", family, awsapi.Explain(err)))
		return
	}
	kept := 0
	for _, a := range arns {
		if a == inUse || a == rollbackTo || kept < keep {
			kept++
			continue
		}
		if _, err := r.d.ecs.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(a)}); err != nil {
			r.d.emit(r.name(), report.Warn, fmt.Sprintf("deregistering %s: %v", shortTD(a), err))
			continue
		}
		r.rep.Deregistered = append(r.rep.Deregistered, shortTD(a))
	}
	if n := len(r.rep.Deregistered); n > 0 {
		r.d.emit(r.name(), report.Note, fmt.Sprintf("deregistered %d old revision(s): %s", n, strings.Join(r.rep.Deregistered, ", ")))
	}
}
