package deploy

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pier-deploy/pier/internal/plan"
)

// NoDeployment is the cause when ECS accepted an UpdateService but no
// deployment of the revision pier set appeared within noDeploymentRounds
// poll rounds: the service still runs what it ran, and that is no success.
const NoDeployment Kind = "no-deployment"

// noDeploymentRounds is how many snapshots may show no deployment of ours
// before that is the verdict. ECS creates the deployment within the
// UpdateService call, but its reads are eventually consistent.
const noDeploymentRounds = 4

// following is what pier knew of the service just before an UpdateService
// that names a task definition, so that only a deployment that call
// started counts as ours: the PRIMARY of the answer is no proof (an
// eventually consistent read may still show the one from before).
type following struct {
	// before holds the ids of the deployments the service had.
	before map[string]bool
	// notBefore is the newest createdAt of those deployments, on ECS's
	// clock: a deployment the call started is not older. (Not updatedAt:
	// counts move it up to the moment of the call, and a skew of
	// milliseconds between ECS's hosts must not disown our deployment.)
	// Zero when ECS gave no times. The local clock is never compared with it.
	notBefore time.Time
	// expectNew: the call starts a new deployment (another revision, or
	// forceNewDeployment). Otherwise (a new desired count only) ours is the
	// PRIMARY of that revision, as ECS keeps it.
	expectNew bool
	// was is the revision the service ran before the call.
	was string
	// absent counts the snapshots that showed no deployment of ours.
	absent int
}

// newFollowing reads the deployments of svc as they were before the call.
func newFollowing(svc *types.Service, taskDef string, force bool) *following {
	f := &following{before: map[string]bool{}}
	if svc == nil {
		f.expectNew = true
		return f
	}
	f.was = str(svc.TaskDefinition)
	for _, d := range svc.Deployments {
		f.before[str(d.Id)] = true
		if str(d.Status) == "PRIMARY" && d.TaskDefinition != nil {
			f.was = str(d.TaskDefinition)
		}
		if d.CreatedAt != nil && d.CreatedAt.After(f.notBefore) {
			f.notBefore = *d.CreatedAt
		}
	}
	f.expectNew = force || f.was != taskDef
	return f
}

// beforeUpdate reads the service just before an UpdateService that sets
// taskDef. When ECS does not answer, the last snapshot of the run stands
// in, else the deployments the plan saw.
func (r *run) beforeUpdate(ctx context.Context, taskDef string, force bool) *following {
	p := r.t.Plan
	out, err := r.d.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(p.Cluster), Services: []string{p.Service}})
	if err == nil && len(out.Services) == 1 {
		r.last = &out.Services[0]
	}
	if r.last != nil {
		return newFollowing(r.last, taskDef, force)
	}
	f := newFollowing(nil, taskDef, force)
	for _, id := range p.Observed.Deployments {
		f.before[id] = true
	}
	f.was = p.Current.Arn
	f.expectNew = force || f.was != taskDef
	return f
}

// pick finds the deployment of taskDef that f's call started, or nil.
func (f *following) pick(deps []types.Deployment, taskDef string) *types.Deployment {
	var best *types.Deployment
	for i := range deps {
		d := &deps[i]
		if str(d.TaskDefinition) != taskDef {
			continue
		}
		if !f.expectNew {
			if str(d.Status) == "PRIMARY" {
				return d
			}
			continue
		}
		if f.before[str(d.Id)] || (d.CreatedAt != nil && !f.notBefore.IsZero() && d.CreatedAt.Before(f.notBefore)) {
			continue
		}
		if best == nil || (d.CreatedAt != nil && best.CreatedAt != nil && d.CreatedAt.After(*best.CreatedAt)) {
			best = d
		}
	}
	return best
}

// deployments finds our deployment and the PRIMARY in a snapshot. Until
// ours is known it is looked for by the rule of following; once found,
// its id is ours for the rest of the wait.
func (r *rollout) deployments(svc *types.Service) (ours, primary *types.Deployment) {
	for i := range svc.Deployments {
		d := &svc.Deployments[i]
		if r.deployment != "" && str(d.Id) == r.deployment {
			ours = d
		}
		if str(d.Status) == "PRIMARY" {
			primary = d
		}
	}
	if ours != nil || r.deployment != "" || r.follow == nil {
		return ours, primary
	}
	if ours = r.follow.pick(svc.Deployments, r.taskDef); ours != nil {
		r.deployment = str(ours.Id)
	}
	return ours, primary
}

