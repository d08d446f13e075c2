package deploy_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/pier-deploy/pier/internal/deploy"
	"github.com/pier-deploy/pier/internal/report"
	"github.com/pier-deploy/pier/internal/sim"
)

// One poll loop for the whole run: every round describes all waiting
// services with one DescribeServices call per ten of them.
func TestOnePollLoopBatchesDescribeServices(t *testing.T) {
	for _, n := range []int{1, 10, 25} {
		e := newEnv(t)
		specs := e.fleet(t, n)
		e.w.ResetCalls()
		_, run, d := e.deploy(t, context.Background(), nil, specs("v2")...)
		if run.Result != report.Success {
			t.Fatalf("%d services: %s %s", n, run.Result, run.Cause)
		}
		perRound := (n + 9) / 10
		rounds, calls := d.Rounds()
		if rounds == 0 || calls != perRound*rounds {
			t.Errorf("%d services: %d DescribeServices calls over %d rounds, want %d per round", n, calls, rounds, perRound)
		}
		// The simulator sees the same calls (plus the plan's look, plus any
		// transport-level retry of the SDK).
		if seen := e.w.Calls()["ecs.DescribeServices"]; seen < calls+perRound {
			t.Errorf("the simulator saw %d DescribeServices, pier counted %d", seen, calls+perRound)
		}
	}
}

// Throttling that outlasts the SDK's retries (here: no SDK retries at all)
// only costs the loop a round; the verdict is the same.
func TestPollLoopRidesOutThrottling(t *testing.T) {
	e := newEnvConfig(t, func(c *aws.Config) { c.Retryer = nil; c.RetryMaxAttempts = 1 })
	e.inforum(t, 100, 4096, 4096)
	_, targets, err := planOnly(e, backendSpec(t, "v2"))
	if err != nil {
		t.Fatal(err)
	}
	// Only the waiting is throttled: a throttled UpdateService without
	// retries would fail the run before it changed anything.
	e.w.SetFaults(sim.Faults{ThrottleRate: 0.6, Operations: []string{"DescribeServices"}})
	l := &log{}
	d := deploy.New(e.ecs, deploy.WithClock(e.w.Clock()), deploy.WithObserver(l))
	got := d.Apply(context.Background(), targets)[0]
	if got.Outcome != report.Success {
		t.Fatalf("outcome %s (%s)\n%s", got.Outcome, got.Cause, l)
	}
	if !strings.Contains(l.String(), "retrying next round") {
		t.Errorf("no throttled round was reported:\n%s", l)
	}
}
