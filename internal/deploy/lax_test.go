package deploy_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/pier-deploy/pier/internal/awsapi"
	"github.com/pier-deploy/pier/internal/report"
	"github.com/pier-deploy/pier/internal/sim"
	"github.com/pier-deploy/pier/internal/sim/lax"
)

// newLaxEnv is newEnv with pier's ECS client talking to the simulator
// through a lax proxy: an ECS that answers as the API contract allows
// rather than as our simulator happens to.
func newLaxEnv(t testing.TB, laxOpts []lax.Option, opts ...sim.Option) (*env, *lax.Proxy) {
	t.Helper()
	e := newEnv(t, opts...)
	p := lax.New(e.w, laxOpts...)
	ts := httptest.NewServer(p)
	t.Cleanup(ts.Close)
	cfg := e.srv.AWSConfig()
	cfg.BaseEndpoint = &ts.URL
	cfg.HTTPClient = ts.Client()
	cfg.Retryer = awsapi.Retryer(2 * time.Millisecond)
	e.ecs = ecs.NewFromConfig(cfg)
	return e, p
}

// verdictCase is one run against a lax ECS, judged three ways: the exit
// code, the cause, and the revision the service runs at the end.
type verdictCase struct {
	exit  int
	cause string
	final string
}

func (c verdictCase) check(t *testing.T, e *env, got report.Service, l *log) {
	t.Helper()
	if code := got.Outcome.ExitCode(); code != c.exit {
		t.Fatalf("exit %d (%s: %s), want %d\n%s", code, got.Outcome, got.Cause, c.exit, l)
	}
	if !strings.Contains(got.Cause, c.cause) {
		t.Errorf("cause %q, want it to say %q", got.Cause, c.cause)
	}
	if got.Final.String() != c.final {
		t.Errorf("report says the service ends on %s, want %s", got.Final, c.final)
	}
	if td, _, _ := e.running(t, got.Service); td != c.final {
		t.Errorf("service runs %s, want %s", td, c.final)
	}
}

// Item 1: the verdict follows the deployment of the revision pier set,
// never the PRIMARY of the UpdateService answer.
func TestLaxVerdictFollowsOurDeployment(t *testing.T) {
	for _, tt := range []struct {
		name string
		lax  []lax.Option
		want verdictCase
	}{
		{"no deployment ever appears", []lax.Option{lax.NoDeployment("ecs-backend-task:2")},
			verdictCase{5, "ECS started no deployment of ecs-backend-task:2; the service still runs ecs-backend-task:1", "ecs-backend-task:1"}},
		{"the deployment shows only after pier gave up", []lax.Option{lax.LateDeployment("ecs-backend-task:2", 30)},
			verdictCase{5, "ECS started no deployment of ecs-backend-task:2; the service still runs ecs-backend-task:1", "ecs-backend-task:1"}},
		{"the answer shows the old PRIMARY", []lax.Option{lax.OldPrimary()},
			verdictCase{0, "", "ecs-backend-task:2"}},
		{"the deployment shows two rounds late", []lax.Option{lax.LateDeployment("ecs-backend-task:2", 2)},
			verdictCase{0, "", "ecs-backend-task:2"}},
		{"old PRIMARY, unsorted lists, no rolloutState", []lax.Option{lax.OldPrimary(), lax.ListOrder(lax.Shuffled, 7, 1),
			lax.DropMembers("deployments.rolloutState")},
			verdictCase{0, "", "ecs-backend-task:2"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := newLaxEnv(t, tt.lax)
			e.inforum(t, 100, 4096, 4096)
			l := &log{}
			_, run, _ := e.deploy(t, context.Background(), l, backendSpec(t, "v2"))
			// Past any mask of the proxy: the service as ECS keeps it.
			e.w.Clock().Advance(10 * time.Minute)
			for range 40 {
				e.running(t, "backend")
			}
			tt.want.check(t, e, run.Services[0], l)
		})
	}
}