// notStarted is the verdict while no deployment of ours has appeared:
// waiting for a few rounds, then the failure that says so.
func (r *rollout) notStarted(v verdict, svc *types.Service, primary *types.Deployment) verdict {
	r.follow.absent++
	if r.follow.absent < noDeploymentRounds {
		return v
	}
	runs := r.follow.was
	if primary != nil && primary.TaskDefinition != nil {
		runs = str(primary.TaskDefinition)
	} else if svc.TaskDefinition != nil {
		runs = str(svc.TaskDefinition)
	}
	r.runs = runs
	v.state = failed
	v.cause = Cause{NoDeployment, fmt.Sprintf("ECS started no deployment of %s; the service still runs %s", shortTD(r.taskDef), shortTD(runs))}
	return v
}

// depName names a deployment in progress lines; "" is one the answer did
// not show yet.
func depName(id string) string {
	if id == "" {
		return "(not in ECS's answer yet)"
	}
	return id
}

// name is the deployment waited for, as causes name it.
func (r *rollout) name() string {
	if r.deployment == "" {
		return "of " + shortTD(r.taskDef) + " (none appeared)"
	}
	return r.deployment
}

// revisions lists every ACTIVE revision of family, newest first. It pages
// to the end and orders by the parsed revision number itself: ECS may
// list in any order whatever `sort` asks.
func revisions(ctx context.Context, api ecsLister, family string) ([]string, error) {
	var arns []string
	var token *string
	for {
		out, err := api.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family),
			Status: types.TaskDefinitionStatusActive, Sort: types.SortOrderDesc, NextToken: token})
		if err != nil {
			return nil, err
		}
		for _, a := range out.TaskDefinitionArns {
			if r := revision(a); r.Family == family && r.Revision > 0 {
				arns = append(arns, a)
			}
		}
		if token = out.NextToken; token == nil || *token == "" {
			break
		}
	}
	sort.SliceStable(arns, func(i, j int) bool { return revision(arns[i]).Revision > revision(arns[j]).Revision })
	return slices.CompactFunc(arns, func(a, b string) bool { return revision(a).Revision == revision(b).Revision }), nil
}

type ecsLister interface {
	ListTaskDefinitions(context.Context, *ecs.ListTaskDefinitionsInput, ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error)
}

// rolledBack is the verdict when ECS's circuit breaker rolled our
// deployment back: one cause whether the FAILED deployment is still
// listed or already gone (a slower poll finds it drained), and a look at
// the stopped tasks of ours, which ECS keeps, for the reason.
func (r *rollout) rolledBack(fail func(Cause) verdict, v *verdict, primary *types.Deployment) verdict {
	v.rollback = str(primary.Id)
	v.checkStopped = true
	return fail(Cause{CircuitBreaker, fmt.Sprintf("ECS's circuit breaker failed deployment %s and started a rollback to %s", r.deployment, shortTD(r.previous))})
}

// desired is the service's desired count; where the member is absent (the
// SDK reads it as 0) the PRIMARY deployment's, which ECS keeps equal.
func desired(svc *types.Service) int32 {
	if svc.DesiredCount != 0 {
		return svc.DesiredCount
	}
	for _, d := range svc.Deployments {
		if str(d.Status) == "PRIMARY" {
			return d.DesiredCount
		}
	}
	return 0
}

// steadyByCounts decides completion where ECS gives no rolloutState: one
// deployment (ours) with every task running, and ECS's own "has reached a
// steady state" (or "deployment completed") event after the counts last
// fell short. Counts alone are no proof: a revision that starts and then
// crashes shows running == desired for a while.
func (r *rollout) steadyByCounts(svc *types.Service, ours *types.Deployment, events []types.ServiceEvent) bool {
	whole := len(svc.Deployments) == 1 && ours.RunningCount == ours.DesiredCount && ours.DesiredCount == r.want
	if !whole || ours.FailedTasks > r.failedAtSteady {
		r.steady, r.failedAtSteady = false, ours.FailedTasks
		return false
	}
	for _, e := range events {
		msg := str(e.Message)
		if strings.Contains(msg, "has reached a steady state") || (r.deployment != "" && strings.Contains(msg, r.deployment+") deployment completed")) {
			r.steady = true
		}
	}
	return r.steady
}

