package deploy

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// readNews reads the events of the snapshot that are news and what they
// mean for the rollout: a fatal cause, a placement failure whose grace
// runs (or ends), a failed target registration held until ECS registers
// targets, stopped tasks to read. now is ECS's time.
func (r *rollout) readNews(svc *types.Service, now time.Time, v *verdict) {
	v.events = newEvents(r.seenEvents, r.began, svc.Events)
	var place *reading         // the last placement failure in this snapshot
	var placeAt time.Time      // when ECS reported it
	startedAfterPlace := false // ECS started a task after it
	started := false           // ECS started any task since the last snapshot
	throttled := false         // ECS's own scheduler is throttled
	for _, e := range v.events {
		msg := str(e.Message)
		rd := readEvent(msg)
		switch {
		case strings.Contains(msg, ") has started "):
			started, startedAfterPlace = true, true
		case rd.class == stuck && !Placement(rd.cause.Kind):
			// Not a placement (a failed target registration): progress
			// does not clear it, only ECS saying it registered targets.
			if r.hold == nil {
				c := rd.cause
				r.hold, r.holdAt = &c, eventTime(e, now)
			}
		case strings.Contains(msg, ") registered ") && strings.Contains(msg, " targets in "):
			r.hold = nil
		case rd.class == stuck:
			place, placeAt, startedAfterPlace = &rd, eventTime(e, now), false
		case rd.class == stopped:
			v.checkStopped = true
		case rd.class == throttledEvent:
			throttled = true
		case rd.class == fatal && v.cause.Kind == NotFatal:
			v.cause = rd.cause
		}
	}
	switch {
	case started || (r.placeCause != nil && r.progress(svc) > r.placeMark):
		// Progress: an earlier failure was transient; a new one (after the
		// last start) starts its own grace.
		r.placeCause = nil
		if place != nil && !startedAfterPlace {
			r.setPlace(place, placeAt, svc)
		}
	case place != nil && r.placeCause == nil:
		r.setPlace(place, placeAt, svc)
	}
	if r.placeCause != nil && (throttled || (r.roomComing != nil && r.roomComing(svc))) {
		r.placeAt = now
	} else if r.placeCause != nil {
		grace, why := r.placeGrace(svc)
		if now.Sub(r.placeAt) >= grace && v.cause.Kind == NotFatal {
			v.cause = *r.placeCause
			v.cause.Message += why
		}
	}
	if r.hold != nil && now.Sub(r.holdAt) >= placeGrace && v.cause.Kind == NotFatal {
		v.cause = *r.hold
		v.cause.Message += fmt.Sprintf(" (ECS retries, but it did not succeed within %s)", placeGrace)
	}
}

// watchRunning asks for the stopped tasks of our deployment when they may
// hold a cause.
func (r *rollout) watchRunning(ours *types.Deployment, v *verdict) {
	if ours == nil {
		return
	}
	// failedTasks is no reliable trigger: ECS resets the circuit
	// breaker's count once a task is healthy (resetOnHealthyTask), so a
	// revision that passes one check and then crashes shows none. A
	// running count that falls, or stops rising short of the goal, asks
	// for the stopped tasks of our deployment as well.
	if ours.FailedTasks > r.failedTasks || (r.running >= 0 && ours.RunningCount < r.want && ours.RunningCount <= r.running) {
		v.checkStopped = true
	}
	r.failedTasks = max(r.failedTasks, ours.FailedTasks)
	r.running = ours.RunningCount
}
