package deploy

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

const (
	tdOld = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/ecs-backend-task:49"
	tdNew = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/ecs-backend-task:50"
	tdX   = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/ecs-backend-task:51"
)

var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func dep(id, status, td string, rollout types.DeploymentRolloutState, desired, running int32) types.Deployment {
	return types.Deployment{Id: aws.String(id), Status: aws.String(status), TaskDefinition: aws.String(td),
		RolloutState: rollout, DesiredCount: desired, RunningCount: running}
}

func svc(desired int32, deps ...types.Deployment) *types.Service {
	return &types.Service{Status: aws.String("ACTIVE"), DesiredCount: desired, Deployments: deps}
}

func event(id string, at time.Duration, msg string) types.ServiceEvent {
	return types.ServiceEvent{Id: aws.String(id), CreatedAt: aws.Time(t0.Add(at)), Message: aws.String(msg)}
}

func TestAssess(t *testing.T) {
	inProgress := types.DeploymentRolloutStateInProgress
	done := types.DeploymentRolloutStateCompleted
	failedState := types.DeploymentRolloutStateFailed
	tests := []struct {
		name     string
		cb       bool
		snap     *types.Service
		state    state
		kind     Kind
		has      string
		rollback string
	}{
		{name: "in progress", snap: svc(2, dep("ecs-svc/new", "PRIMARY", tdNew, inProgress, 2, 1), dep("ecs-svc/old", "ACTIVE", tdOld, done, 2, 2)), state: waiting},
		{name: "completed", snap: svc(2, dep("ecs-svc/new", "PRIMARY", tdNew, done, 2, 2)), state: completed},
		{name: "completed but old still draining counts", snap: svc(2, dep("ecs-svc/new", "PRIMARY", tdNew, done, 2, 2), dep("ecs-svc/old", "ACTIVE", tdOld, done, 0, 1)), state: completed},
		{name: "no rolloutState, single deployment all running", snap: svc(2, dep("ecs-svc/new", "PRIMARY", tdNew, "", 2, 2)), state: waiting},
		{name: "no rolloutState, single deployment all running, steady", snap: func() *types.Service {
			s := svc(2, dep("ecs-svc/new", "PRIMARY", tdNew, "", 2, 2))
			s.Events = []types.ServiceEvent{event("e1", 30*time.Second, "(service ecs-backend-service) has reached a steady state.")}
			return s
		}(), state: completed},
		{name: "no rolloutState, old still there", snap: svc(2, dep("ecs-svc/new", "PRIMARY", tdNew, "", 2, 2), dep("ecs-svc/old", "ACTIVE", tdOld, "", 0, 1)), state: waiting},
		{name: "circuit breaker rolled back", cb: true,
			snap: svc(2, dep("ecs-svc/rb", "PRIMARY", tdOld, inProgress, 2, 0), func() types.Deployment {
				d := dep("ecs-svc/new", "ACTIVE", tdNew, failedState, 2, 0)
				d.RolloutStateReason = aws.String("ECS deployment circuit breaker: tasks failed to start.")
				return d
			}()),
			state: failed, kind: CircuitBreaker, has: "failed deployment ecs-svc/new and started a rollback to ecs-backend-task:49", rollback: "ecs-svc/rb"},
		{name: "rolled back to completed is still a failure", cb: true,
			snap:  svc(2, dep("ecs-svc/rb", "PRIMARY", tdOld, done, 2, 2)),
			state: failed, kind: CircuitBreaker, rollback: "ecs-svc/rb"},
		{name: "failed without rollback", snap: svc(2, func() types.Deployment {
			d := dep("ecs-svc/new", "PRIMARY", tdNew, failedState, 2, 0)
			d.RolloutStateReason = aws.String("tasks failed to start")
			return d
		}()),
			state: failed, kind: DeploymentFailed, has: "tasks failed to start"},
		{name: "superseded", snap: svc(2, dep("ecs-svc/other", "PRIMARY", tdX, inProgress, 2, 0), dep("ecs-svc/new", "ACTIVE", tdNew, inProgress, 2, 1)),
			state: failed, kind: Superseded, has: "ecs-backend-task:51"},
		{name: "superseded by the old revision without circuit breaker", snap: svc(2, dep("ecs-svc/other", "PRIMARY", tdOld, inProgress, 2, 0), dep("ecs-svc/new", "ACTIVE", tdNew, inProgress, 2, 1)),
			state: failed, kind: Superseded},
		{name: "desired count zero", snap: svc(0, dep("ecs-svc/new", "PRIMARY", tdNew, inProgress, 0, 0)), state: failed, kind: ScaledToZero},
		{name: "draining service", snap: func() *types.Service {
			s := svc(2, dep("ecs-svc/new", "PRIMARY", tdNew, inProgress, 2, 0))
			s.Status = aws.String("DRAINING")
			return s
		}(), state: failed, kind: ServiceGone},
		{name: "a placement event is news, not yet a verdict", snap: func() *types.Service {
			s := svc(2, dep("ecs-svc/new", "PRIMARY", tdNew, inProgress, 2, 0), dep("ecs-svc/old", "ACTIVE", tdOld, done, 2, 2))
			s.Events = []types.ServiceEvent{event("e2", 20*time.Second, "(service ecs-backend-service) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance 0f1e) has insufficient CPU units available. For more information, see the Troubleshooting section."),
				event("e1", -time.Hour, "(service ecs-backend-service) was unable to place a task because no container instance met all of its requirements. Reason: old news.")}
			return s
		}(), state: waiting},
		{name: "events older than the rollout are history", snap: func() *types.Service {
			s := svc(2, dep("ecs-svc/new", "PRIMARY", tdNew, inProgress, 2, 0))
			s.Events = []types.ServiceEvent{event("e1", -time.Minute, "(service ecs-backend-service) is unable to consistently start tasks successfully.")}
			return s
		}(), state: waiting},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRollout("ecs-svc/new", tdNew, tdOld, 2, t0, tt.cb)
			v := r.assess(tt.snap, t0.Add(time.Minute))
			if v.state != tt.state || v.cause.Kind != tt.kind {
				t.Fatalf("assess = state %d cause %+v, want state %d kind %q", v.state, v.cause, tt.state, tt.kind)
			}
			if !strings.Contains(v.cause.Message, tt.has) {
				t.Errorf("cause %q does not mention %q", v.cause.Message, tt.has)
			}
			if v.rollback != tt.rollback {
				t.Errorf("rollback = %q, want %q", v.rollback, tt.rollback)
			}
		})
	}
}