// learnedCause is what the stopped tasks of our deployment say, for a
// verdict ECS's circuit breaker decided: what earlier rounds read, else
// one more look now (ECS keeps stopped tasks listed for a while after the
// FAILED deployment is gone). "" when it adds nothing.
func (r *run) learnedCause(ctx context.Context, c Cause, ours *rollout) string {
	if c.Kind != CircuitBreaker || ours == nil {
		return ""
	}
	if r.learned.Kind == NotFatal {
		r.stoppedCause(ctx, ours)
	}
	if r.learned.Kind == NotFatal || strings.Contains(c.Message, r.learned.Message) {
		return ""
	}
	return "; " + r.learned.Message
}

// onRevision reports whether a recreate step is done on ECS itself: the
// service is set to taskDef, and at least want tasks run, every one of
// them of taskDef (a deployment's counts alone could be of another
// revision's tasks). An error counts as not yet.
func (r *run) onRevision(ctx context.Context, svc *types.Service, taskDef string, want int32) bool {
	if svc == nil || str(svc.TaskDefinition) != taskDef {
		return false
	}
	p := r.t.Plan
	var arns []string
	var token *string
	for {
		out, err := r.d.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(p.Cluster), ServiceName: aws.String(p.Service),
			DesiredStatus: types.DesiredStatusRunning, NextToken: token})
		if err != nil {
			return false
		}
		arns = append(arns, out.TaskArns...)
		if token = out.NextToken; token == nil || *token == "" {
			break
		}
	}
	var on int32
	for i := 0; i < len(arns); i += 100 {
		out, err := r.d.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(p.Cluster), Tasks: arns[i:min(i+100, len(arns))]})
		if err != nil {
			return false
		}
		for _, t := range out.Tasks {
			if str(t.TaskDefinitionArn) != taskDef {
				return false
			}
			if str(t.LastStatus) == "RUNNING" {
				on++
			}
		}
	}
	return on >= want
}

// breakerRolledBack reports whether a PRIMARY that is not ours is ECS's
// circuit breaker rolling ours back: the breaker is on, the PRIMARY runs
// the previous revision, and ours is FAILED, gone (drained after it
// failed), or, without a rolloutState, has failed tasks.
func (r *rollout) breakerRolledBack(ours, primary *types.Deployment) bool {
	if !r.circuitBreaker || str(primary.TaskDefinition) != r.previous {
		return false
	}
	return ours == nil || ours.RolloutState == types.DeploymentRolloutStateFailed ||
		(ours.RolloutState == "" && ours.FailedTasks > 0)
}

// rollbackTo picks the revision a rollback of ref returns to among the
// family's ACTIVE revisions (newest first): ref.To when it names one, else
// the newest below the one in use.
func rollbackTo(ref Ref, cur plan.Revision, active []string) (string, error) {
	if ref.To != "" {
		want := revision(ref.To)
		if want.Family == "" || want.Revision == 0 {
			return "", fmt.Errorf("rolling back %s: %q is not a task-definition revision (family:revision or its ARN)", ref.Name, ref.To)
		}
		if want.Family != cur.Family {
			return "", fmt.Errorf("rolling back %s: %s is not of the family %s the service runs", ref.Name, want, cur.Family)
		}
		if want.Revision == cur.Revision {
			return "", fmt.Errorf("rolling back %s: the service already runs %s", ref.Name, cur)
		}
		for _, a := range active {
			if revision(a).Revision == want.Revision {
				return a, nil
			}
		}
		return "", fmt.Errorf("rolling back %s: %s is not an ACTIVE revision (deregistered?); run `pier rollback %s` without it for the newest one below %s", ref.Name, want, ref.Name, cur)
	}
	for _, a := range active { // newest first
		if revision(a).Revision < cur.Revision {
			return a, nil
		}
	}
	return "", fmt.Errorf("rolling back %s: %s has %w", ref.Name, cur, ErrNoOlderRevision)
}
