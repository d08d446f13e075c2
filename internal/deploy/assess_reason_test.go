package deploy

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pier-deploy/pier/internal/report"
)

// A placement reason is the verdict at once only when waiting cannot change
// it; capacity and unknown reasons wait for their grace, and an unknown one
// is reported as ECS wrote it, never as capacity.
func TestAssessPlacementByReason(t *testing.T) {
	const more = " For more information, see the Troubleshooting section."
	tests := []struct {
		name   string
		msg    string
		noRoom bool
		after  time.Duration // when, after the event was read, it is the verdict
		kind   Kind
		has    string
	}{
		{"account quota is fatal at once", "(service s) was unable to place a task. Reason: You've reached the limit on the number of tasks you can run concurrently." + more,
			false, 0, PlacementQuota, "concurrently"},
		{"deployment configuration stall is fatal at once", "(service s) is unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again.",
			false, 0, DeploymentConfig, "minimumHealthyPercent"},
		{"capacity on a cluster nothing can free", "(service s) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance c1) has insufficient CPU units available." + more,
			false, placeGraceStuck, CannotPlace, "container-instance c1"},
		{"capacity preflight predicted", "(service s) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance c1) has insufficient CPU units available." + more,
			true, 0, CannotPlace, "as preflight warned"},
		{"an unknown reason waits, even where preflight found no room", "(service s) was unable to place a task. Reason: The moon is in the wrong phase." + more,
			true, placeGrace, PlacementOther, "The moon is in the wrong phase"},
		{"Fargate capacity waits", "(service s) was unable to place a task. Reason: Capacity is unavailable at this time. Please try again later or in a different availability zone." + more,
			false, placeGrace, CapacityUnavailable, "Capacity is unavailable"},
	}
	snap := func(events ...types.ServiceEvent) *types.Service {
		s := svc(2, dep("ecs-svc/new", "PRIMARY", tdNew, types.DeploymentRolloutStateInProgress, 2, 0), dep("ecs-svc/old", "ACTIVE", tdOld, types.DeploymentRolloutStateCompleted, 2, 2))
		s.Events = events
		return s
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRollout("ecs-svc/new", tdNew, tdOld, 2, t0, false)
			r.noRoom = tt.noRoom
			read := t0.Add(3 * time.Second)
			v := r.assess(snap(event("p", 3*time.Second, tt.msg)), read)
			if tt.after > 0 {
				if v.state != waiting {
					t.Fatalf("failed when ECS first said it: %+v", v.cause)
				}
				if v = r.assess(snap(), read.Add(tt.after-time.Second)); v.state != waiting {
					t.Fatalf("failed before its grace: %+v", v.cause)
				}
				v = r.assess(snap(), read.Add(tt.after))
			}
			if v.state != failed || v.cause.Kind != tt.kind || !strings.Contains(v.cause.Message, tt.has) {
				t.Fatalf("state %d cause %+v, want kind %q mentioning %q", v.state, v.cause, tt.kind, tt.has)
			}
		})
	}
}

// ECS's scheduler being throttled is not a placement verdict: its grace
// starts again once ECS stops saying so.
func TestAssessThrottledSchedulerHoldsThePlacementGrace(t *testing.T) {
	place := "(service s) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance c1) has insufficient CPU units available."
	s := svc(2, dep("ecs-svc/new", "PRIMARY", tdNew, types.DeploymentRolloutStateInProgress, 2, 0))
	r := newRollout("ecs-svc/new", tdNew, tdOld, 2, t0, false)
	s.Events = []types.ServiceEvent{event("p", time.Second, place)}
	r.assess(s, t0.Add(time.Second))
	s.Events = []types.ServiceEvent{event("th", 20*time.Second, "(service s) operations are being throttled. Will try again later."), event("p", time.Second, place)}
	if v := r.assess(s, t0.Add(20*time.Second)); v.state != waiting {
		t.Fatalf("failed while ECS was throttled: %+v", v.cause)
	}
	if v := r.assess(s, t0.Add(20*time.Second+placeGraceStuck-time.Second)); v.state != waiting {
		t.Fatalf("the grace did not start again after the throttling: %+v", v.cause)
	}
	if v := r.assess(s, t0.Add(20*time.Second+placeGraceStuck)); v.state != failed || v.cause.Kind != CannotPlace {
		t.Fatalf("state %d cause %+v, want the placement failure", v.state, v.cause)
	}
}

// The runner's clock an hour off either way (or a sandbox on a clock of its
// own) changes nothing: which events are news and when a placement failure
// is the verdict are read on ECS's clock. The rollout fails in the same
// round as with the clocks in step, and the events before it stay history.
func TestAssessReadsTimesOnECSClock(t *testing.T) {
	place := "(service s) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance c1) has insufficient CPU units available."
	old := "(service s) is unable to consistently start tasks successfully."
	verdictRound := func(t *testing.T, offset time.Duration) int {
		t.Helper()
		local := func(d time.Duration) time.Time { return t0.Add(d + offset) }
		r := newRollout("ecs-svc/new", tdNew, tdOld, 2, local(0), false)
		ours := dep("ecs-svc/new", "PRIMARY", tdNew, types.DeploymentRolloutStateInProgress, 2, 0)
		ours.CreatedAt, ours.UpdatedAt = aws.Time(t0), aws.Time(t0)
		history := event("h", -10*time.Minute, old)
		for round := 1; round <= 40; round++ {
			s := svc(2, ours, dep("ecs-svc/old", "ACTIVE", tdOld, types.DeploymentRolloutStateCompleted, 2, 2))
			s.Events = []types.ServiceEvent{history}
			if round >= 2 {
				s.Events = append([]types.ServiceEvent{event("p", 5*time.Second, place)}, s.Events...)
			}
			v := r.assess(s, local(time.Duration(round)*3*time.Second))
			for _, e := range v.events {
				if str(e.Id) == "h" {
					t.Fatalf("offset %s: an event from before the rollout was read as news", offset)
				}
			}
			if v.state == failed {
				if v.cause.Kind != CannotPlace {
					t.Fatalf("offset %s: cause %+v, want the placement failure", offset, v.cause)
				}
				return round
			}
		}
		t.Fatalf("offset %s: no verdict in 40 rounds", offset)
		return 0
	}
	want := verdictRound(t, 0)
	for _, offset := range []time.Duration{time.Hour, -time.Hour, 400 * 24 * time.Hour} {
		if got := verdictRound(t, offset); got != want {
			t.Errorf("local clock off by %s: verdict in round %d, in step round %d", offset, got, want)
		}
	}
}

