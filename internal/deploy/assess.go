package deploy

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// rollout is what pier knows of one deployment it waits for. assess turns
// each DescribeServices snapshot into a verdict; it is pure, so the state
// machine is tested over recorded snapshots without any simulator.
type rollout struct {
	deployment string // the id our UpdateService created
	taskDef    string // our task definition ARN
	previous   string // the ARN a rollback returns to
	want       int32  // the desired count we set
	// since is when the waited-for action began, on the local clock; it
	// drives the poll interval and the timeout, never a comparison with a
	// time ECS reported (see server).
	since time.Time
	// server is ECS's clock as its answers show it; began is our
	// deployment's createdAt on it, once a snapshot showed it.
	server serverClock
	began  time.Time
	// circuitBreaker: the service has the circuit breaker with rollback on,
	// so a FAILED deployment of ours is followed by ECS's own rollback.
	circuitBreaker bool
	// follow, when set, finds our deployment by what the service had
	// before the UpdateService (see following); runs is the revision the
	// service still ran when none of ours appeared.
	follow *following
	runs   string
	// steady: ECS said the service is steady since the counts were last
	// short (see steadyByCounts); failedAtSteady is failedTasks then.
	steady         bool
	failedAtSteady int32

	seenEvents  map[string]bool
	failedTasks int32 // our deployment's failedTasks at the last snapshot

	// "Unable to place a task" is news, not yet a verdict: ECS prints it
	// also when room is about to appear (a crashed task still stopping, an
	// old task ECS may stop first). It becomes the cause when our
	// deployment starts no task for a grace period after it: placeGrace
	// when minimumHealthyPercent lets ECS stop old tasks (mayStopOld),
	// placeGraceStuck when nothing can free room.
	mayStopOld bool
	// noRoom: preflight found, before the change, no room for one task of
	// the new revision and no old task ECS may stop for it. ECS's
	// "unable to place" then confirms what was known and is the verdict at
	// once: nothing is about to free room.
	noRoom bool
	// roomComing, when set, reports whether room for a task is on its
	// way: a task of the service is stopping (draining from its target
	// group, say, after ECS stopped an old one to make room), or another
	// rollout of the run that preflight found in the way is under way.
	// While it is, a placement failure is not counted against the grace.
	roomComing func(*types.Service) bool
	// primed: the first snapshot was read for a placement failure ECS
	// reported before the rollout and will not repeat (see suppressed).
	primed     bool
	placeCause *Cause
	// placeCapacity: placeCause is the cluster's room (preflight's domain).
	placeCapacity bool
	placeAt       time.Time // on ECS's clock
	placeMark     int32
	// hold is a cause that is not a placement but may pass (ECS failed to
	// register targets and retries): the verdict when ECS has not said it
	// succeeded within placeGrace of holdAt (ECS's clock).
	hold   *Cause
	holdAt time.Time
	// running is our deployment's running count at the last snapshot
	// (-1 before the first): a fall or a stall asks for stopped tasks.
	running int32
}

// How long a rollout gets to start a task after ECS reported that it cannot
// place one.
const (
	placeGrace      = 2 * time.Minute
	placeGraceStuck = 30 * time.Second
)

type state int

const (
	waiting state = iota
	completed
	failed
)

// verdict is the reading of one snapshot.
type verdict struct {
	state state
	cause Cause
	// events are the service events new since the last snapshot, oldest first.
	events []types.ServiceEvent
	// checkStopped: tasks of our deployment failed since the last snapshot;
	// their stopped reasons hold the cause.
	checkStopped bool
	// rollback is the deployment ECS's circuit breaker started to restore
	// the previous revision; pier waits for it instead of rolling back itself.
	rollback string
	// note says how success was decided when ECS gave no rolloutState.
	note string
}

func newRollout(deployment, taskDef, previous string, want int32, since time.Time, cb bool) *rollout {
	return &rollout{deployment: deployment, taskDef: taskDef, previous: previous, want: want, since: since,
		circuitBreaker: cb, seenEvents: map[string]bool{}, running: -1}
}