func TestAssessEventsOnceAndInOrder(t *testing.T) {
	r := newRollout("ecs-svc/new", tdNew, tdOld, 1, t0, false)
	s := svc(1, dep("ecs-svc/new", "PRIMARY", tdNew, types.DeploymentRolloutStateInProgress, 1, 0))
	s.Events = []types.ServiceEvent{event("b", 2*time.Second, "(service s) has started 1 tasks: (task t)."), event("a", time.Second, "(service s) registered 1 targets")}
	v := r.assess(s, t0)
	if len(v.events) != 2 || str(v.events[0].Id) != "a" {
		t.Fatalf("first snapshot events = %v, want a then b", v.events)
	}
	if v = r.assess(s, t0); len(v.events) != 0 {
		t.Fatalf("second snapshot repeats %d events", len(v.events))
	}
	s.Deployments[0].FailedTasks = 1
	if v = r.assess(s, t0); !v.checkStopped {
		t.Fatal("a new failed task should ask for stopped reasons")
	}
	s.Deployments[0].RunningCount = 1
	if v = r.assess(s, t0); v.checkStopped {
		t.Fatal("the same failed task asked twice")
	}
}

// failedTasks is no reliable trigger (resetOnHealthyTask): a running count
// that falls, or stops rising short of the goal, asks for stopped tasks too.
func TestAssessAsksForStoppedTasks(t *testing.T) {
	inProgress := types.DeploymentRolloutStateInProgress
	tests := []struct {
		name    string
		running []int32 // our deployment's running count, round by round
		failed  []int32 // its failedTasks
		want    []bool  // whether each round asks for stopped tasks
	}{
		{"rising", []int32{0, 1, 2}, []int32{0, 0, 0}, []bool{false, false, false}},
		{"crash after the first task ran, failedTasks reset", []int32{0, 1, 0}, []int32{0, 0, 0}, []bool{false, false, true}},
		{"stops rising short of the goal", []int32{0, 1, 1, 1}, []int32{0, 0, 0, 0}, []bool{false, false, true, true}},
		{"at the goal a steady count asks nothing", []int32{1, 2, 2}, []int32{0, 0, 0}, []bool{false, false, false}},
		{"failedTasks rises while the count rises", []int32{0, 1}, []int32{0, 1}, []bool{false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRollout("ecs-svc/new", tdNew, tdOld, 2, t0, false)
			for i, n := range tt.running {
				d := dep("ecs-svc/new", "PRIMARY", tdNew, inProgress, 2, n)
				d.FailedTasks = tt.failed[i]
				v := r.assess(svc(2, d), t0.Add(time.Duration(i)*3*time.Second))
				if v.checkStopped != tt.want[i] {
					t.Errorf("round %d (running %d, failed %d): checkStopped = %v, want %v", i, n, tt.failed[i], v.checkStopped, tt.want[i])
				}
			}
		})
	}
}