// A stopped task's cause ends with ECS's last word on that task, unless all
// ECS said was that it started or stopped it.
func TestLastWord(t *testing.T) {
	events := []report.Event{
		{Message: "(service s) has started 1 tasks: (task 0a1b)."},
		{Message: "(service s) (task 0a1b) failed ELB health checks in (target-group arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/back/0123)"},
		{Message: "(service s) has stopped 1 running tasks: (task 0a1b)."},
		{Message: "(service s) (task 9f9f) failed container health checks."},
	}
	if got := lastWord(events, "0a1b"); !strings.Contains(got, "failed ELB health checks") {
		t.Errorf("lastWord = %q, want the ELB health-check event", got)
	}
	if got := lastWord(events[:1], "0a1b"); got != "" {
		t.Errorf("lastWord = %q, want nothing beyond the start", got)
	}
}

// A placement failure of any reason that ECS reported before the rollout,
// and will not repeat, is the cause once the rollout starts no task; as
// old news it waits for its grace, even an account quota.
func TestAssessSuppressedPlacementAnyReason(t *testing.T) {
	quota := "(service s) was unable to place a task. Reason: You've reached the limit on the number of tasks you can run concurrently. For more information, see the Troubleshooting section."
	s := svc(2, dep("ecs-svc/new", "PRIMARY", tdNew, types.DeploymentRolloutStateInProgress, 2, 0), dep("ecs-svc/old", "ACTIVE", tdOld, types.DeploymentRolloutStateCompleted, 2, 2))
	s.Events = []types.ServiceEvent{event("q", -10*time.Minute, quota)}
	r := newRollout("ecs-svc/new", tdNew, tdOld, 2, t0, false)
	if v := r.assess(s, t0.Add(3*time.Second)); v.state != waiting {
		t.Fatalf("old news failed the rollout at once: %+v", v.cause)
	}
	v := r.assess(s, t0.Add(3*time.Second+placeGrace))
	if v.state != failed || v.cause.Kind != PlacementQuota || !strings.Contains(v.cause.Message, "before this rollout") {
		t.Fatalf("state %d cause %+v, want the quota reported before the rollout", v.state, v.cause)
	}
}

// A failed target registration is not a placement: tasks that start do
// not clear it, ECS registering targets does; otherwise it is the verdict
// after the grace.
func TestAssessFailedTargetRegistration(t *testing.T) {
	const tg = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/back/0123"
	failedReg := "(service s) failed to register targets in (target-group " + tg + ") with (error Rate exceeded)"
	started := "(service s) has started 1 tasks: (task a)."
	for _, tt := range []struct {
		name  string
		later []types.ServiceEvent
		fails bool
	}{
		{"never registered", nil, true},
		{"registered on a retry", []types.ServiceEvent{event("r", 40*time.Second, "(service s) registered 1 targets in (target-group "+tg+")")}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := svc(2, dep("ecs-svc/new", "PRIMARY", tdNew, types.DeploymentRolloutStateInProgress, 2, 1))
			r := newRollout("ecs-svc/new", tdNew, tdOld, 2, t0, false)
			s.Events = []types.ServiceEvent{event("f", 2*time.Second, failedReg), event("s", time.Second, started)}
			if v := r.assess(s, t0.Add(3*time.Second)); v.state != waiting {
				t.Fatalf("failed at once: %+v", v.cause)
			}
			s.Events = append(tt.later, s.Events...)
			s.Deployments[0].RunningCount = 2
			v := r.assess(s, t0.Add(3*time.Second+placeGrace))
			if got := v.state == failed; got != tt.fails {
				t.Fatalf("failed = %v (%+v), want %v", got, v.cause, tt.fails)
			}
			if tt.fails && (v.cause.Kind != TargetRegistration || !strings.Contains(v.cause.Message, "Rate exceeded")) {
				t.Errorf("cause %+v", v.cause)
			}
		})
	}
}

// The events an UpdateService answer lists are history, except those no
// older than the call (the answer's newest deployment time): ECS may have
// said something about the change already.
func TestHistory(t *testing.T) {
	d := dep("ecs-svc/new", "PRIMARY", tdNew, types.DeploymentRolloutStateInProgress, 2, 0)
	d.CreatedAt, d.UpdatedAt = aws.Time(t0), aws.Time(t0)
	s := svc(2, d)
	s.Events = []types.ServiceEvent{event("now", 0, "(service s) was unable to place a task."), event("old", -time.Minute, "(service s) has reached a steady state.")}
	seen := map[string]bool{}
	history(seen, s)
	if !seen["old"] || seen["now"] {
		t.Errorf("seen = %v, want only the event from before the call", seen)
	}
}