// assess reads one snapshot of the service, taken at local time at. Every
// comparison with a time ECS reported uses ECS's clock (r.server), so a
// runner whose clock is off, or a sandbox with a clock of its own, reads
// the same rollout the same way.
func (r *rollout) assess(svc *types.Service, at time.Time) verdict {
	var v verdict
	r.server.observe(svc, at)
	now := r.server.now(at)
	if !r.primed {
		r.primed = true
		r.began = r.beganOn(svc, at)
		if rd, ok := suppressedPlacement(svc.Events, r.began); ok {
			r.setPlace(&rd, now, svc)
		}
	}
	r.readNews(svc, now, &v)
	ours, primary := r.deployments(svc)
	if ours == nil && r.deployment == "" && r.follow != nil {
		return r.notStarted(v, svc, primary)
	}
	r.watchRunning(ours, &v)
	fail := func(c Cause) verdict {
		// The deployment's state decides the verdict; an event read in the
		// same snapshot is the better explanation of it.
		if v.cause.Kind != NotFatal {
			c.Message += "; " + v.cause.Message
		}
		v.state, v.cause = failed, c
		return v
	}

	switch {
	case str(svc.Status) != "" && str(svc.Status) != "ACTIVE":
		return fail(Cause{ServiceGone, fmt.Sprintf("the service is %s (being deleted)", str(svc.Status))})
	case r.want > 0 && desired(svc) == 0:
		return fail(Cause{ScaledToZero, "the service's desired count was set to 0 outside this run (auto scaling or another deploy?)"})
	}

	if ours != nil && ours.RolloutState == types.DeploymentRolloutStateFailed {
		reason := strings.TrimSuffix(str(ours.RolloutStateReason), ".")
		if primary != nil && str(primary.Id) != r.deployment && str(primary.TaskDefinition) == r.previous {
			v.note = "ECS: " + reason
			return r.rolledBack(fail, &v, primary)
		}
		return fail(Cause{DeploymentFailed, fmt.Sprintf("deployment %s failed: %s", r.deployment, reason)})
	}
	if primary != nil && str(primary.Id) != r.deployment {
		if r.breakerRolledBack(ours, primary) {
			return r.rolledBack(fail, &v, primary)
		}
		return fail(Cause{Superseded, fmt.Sprintf("deployment %s (task definition %s) replaced ours (%s) outside this run; pier leaves it alone",
			str(primary.Id), shortTD(str(primary.TaskDefinition)), r.deployment)})
	}
	if ours == nil {
		return fail(Cause{Superseded, fmt.Sprintf("deployment %s is gone from the service and no deployment is PRIMARY", r.deployment)})
	}
	if v.cause.Kind != NotFatal {
		v.state = failed
		return v
	}
	switch {
	case ours.RolloutState == types.DeploymentRolloutStateCompleted:
		if ours.RunningCount >= r.want {
			v.state = completed
		}
	case ours.RolloutState == "" && r.steadyByCounts(svc, ours, v.events):
		// Services without a rolloutState (external deployment controller,
		// old API versions): see steadyByCounts.
		v.state = completed
		v.note = "ECS reports no rolloutState; decided by a single deployment with running == desired and ECS's steady-state event after it"
	}
	return v
}

// eventRepeat is how long ECS keeps quiet about an event it already
// reported: the same message is not shown again for up to six hours.
const eventRepeat = 6 * time.Hour

// suppressedPlacement finds a placement failure ECS reported before the
// rollout began and will not report again while it lasts: the newest
// "unable to place a task" of the last six hours with no task started
// after it. A rollout that then starts no task is stuck for that reason,
// though no new event says so.
func suppressedPlacement(events []types.ServiceEvent, since time.Time) (reading, bool) {
	for _, e := range events { // newest first
		if e.CreatedAt == nil || !e.CreatedAt.Before(since) {
			continue
		}
		if since.Sub(*e.CreatedAt) > eventRepeat {
			break
		}
		msg := str(e.Message)
		if strings.Contains(msg, ") has started ") {
			break
		}
		if rd := readEvent(msg); Placement(rd.cause.Kind) {
			// Old news waits for its grace whatever its class: the
			// rollout may yet start a task.
			rd.class = stuck
			rd.cause.Message += fmt.Sprintf(" (reported by ECS at %s, before this rollout; ECS does not repeat an event while it lasts)", e.CreatedAt.UTC().Format("15:04:05"))
			return rd, true
		}
	}
	return reading{}, false
}

// setPlace makes a placement failure ECS reported at at the one whose
// grace runs.
func (r *rollout) setPlace(rd *reading, at time.Time, svc *types.Service) {
	c := rd.cause
	r.placeCause, r.placeCapacity, r.placeAt, r.placeMark = &c, rd.capacity, at, r.progress(svc)
}

