package deploy

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Which deployment of an answer or snapshot is the one our UpdateService
// started: never one that was there before, never one created before the
// newest deployment ECS showed before the call, and with no new revision
// and no force, the PRIMARY of ours.
func TestFollowingPicksOnlyTheDeploymentTheCallStarted(t *testing.T) {
	at := func(d time.Duration) *time.Time { return aws.Time(t0.Add(d)) }
	with := func(d types.Deployment, created *time.Time) types.Deployment { d.CreatedAt = created; return d }
	old := with(dep("ecs-svc/old", "PRIMARY", tdOld, types.DeploymentRolloutStateCompleted, 2, 2), at(-time.Hour))
	before := svc(2, old)
	for _, tt := range []struct {
		name    string
		taskDef string
		force   bool
		after   []types.Deployment
		want    string
	}{
		{"new revision: the new deployment", tdNew, false,
			[]types.Deployment{with(dep("ecs-svc/new", "PRIMARY", tdNew, "", 2, 0), at(0)), with(dep("ecs-svc/old", "ACTIVE", tdOld, "", 2, 2), at(-time.Hour))}, "ecs-svc/new"},
		{"new revision: the answer still shows the old PRIMARY", tdNew, false, []types.Deployment{old}, ""},
		{"forced, same revision: an id from before is not ours", tdOld, true, []types.Deployment{old}, ""},
		{"forced, same revision: a new id is ours", tdOld, true,
			[]types.Deployment{with(dep("ecs-svc/again", "PRIMARY", tdOld, "", 2, 0), at(time.Second)), with(dep("ecs-svc/old", "ACTIVE", tdOld, "", 2, 2), at(-time.Hour))}, "ecs-svc/again"},
		{"forced: a new id created before the call is not ours", tdOld, true,
			[]types.Deployment{with(dep("ecs-svc/stale", "PRIMARY", tdOld, "", 2, 0), at(-2*time.Hour)), old}, ""},
		{"forced: no createdAt, matched by id alone", tdOld, true,
			[]types.Deployment{dep("ecs-svc/again", "PRIMARY", tdOld, "", 2, 0), old}, "ecs-svc/again"},
		{"another revision than ours is not ours", tdNew, false,
			[]types.Deployment{with(dep("ecs-svc/x", "PRIMARY", tdX, "", 2, 0), at(0)), old}, ""},
		{"a new count only: the PRIMARY of ours", tdOld, false, []types.Deployment{old}, "ecs-svc/old"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFollowing(before, tt.taskDef, tt.force)
			got := ""
			if d := f.pick(tt.after, tt.taskDef); d != nil {
				got = str(d.Id)
			}
			if got != tt.want {
				t.Errorf("pick = %q, want %q", got, tt.want)
			}
		})
	}
}

// No deployment of ours for noDeploymentRounds snapshots is the verdict,
// naming the revision the service still runs; one that shows up in time
// is followed.
func TestNotStartedAfterABoundedWait(t *testing.T) {
	snap := svc(2, dep("ecs-svc/old", "PRIMARY", tdOld, types.DeploymentRolloutStateCompleted, 2, 2))
	r := newRollout("", tdNew, tdOld, 2, t0, false)
	r.follow = newFollowing(snap, tdNew, false)
	for i := 1; i < noDeploymentRounds; i++ {
		if v := r.assess(snap, t0.Add(time.Duration(i)*3*time.Second)); v.state != waiting {
			t.Fatalf("round %d: state %d (%s), want waiting", i, v.state, v.cause.Message)
		}
	}
	v := r.assess(snap, t0.Add(time.Minute))
	if v.state != failed || v.cause.Kind != NoDeployment || v.cause.Message != "ECS started no deployment of ecs-backend-task:50; the service still runs ecs-backend-task:49" {
		t.Fatalf("after %d rounds: state %d, cause %+v", noDeploymentRounds, v.state, v.cause)
	}

	r = newRollout("", tdNew, tdOld, 2, t0, false)
	r.follow = newFollowing(snap, tdNew, false)
	r.assess(snap, t0)
	late := svc(2, dep("ecs-svc/new", "PRIMARY", tdNew, types.DeploymentRolloutStateCompleted, 2, 2))
	if v := r.assess(late, t0.Add(3*time.Second)); v.state != completed || r.deployment != "ecs-svc/new" {
		t.Fatalf("a deployment shown a round late: state %d (%s), following %q", v.state, v.cause.Message, r.deployment)
	}
}
