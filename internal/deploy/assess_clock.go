package deploy

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// serverClock is ECS's clock as its answers show it. Which events belong to
// a rollout, and how long a placement failure has lasted, compare times ECS
// wrote (deployment createdAt and updatedAt, event createdAt) with each
// other, never with the runner's wall clock: a runner whose clock is off,
// or a `pier sandbox` whose virtual clock runs on its own, would otherwise
// drop every event as old or count a grace that never ends.
//
// ECS reports no "now", so the estimate is the newest time seen in an answer
// plus the local time elapsed since that answer arrived: a lower bound that
// each newer timestamp moves forward. Only local durations enter it, so an
// offset of the local clock cancels out.
type serverClock struct {
	known  bool
	server time.Time // the newest time ECS reported
	local  time.Time // the local time of the answer that carried it
}

// observe takes the times of one DescribeServices answer, received at
// local time at.
func (c *serverClock) observe(svc *types.Service, at time.Time) {
	if svc == nil {
		return
	}
	for _, d := range svc.Deployments {
		c.see(d.CreatedAt, at)
		c.see(d.UpdatedAt, at)
	}
	for _, e := range svc.Events {
		c.see(e.CreatedAt, at)
	}
}

func (c *serverClock) see(t *time.Time, at time.Time) {
	if t == nil || t.IsZero() {
		return
	}
	if !c.known || t.After(c.now(at)) {
		c.known, c.server, c.local = true, *t, at
	}
}

// now is ECS's time at local time at; the local time itself until an
// answer carried a time.
func (c *serverClock) now(at time.Time) time.Time {
	if !c.known {
		return at
	}
	return c.server.Add(at.Sub(c.local))
}

// eventTime is when ECS reported e; now where it gave no time.
func eventTime(e types.ServiceEvent, now time.Time) time.Time {
	if e.CreatedAt != nil && !e.CreatedAt.IsZero() {
		return *e.CreatedAt
	}
	return now
}