func TestRestoredOn(t *testing.T) {
	done := types.DeploymentRolloutStateCompleted
	tests := []struct {
		name string
		snap *types.Service
		want bool
	}{
		{"rollback completed", svc(2, dep("rb", "PRIMARY", tdOld, done, 2, 2)), true},
		{"old tasks still serve while the rollback cannot place", svc(2, dep("rb", "PRIMARY", tdOld, types.DeploymentRolloutStateInProgress, 2, 0), dep("old", "ACTIVE", tdOld, done, 2, 2), dep("new", "ACTIVE", tdNew, types.DeploymentRolloutStateFailed, 0, 0)), true},
		{"a new task still runs", svc(2, dep("rb", "PRIMARY", tdOld, types.DeploymentRolloutStateInProgress, 2, 1), dep("new", "ACTIVE", tdNew, "", 0, 1)), false},
		{"short of tasks", svc(2, dep("rb", "PRIMARY", tdOld, types.DeploymentRolloutStateInProgress, 2, 1)), false},
	}
	for _, tt := range tests {
		if got := restoredOn(tt.snap, tdOld, 2, 2); got != tt.want {
			t.Errorf("%s: restoredOn = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestAssessPlacementWhenOldTasksMayStop(t *testing.T) {
	place := "(service s) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance c1) has insufficient CPU units available."
	snap := func(running int32, events ...types.ServiceEvent) *types.Service {
		s := svc(2, dep("ecs-svc/new", "PRIMARY", tdNew, types.DeploymentRolloutStateInProgress, 2, running), dep("ecs-svc/old", "ACTIVE", tdOld, types.DeploymentRolloutStateCompleted, 2, 2-running))
		s.Events = events
		return s
	}
	t.Run("progress clears it", func(t *testing.T) {
		r := newRollout("ecs-svc/new", tdNew, tdOld, 2, t0, false)
		r.mayStopOld = true
		if v := r.assess(snap(0, event("p", time.Second, place)), t0.Add(3*time.Second)); v.state != waiting {
			t.Fatalf("a placement event with old tasks to stop ended the wait: %+v", v.cause)
		}
		if v := r.assess(snap(1), t0.Add(10*time.Minute)); v.state != waiting {
			t.Fatalf("progress after the event still failed: %+v", v.cause)
		}
	})
	t.Run("no progress makes it fatal", func(t *testing.T) {
		r := newRollout("ecs-svc/new", tdNew, tdOld, 2, t0, false)
		r.mayStopOld = true
		r.assess(snap(0, event("p", time.Second, place)), t0.Add(3*time.Second))
		if v := r.assess(snap(0), t0.Add(time.Minute)); v.state != waiting {
			t.Fatalf("failed before the grace: %+v", v.cause)
		}
		if v := r.assess(snap(0), t0.Add(3*time.Second+placeGrace)); v.state != failed || v.cause.Kind != CannotPlace || !strings.Contains(v.cause.Message, "container-instance c1") {
			t.Fatalf("after the grace: state %d cause %+v", v.state, v.cause)
		}
	})
}

func TestAssessPlacementWhenNothingCanFreeRoom(t *testing.T) {
	place := "(service s) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance c1) has insufficient CPU units available."
	snap := func(events ...types.ServiceEvent) *types.Service {
		s := svc(2, dep("ecs-svc/new", "PRIMARY", tdNew, types.DeploymentRolloutStateInProgress, 2, 0), dep("ecs-svc/old", "ACTIVE", tdOld, types.DeploymentRolloutStateCompleted, 2, 2))
		s.Events = events
		return s
	}
	t.Run("stuck", func(t *testing.T) {
		r := newRollout("ecs-svc/new", tdNew, tdOld, 2, t0, false)
		r.assess(snap(event("p", time.Second, place)), t0.Add(3*time.Second))
		if v := r.assess(snap(), t0.Add(3*time.Second+placeGraceStuck)); v.state != failed || v.cause.Kind != CannotPlace {
			t.Fatalf("after %s: state %d cause %+v", placeGraceStuck, v.state, v.cause)
		}
	})
	t.Run("room appears: ECS starts the task", func(t *testing.T) {
		r := newRollout("ecs-svc/new", tdNew, tdOld, 2, t0, false)
		r.assess(snap(event("p", time.Second, place)), t0.Add(3*time.Second))
		r.assess(snap(event("s", 8*time.Second, "(service s) has started 1 tasks: (task t1).")), t0.Add(9*time.Second))
		if v := r.assess(snap(), t0.Add(10*time.Minute)); v.state != waiting {
			t.Fatalf("a transient placement failure ended the wait: %+v", v.cause)
		}
	})
}

func TestAssessPlacementAfterAStartGetsItsOwnGrace(t *testing.T) {
	place := "(service s) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance c1) has insufficient memory available."
	s := svc(2, dep("ecs-svc/new", "PRIMARY", tdNew, types.DeploymentRolloutStateInProgress, 2, 0))
	r := newRollout("ecs-svc/new", tdNew, tdOld, 2, t0, false)
	s.Events = []types.ServiceEvent{event("p1", time.Second, place)}
	r.assess(s, t0.Add(2*time.Second))
	// One task started, then the second cannot be placed (newest first, as ECS lists them).
	s.Events = []types.ServiceEvent{event("p2", 21*time.Second, place), event("s1", 20*time.Second, "(service s) has started 1 tasks: (task a).")}
	if v := r.assess(s, t0.Add(22*time.Second)); v.state != waiting {
		t.Fatalf("failed right after progress: %+v", v.cause)
	}
	if v := r.assess(svc(2, dep("ecs-svc/new", "PRIMARY", tdNew, types.DeploymentRolloutStateInProgress, 2, 0)), t0.Add(40*time.Second)); v.state != waiting {
		t.Fatalf("the second failure did not get its own grace: %+v", v.cause)
	}
	if v := r.assess(svc(2, dep("ecs-svc/new", "PRIMARY", tdNew, types.DeploymentRolloutStateInProgress, 2, 0)), t0.Add(22*time.Second+placeGraceStuck)); v.state != failed || !strings.Contains(v.cause.Message, "insufficient memory") {
		t.Fatalf("after its grace: state %d cause %+v", v.state, v.cause)
	}
}

// Preflight found no room before the change: ECS's placement failure
// confirms it and is the verdict in the same round, not 30 s later.
func TestAssessPlacementPreflightPredicted(t *testing.T) {
	place := "(service s) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance c1) has insufficient CPU units available."
	snap := func(running int32, events ...types.ServiceEvent) *types.Service {
		s := svc(2, dep("ecs-svc/new", "PRIMARY", tdNew, types.DeploymentRolloutStateInProgress, 2, running), dep("ecs-svc/old", "ACTIVE", tdOld, types.DeploymentRolloutStateCompleted, 2, 2))
		s.Events = events
		return s
	}
	r := newRollout("ecs-svc/new", tdNew, tdOld, 2, t0, false)
	r.noRoom = true
	if v := r.assess(snap(0), t0.Add(3*time.Second)); v.state != waiting {
		t.Fatalf("failed before ECS said anything: %+v", v.cause)
	}
	v := r.assess(snap(0, event("p", 4*time.Second, place)), t0.Add(6*time.Second))
	if v.state != failed || v.cause.Kind != CannotPlace || !strings.Contains(v.cause.Message, "container-instance c1") || !strings.Contains(v.cause.Message, "preflight") {
		t.Fatalf("state %d cause %+v, want the placement failure at once", v.state, v.cause)
	}
	// Once a task of ours started, room appeared after all: a later failure
	// to place gets the usual grace.
	r = newRollout("ecs-svc/new", tdNew, tdOld, 2, t0, false)
	r.noRoom = true
	if v := r.assess(snap(1, event("p", 4*time.Second, place)), t0.Add(6*time.Second)); v.state != waiting {
		t.Fatalf("failed although a task of ours runs: %+v", v.cause)
	}
}

// ECS reported "unable to place" before the rollout and suppresses the
// repeat: the old event is the cause once the rollout starts no task.
func TestAssessSuppressedPlacementEvent(t *testing.T) {
	place := "(service s) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance c1) is missing an attribute required by your task."
	started := "(service s) has started 1 tasks: (task t1)."
	snap := func(running int32, events ...types.ServiceEvent) *types.Service {
		s := svc(2, dep("ecs-svc/new", "PRIMARY", tdNew, types.DeploymentRolloutStateInProgress, 2, running), dep("ecs-svc/old", "ACTIVE", tdOld, types.DeploymentRolloutStateCompleted, 2, 2))
		s.Events = events // newest first, as ECS lists them
		return s
	}
	tests := []struct {
		name    string
		events  []types.ServiceEvent
		running int32
		noRoom  bool
		at      time.Duration // when the snapshot that must fail is read
		fails   bool
	}{
		{"stuck since before the rollout", []types.ServiceEvent{event("p", -10*time.Minute, place)}, 0, false, placeGraceStuck + 3*time.Second, true},
		{"preflight found no room", []types.ServiceEvent{event("p", -10*time.Minute, place)}, 0, true, 3 * time.Second, true},
		{"a task started after it", []types.ServiceEvent{event("s", -5*time.Minute, started), event("p", -10*time.Minute, place)}, 0, false, time.Hour, false},
		{"older than ECS keeps quiet", []types.ServiceEvent{event("p", -7*time.Hour, place)}, 0, false, time.Hour, false},
		{"our rollout makes progress", []types.ServiceEvent{event("p", -10*time.Minute, place)}, 1, false, time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRollout("ecs-svc/new", tdNew, tdOld, 2, t0, false)
			r.noRoom = tt.noRoom
			first := r.assess(snap(0, tt.events...), t0.Add(3*time.Second))
			if len(first.events) != 0 {
				t.Errorf("events before the rollout were reported as news: %v", first.events)
			}
			v := first
			if tt.at > 3*time.Second {
				v = r.assess(snap(tt.running), t0.Add(tt.at))
			}
			if got := v.state == failed; got != tt.fails {
				t.Fatalf("failed = %v (%+v), want %v", got, v.cause, tt.fails)
			}
			if tt.fails && (v.cause.Kind != CannotPlace || !strings.Contains(v.cause.Message, "missing an attribute") || !strings.Contains(v.cause.Message, "before this rollout")) {
				t.Errorf("cause %+v", v.cause)
			}
		})
	}
}

// While room is on its way (a task stopping, a new target in its first
// health checks), a placement failure does not count against its grace.
func TestAssessPlacementWhileRoomIsComing(t *testing.T) {
	place := "(service s) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance c1) has insufficient CPU units available."
	s := svc(2, dep("ecs-svc/new", "PRIMARY", tdNew, types.DeploymentRolloutStateInProgress, 2, 0), dep("ecs-svc/old", "ACTIVE", tdOld, types.DeploymentRolloutStateCompleted, 2, 1))
	coming := true
	r := newRollout("ecs-svc/new", tdNew, tdOld, 2, t0, false)
	r.mayStopOld = true
	r.roomComing = func(*types.Service) bool { return coming }
	s.Events = []types.ServiceEvent{event("p", time.Second, place)}
	r.assess(s, t0.Add(3*time.Second))
	s.Events = nil
	if v := r.assess(s, t0.Add(10*time.Minute)); v.state != waiting {
		t.Fatalf("failed while room was on its way: %+v", v.cause)
	}
	coming = false
	if v := r.assess(s, t0.Add(10*time.Minute+placeGrace-time.Second)); v.state != waiting {
		t.Fatalf("failed before the grace counted from when room stopped coming: %+v", v.cause)
	}
	if v := r.assess(s, t0.Add(10*time.Minute+placeGrace)); v.state != failed || v.cause.Kind != CannotPlace {
		t.Fatalf("state %d cause %+v, want the placement failure", v.state, v.cause)
	}
}
