package deploy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pier-deploy/pier/internal/deploy"
	"github.com/pier-deploy/pier/internal/report"
	"github.com/pier-deploy/pier/internal/sim/clock"
)

// runnerClock is the runner's clock beside ECS's: off by offset, and
// running at 1/rate of its speed (a sandbox driven faster than real time).
// Sleeping on it lets the simulator's clock go rate times as far.
type runnerClock struct {
	sim    *clock.Clock
	offset time.Duration
	rate   int64
	start  time.Time // sim time when the run began
}

func (c *runnerClock) Now() time.Time {
	return c.start.Add(c.offset + c.sim.Now().Sub(c.start)/time.Duration(c.rate))
}

func (c *runnerClock) Sleep(ctx context.Context, d time.Duration) error {
	return c.sim.Sleep(ctx, d*time.Duration(c.rate))
}

// A rollout that cannot place its tasks is classified as fast, in poll
// rounds, whatever the runner's clock says: an hour ahead, an hour behind,
// or a sandbox whose clock runs 60 times faster than the runner's. Event
// times are compared with ECS's own times, never with the runner's.
func TestNoCapacityVerdictWhateverTheRunnerClock(t *testing.T) {
	verdict := func(t *testing.T, offset time.Duration, rate int64) (int, report.Service) {
		t.Helper()
		e := newEnv(t)
		e.inforum(t, 100, 4096)
		_, targets, err := planOnly(e, backendSpec(t, "v2"))
		if err != nil {
			t.Fatal(err)
		}
		var c deploy.Clock = e.w.Clock()
		if offset != 0 || rate != 1 {
			c = &runnerClock{sim: e.w.Clock(), offset: offset, rate: rate, start: e.w.Clock().Now()}
		}
		l := &log{}
		began := e.w.Clock().Now()
		d := deploy.New(e.ecs, deploy.WithClock(c), deploy.WithObserver(l), deploy.WithHTTPClient(e.srv.HTTPClient()))
		out := d.Apply(context.Background(), targets)
		rounds, _ := d.Rounds()
		s := out[0]
		if s.Outcome != report.RolledBack || !strings.Contains(s.Cause, "has insufficient CPU units available") {
			t.Fatalf("offset %s, rate %d: %s: %s\n%s", offset, rate, s.Outcome, s.Cause, l)
		}
		// The events are the rollout's own: ECS's placement failure is
		// news, and nothing from before the rollout is.
		placed := false
		for _, ev := range s.Events {
			if ev.Time.Before(began) {
				t.Errorf("offset %s, rate %d: an event from before the rollout was reported: %s %s", offset, rate, ev.Time, ev.Message)
			}
			placed = placed || strings.Contains(ev.Message, "was unable to place a task")
		}
		if !placed {
			t.Errorf("offset %s, rate %d: ECS's placement failure is not among the rollout's events %+v", offset, rate, s.Events)
		}
		return rounds, s
	}
	want, _ := verdict(t, 0, 1)
	for _, tt := range []struct {
		name   string
		offset time.Duration
		rate   int64
	}{
		{"runner an hour ahead", time.Hour, 1},
		{"runner an hour behind", -time.Hour, 1},
		{"sandbox clock 60 times faster and a year apart", -365 * 24 * time.Hour, 60},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, s := verdict(t, tt.offset, tt.rate); got > want {
				t.Errorf("%d poll rounds to the verdict, %d with the clocks in step (cause %s)", got, want, s.Cause)
			}
		})
	}
}

// The waits that read no verdict from events (recreate's scale-down, the
// health check) report them by what ECS listed before the change, not by
// the runner's clock: an hour ahead, the scale-down's events still show,
// and an hour behind, the service's history does not.
func TestRecreateEventsWhateverTheRunnerClock(t *testing.T) {
	for _, offset := range []time.Duration{time.Hour, -time.Hour} {
		t.Run(offset.String(), func(t *testing.T) {
			e := newEnv(t)
			e.inforum(t, 100, 4096, 4096)
			_, targets, err := planOnly(e, nexusSpec(t, "3.71.0"))
			if err != nil {
				t.Fatal(err)
			}
			began := e.w.Clock().Now()
			l := &log{}
			d := deploy.New(e.ecs, deploy.WithClock(&runnerClock{sim: e.w.Clock(), offset: offset, rate: 1, start: began}),
				deploy.WithObserver(l), deploy.WithHTTPClient(e.srv.HTTPClient()))
			s := d.Apply(context.Background(), targets)[0]
			if s.Outcome != report.Success {
				t.Fatalf("%s: %s\n%s", s.Outcome, s.Cause, l)
			}
			stopped := false
			for _, ev := range s.Events {
				if ev.Time.Before(began) {
					t.Errorf("an event from before the run was reported: %s %s", ev.Time, ev.Message)
				}
				stopped = stopped || strings.Contains(ev.Message, "has stopped 1 running tasks")
			}
			if !stopped {
				t.Errorf("the scale-down's events are missing: %+v\n%s", s.Events, l)
			}
		})
	}
}