// placeGrace is how long a placement failure may last with no task
// started before it is the verdict, and the words that say so.
func (r *rollout) placeGrace(svc *types.Service) (time.Duration, string) {
	grace := placeGraceStuck
	switch {
	case r.placeCapacity && r.noRoom && r.progress(svc) == 0:
		return 0, " (as preflight warned: before the change no instance had room and no old task could stop for it)"
	case r.mayStopOld || !r.placeCapacity:
		// Old tasks may stop to make room; or the reason is not the
		// cluster's room at all (Fargate capacity, an unknown reason) and
		// ECS retries on its own.
		grace = placeGrace
	}
	return grace, fmt.Sprintf(" (no task started for %s after it)", grace)
}

// beganOn is when our deployment began on ECS's clock: its createdAt, or
// the newest deployment's where ours has none; the local since where no
// deployment carries a time (ECS always sets createdAt).
func (r *rollout) beganOn(svc *types.Service, at time.Time) time.Time {
	if r.deployment == "" && r.follow != nil && !r.follow.notBefore.IsZero() {
		return r.follow.notBefore // ours not shown yet: ECS's time just before our call
	}
	var newest time.Time
	for _, d := range svc.Deployments {
		if d.CreatedAt == nil {
			continue
		}
		if str(d.Id) == r.deployment {
			return *d.CreatedAt
		}
		if d.CreatedAt.After(newest) {
			newest = *d.CreatedAt
		}
	}
	if !newest.IsZero() {
		return newest
	}
	return r.since
}

// progress is how many tasks our deployment has started.
func (r *rollout) progress(svc *types.Service) int32 {
	for _, d := range svc.Deployments {
		if str(d.Id) == r.deployment {
			return d.RunningCount + d.PendingCount
		}
	}
	return 0
}

// newEvents returns the events whose ids are not in seen and that are not
// older than since, oldest first, and adds them to seen. Every wait of a
// service's run shares one seen set, so an event is news exactly once.
func newEvents(seen map[string]bool, since time.Time, events []types.ServiceEvent) []types.ServiceEvent {
	var out []types.ServiceEvent
	// ECS lists the newest first; events of one scheduler pass share a
	// timestamp, so the list order (reversed) is the order they happened in.
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		id := str(e.Id)
		if seen[id] || (e.CreatedAt != nil && e.CreatedAt.Before(since)) {
			continue
		}
		seen[id] = true
		out = append(out, e)
	}
	return out
}

// history marks the events an UpdateService answer lists as seen: they
// were there before the change, whatever any clock says, so the waits
// that follow report only what ECS said after it. An event no older than
// the answer's newest deployment time (createdAt, or updatedAt, which moves
// to the call) may be the change's own and stays news.
func history(seen map[string]bool, svc *types.Service) {
	if svc == nil {
		return
	}
	var call time.Time
	for _, d := range svc.Deployments {
		for _, t := range []*time.Time{d.CreatedAt, d.UpdatedAt} {
			if t != nil && t.After(call) {
				call = *t
			}
		}
	}
	for _, e := range svc.Events {
		if call.IsZero() || (e.CreatedAt != nil && e.CreatedAt.Before(call)) {
			seen[str(e.Id)] = true
		}
	}
}

// drained reports whether a scaled-to-zero service shows no task in any
// deployment; recreate then confirms task by task that all are STOPPED.
func drained(svc *types.Service) bool {
	if svc.RunningCount != 0 || svc.PendingCount != 0 {
		return false
	}
	for _, d := range svc.Deployments {
		if d.RunningCount != 0 || d.PendingCount != 0 {
			return false
		}
	}
	return true
}

// restoredOn reports whether the service runs taskDef with its previous
// desired count again, nothing else running or pending, and at least least
// tasks of taskDef running: the state a rollback must reach. least is the
// desired count, or fewer when the service ran fewer before the run (a
// rollback returns it to where it was, not beyond). It accepts a rollback
// deployment that is still IN_PROGRESS when the tasks of an earlier
// deployment of the same revision already run (ECS cannot place
// replacement tasks on a full cluster, but the service is whole on the
// previous revision).
func restoredOn(svc *types.Service, taskDef string, want, least int32) bool {
	var on, off int32
	for _, d := range svc.Deployments {
		if str(d.TaskDefinition) == taskDef {
			on += d.RunningCount
		} else {
			off += d.RunningCount + d.PendingCount
		}
	}
	return on >= least && on <= want && off == 0 && desired(svc) == want
}

// shortTD is family:revision of a task-definition ARN.
func shortTD(arn string) string {
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == '/' {
			return arn[i+1:]
		}
	}
	return arn
}
