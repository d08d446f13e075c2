package deploy_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/pier-deploy/pier/internal/awsapi"
	"github.com/pier-deploy/pier/internal/deploy"
	"github.com/pier-deploy/pier/internal/report"
	"github.com/pier-deploy/pier/internal/sim"
	"github.com/pier-deploy/pier/internal/sim/lax"
)

// rounds records when pier described services: one call a round here.
type rounds struct {
	awsapi.ECS
	now func() time.Time
	mu  sync.Mutex
	at  []time.Time
}

func (r *rounds) DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, opts ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	r.mu.Lock()
	r.at = append(r.at, r.now())
	r.mu.Unlock()
	return r.ECS.DescribeServices(ctx, in, opts...)
}

// between counts the rounds after from up to and including to.
func (r *rounds) between(from, to time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, t := range r.at {
		if t.After(from) && !t.After(to) {
			n++
		}
	}
	return n
}

// Item 5: a revision that starts, runs 20 s (its tasks RUNNING, the old ones stopped) and then crashes gets its
// cause (the exit code, from the stopped task of our deployment) within two
// poll rounds of the crash, although failedTasks says nothing: ECS resets
// the circuit breaker's count once a task is healthy, and here the answers
// carry no failedTasks at all.
func TestCrashAfterAFirstSuccessCaughtWithinTwoRounds(t *testing.T) {
	e, _ := newLaxEnv(t, []lax.Option{lax.DropMembers("deployments.failedTasks")},
		sim.WithImageBehavior("backend-nginx:v2", sim.ImageBehavior{Crash: true, ExitCode: 3, CrashAfter: 20 * time.Second}))
	e.inforum(t, 100, 4096, 4096)
	_, targets, err := planOnly(e, backendSpec(t, "v2"))
	if err != nil {
		t.Fatal(err)
	}
	rec := &rounds{ECS: e.ecs, now: e.w.Clock().Now}
	l := &log{}
	d := deploy.New(rec, deploy.WithClock(e.w.Clock()), deploy.WithObserver(l), deploy.WithHTTPClient(e.srv.HTTPClient()))
	s := d.Apply(context.Background(), targets)[0]
	if s.Outcome != report.RolledBack || !strings.Contains(s.Cause, "exited with code 3") {
		t.Fatalf("%s: %s, want rolled back with the exit code as the cause\n%s", s.Outcome, s.Cause, l)
	}
	var crashed time.Time
	for _, st := range s.StoppedTasks {
		for _, c := range st.Containers {
			if c.ExitCode != nil && *c.ExitCode == 3 && (crashed.IsZero() || st.Stopped.Before(crashed)) {
				crashed = st.Stopped
			}
		}
	}
	var verdictAt time.Time
	for _, ph := range s.Phases {
		if ph.Name == "rollout" {
			verdictAt = ph.Finished
		}
	}
	if crashed.IsZero() || verdictAt.IsZero() {
		t.Fatalf("no crashed task (%v) or no rollout phase (%v) in the report: %+v", crashed, verdictAt, s)
	}
	if n := rec.between(crashed, verdictAt); n > 2 {
		t.Errorf("the cause came %d poll rounds after the crash, want at most 2\n%s", n, l)
	}
}
