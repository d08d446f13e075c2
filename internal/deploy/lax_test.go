package deploy_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/pier-deploy/pier/internal/awsapi"
	"github.com/pier-deploy/pier/internal/deploy"
	"github.com/pier-deploy/pier/internal/plan"
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

// taskIDs are the simulator's task ids, which causes name.
var taskIDs = regexp.MustCompile(`task [0-9a-f]{32}`)

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
	if !strings.Contains(taskIDs.ReplaceAllString(got.Cause, "task T"), c.cause) {
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

// Item 2: the rollback target and keepRevisions never depend on
// ListTaskDefinitions honouring `sort` (ECS may list in any order).
func TestLaxRevisionsInAnyOrder(t *testing.T) {
	for _, tt := range []struct {
		name  string
		order lax.Order
		page  int
	}{
		{"ascending although sort=DESC", lax.Reversed, 0},
		{"shuffled, one revision a page", lax.Shuffled, 1},
		{"shuffled, two a page", lax.Shuffled, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := newLaxEnv(t, []lax.Option{lax.ListOrder(tt.order, 3, tt.page)})
			e.inforum(t, 100, 4096, 4096)
			for _, v := range []string{"v2", "v3"} {
				if _, run, _ := e.deploy(t, context.Background(), nil, backendSpec(t, v)); run.Result != report.Success {
					t.Fatalf("deploy %s: %s %s", v, run.Result, run.Services[0].Cause)
				}
			}
			target, err := deploy.RollbackTarget(e.ctx, e.ecs, deploy.Ref{Name: "backend", Service: "backend", Cluster: "inforum", Strategy: "rolling"}, 20*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if target.Plan.Target.String() != "ecs-backend-task:2" {
				t.Fatalf("rollback target %s, want ecs-backend-task:2 (the newest ACTIVE below :3)", target.Plan.Target)
			}
			l := &log{}
			got := deploy.New(e.ecs, deploy.WithClock(e.w.Clock()), deploy.WithObserver(l)).Apply(context.Background(), []deploy.Target{target})[0]
			verdictCase{0, "", "ecs-backend-task:2"}.check(t, e, got, l)

			// keepRevisions 2 after :4 and :5: the two newest stay, whatever the order.
			for _, v := range []string{"v4", "v5"} {
				spec := backendSpec(t, v)
				spec.KeepRevisions = 2
				_, run, _ := e.deploy(t, context.Background(), l, spec)
				verdictCase{0, "", "ecs-backend-task:" + map[string]string{"v4": "4", "v5": "5"}[v]}.check(t, e, run.Services[0], l)
			}
			out := must(e.ecs.ListTaskDefinitions(e.ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("ecs-backend-task")}))(t)
			var active []string
			for tok := out.NextToken; ; tok = out.NextToken {
				for _, a := range out.TaskDefinitionArns {
					active = append(active, shortTD(a))
				}
				if tok == nil {
					break
				}
				out = must(e.ecs.ListTaskDefinitions(e.ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("ecs-backend-task"), NextToken: tok}))(t)
			}
			sort.Strings(active)
			if strings.Join(active, " ") != "ecs-backend-task:4 ecs-backend-task:5" {
				t.Errorf("ACTIVE revisions after keepRevisions 2: %v, want :4 and :5", active)
			}
		})
	}
}

// Item 6: after ECS's circuit breaker rolls back, the FAILED deployment
// may still be listed while it drains, or already be gone: the verdict and
// cause are the same. Stopped tasks show late (so ECS's rollback is what
// pier sees first): a few rounds late, pier reads the reason while the
// rollback settles; later than the rollback, the cause is ECS's alone.
func TestLaxFailedDeploymentMayStayOrGo(t *testing.T) {
	// Only the essential nginx crashes: the simulator now lets a
	// non-essential container (springboot) crash too, which would add a
	// second exit to the cause.
	crash := []sim.Option{sim.WithImageBehavior("backend-nginx:v2", sim.ImageBehavior{Crash: true, ExitCode: 1})}
	for _, hide := range []struct {
		calls int    // ListTasks calls for STOPPED tasks answered with none
		cause string // after the deployment id
	}{
		{6, " and started a rollback to ecs-backend-task:1; task T: essential container nginx exited with code 1; rolled back to ecs-backend-task:1"},
		{40, " and started a rollback to ecs-backend-task:1; rolled back to ecs-backend-task:1"},
	} {
		var causes []string
		for _, tt := range []struct {
			name string
			lax  []lax.Option
		}{
			{"listed while it drains", nil},
			{"gone at the first look", []lax.Option{lax.VanishFailed(0)}},
			{"gone after one look", []lax.Option{lax.VanishFailed(1)}},
			{"gone, without rolloutState", []lax.Option{lax.VanishFailed(0), lax.DropMembers("deployments.rolloutState")}},
		} {
			t.Run(fmt.Sprintf("%s, stopped tasks %d calls late", tt.name, hide.calls), func(t *testing.T) {
				e, _ := newLaxEnv(t, append([]lax.Option{lax.StoppedLate(hide.calls)}, tt.lax...), crash...)
				e.inforum(t, 100, 4096, 4096)
				l := &log{}
				_, run, _ := e.deploy(t, context.Background(), l, backendSpec(t, "v2"))
				got := run.Services[0]
				verdictCase{3, "ECS's circuit breaker failed deployment " + got.Deployment + hide.cause, "ecs-backend-task:1"}.check(t, e, got, l)
				causes = append(causes, strings.ReplaceAll(got.Cause, got.Deployment, "ID"))
			})
		}
		for i := 1; i < len(causes); i++ {
			if causes[i] != causes[0] {
				t.Errorf("cause %d differs:\n%s\nwant (as when the FAILED deployment is listed)\n%s", i, causes[i], causes[0])
			}
		}
	}
}

// Item 3: a member the API reference calls optional, missing on the wire,
// reads as ECS's documented default, and the verdict stays true.
func TestLaxMissingMembersReadAsDefaults(t *testing.T) {
	for _, tt := range []struct {
		name       string
		drop       []string
		spec       func(testing.TB, string) deploy.Spec
		minHealthy int32 // the service's real configuration
		config     plan.DeploymentConfig
		count      int32 // the desired count the plan reads
		want       verdictCase
	}{
		{name: "no deploymentConfiguration", drop: []string{"deploymentConfiguration"}, spec: backendSpec, minHealthy: 100,
			config: plan.DeploymentConfig{MinimumHealthyPercent: 100, MaximumPercent: 200}, count: 2, want: verdictCase{0, "", "ecs-backend-task:2"}},
		{name: "no minimumHealthyPercent", drop: []string{"deploymentConfiguration.minimumHealthyPercent"}, spec: backendSpec, minHealthy: 50,
			config: plan.DeploymentConfig{MinimumHealthyPercent: 100, MaximumPercent: 200, CircuitBreaker: true, Rollback: true}, count: 2,
			want: verdictCase{0, "", "ecs-backend-task:2"}},
		{name: "no maximumPercent", drop: []string{"deploymentConfiguration.maximumPercent"}, spec: backendSpec, minHealthy: 100,
			config: plan.DeploymentConfig{MinimumHealthyPercent: 100, MaximumPercent: 200, CircuitBreaker: true, Rollback: true}, count: 2,
			want: verdictCase{0, "", "ecs-backend-task:2"}},
		{name: "no circuit breaker member", drop: []string{"deploymentConfiguration.deploymentCircuitBreaker"}, spec: backendSpec, minHealthy: 100,
			config: plan.DeploymentConfig{MinimumHealthyPercent: 100, MaximumPercent: 200}, count: 2, want: verdictCase{0, "", "ecs-backend-task:2"}},
		{name: "no rolloutState", drop: []string{"deployments.rolloutState", "deployments.rolloutStateReason"}, spec: backendSpec, minHealthy: 100,
			config: plan.DeploymentConfig{MinimumHealthyPercent: 100, MaximumPercent: 200, CircuitBreaker: true, Rollback: true}, count: 2,
			want: verdictCase{0, "", "ecs-backend-task:2"}},
		{name: "no desiredCount on the service", drop: []string{"desiredCount"}, spec: frontendSpec, minHealthy: 100,
			config: plan.DeploymentConfig{MinimumHealthyPercent: 100, MaximumPercent: 200, CircuitBreaker: true, Rollback: true}, count: 1,
			want: verdictCase{0, "", "ecs-front-task:2"}},
		{name: "no desiredCount anywhere", drop: []string{"desiredCount", "deployments.desiredCount"}, spec: frontendSpec, minHealthy: 100,
			config: plan.DeploymentConfig{MinimumHealthyPercent: 100, MaximumPercent: 200, CircuitBreaker: true, Rollback: true}, count: 0,
			want: verdictCase{0, "", "ecs-front-task:2"}},
		{name: "no events, no times", drop: []string{"events", "deployments.createdAt", "deployments.updatedAt", "createdAt"}, spec: backendSpec, minHealthy: 100,
			config: plan.DeploymentConfig{MinimumHealthyPercent: 100, MaximumPercent: 200, CircuitBreaker: true, Rollback: true}, count: 2,
			want: verdictCase{0, "", "ecs-backend-task:2"}},
		{name: "events without createdAt", drop: []string{"events.createdAt"}, spec: backendSpec, minHealthy: 100,
			config: plan.DeploymentConfig{MinimumHealthyPercent: 100, MaximumPercent: 200, CircuitBreaker: true, Rollback: true}, count: 2,
			want: verdictCase{0, "", "ecs-backend-task:2"}},
		{name: "no launchType, loadBalancers or networkConfiguration", drop: []string{"launchType", "loadBalancers", "networkConfiguration", "capacityProviderStrategy"},
			spec: backendSpec, minHealthy: 100,
			config: plan.DeploymentConfig{MinimumHealthyPercent: 100, MaximumPercent: 200, CircuitBreaker: true, Rollback: true}, count: 2,
			want: verdictCase{0, "", "ecs-backend-task:2"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := newLaxEnv(t, []lax.Option{lax.DropMembers(tt.drop...)})
			e.inforum(t, tt.minHealthy, 4096, 4096)
			spec := tt.spec(t, "v2")
			l := &log{}
			p, run, _ := e.deploy(t, context.Background(), l, spec)
			if s := p.Services[0]; s.Deployment != tt.config || s.DesiredCount.Old != tt.count {
				t.Errorf("plan read %+v with desired count %d, want %+v and %d", s.Deployment, s.DesiredCount.Old, tt.config, tt.count)
			}
			tt.want.check(t, e, run.Services[0], l)
			// The service keeps the tasks it had: a count pier could not read is not overwritten.
			if _, n, svc := e.running(t, spec.Service); n != map[string]int32{"backend": 2, "frontend": 1}[spec.Service] {
				t.Errorf("%s runs %d tasks (desired %d) after the deploy", spec.Service, n, svc.DesiredCount)
			}
		})
	}
}

// Item 1 for recreate and for `pier rollback`: each step counts only when
// ECS started the deployment asked for, and (recreate) the service and its
// running tasks are of that revision.
func TestLaxRecreateAndRollbackFollowTheirDeployment(t *testing.T) {
	nexus := deploy.Ref{Name: "nexus", Service: "nexus", Cluster: "inforum", Strategy: "recreate"}
	backend := deploy.Ref{Name: "backend", Service: "backend", Cluster: "inforum", Strategy: "rolling"}
	for _, tt := range []struct {
		name     string
		lax      []lax.Option
		rollback *deploy.Ref // roll back after a first deploy instead of deploying
		want     verdictCase
	}{
		{name: "recreate: no deployment of the new revision", lax: []lax.Option{lax.NoDeployment("nexus:2")},
			want: verdictCase{5, "ECS started no deployment of nexus:2; the service still runs nexus:1; restored nexus:1", "nexus:1"}},
		{name: "recreate: the answer shows the old PRIMARY", lax: []lax.Option{lax.OldPrimary()},
			want: verdictCase{0, "", "nexus:2"}},
		{name: "recreate: the deployment shows late, lists unsorted", lax: []lax.Option{lax.LateDeployment("nexus:2", 2), lax.ListOrder(lax.Reversed, 1, 0)},
			want: verdictCase{0, "", "nexus:2"}},
		{name: "recreate rollback: no deployment of the older revision", lax: []lax.Option{lax.NoDeployment("nexus:1")}, rollback: &nexus,
			want: verdictCase{5, "ECS started no deployment of nexus:1; the service still runs nexus:2", "nexus:2"}},
		{name: "rolling rollback: no deployment of the older revision", lax: []lax.Option{lax.NoDeployment("ecs-backend-task:1")}, rollback: &backend,
			want: verdictCase{5, "ECS started no deployment of ecs-backend-task:1; the service still runs ecs-backend-task:2", "ecs-backend-task:2"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := newLaxEnv(t, tt.lax, sim.WithExclusiveMounts())
			e.inforum(t, 100, 4096, 4096)
			l := &log{}
			spec := nexusSpec(t, "3.72.0")
			if tt.rollback != nil && tt.rollback.Name == "backend" {
				spec = backendSpec(t, "v2")
			}
			_, run, _ := e.deploy(t, context.Background(), l, spec)
			got := run.Services[0]
			if tt.rollback != nil {
				if got.Outcome != report.Success {
					t.Fatalf("deploy before the rollback: %s %s\n%s", got.Outcome, got.Cause, l)
				}
				target, err := deploy.RollbackTarget(e.ctx, e.ecs, *tt.rollback, 20*time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				got = deploy.New(e.ecs, deploy.WithClock(e.w.Clock()), deploy.WithObserver(l)).Apply(context.Background(), []deploy.Target{target})[0]
			}
			tt.want.check(t, e, got, l)
			if h := e.w.MaxMountHolders(); h > 1 {
				t.Errorf("%d tasks held the Nexus data directory at once", h)
			}
		})
	}
}

// Item 2, the other way to name the target: the revision the report of the
// failed run says the service ran before (Ref.To), checked against the
// family's ACTIVE revisions listed in any order.
func TestLaxRollbackToTheRevisionAReportNames(t *testing.T) {
	for _, tt := range []struct {
		to    string
		err   string // empty: the rollback runs
		final string
	}{
		{to: "ecs-backend-task:1", final: "ecs-backend-task:1"},
		{to: "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/ecs-backend-task:2", final: "ecs-backend-task:2"},
		{to: "ecs-backend-task:3", err: "the service already runs ecs-backend-task:3"},
		{to: "ecs-backend-task:9", err: "ecs-backend-task:9 is not an ACTIVE revision"},
		{to: "ecs-front-task:1", err: "is not of the family ecs-backend-task"},
		{to: "latest", err: `"latest" is not a task-definition revision`},
	} {
		t.Run(tt.to, func(t *testing.T) {
			e, _ := newLaxEnv(t, []lax.Option{lax.ListOrder(lax.Shuffled, 5, 1)})
			e.inforum(t, 100, 4096, 4096)
			for _, v := range []string{"v2", "v3"} {
				if _, run, _ := e.deploy(t, context.Background(), nil, backendSpec(t, v)); run.Result != report.Success {
					t.Fatalf("deploy %s: %s %s", v, run.Result, run.Services[0].Cause)
				}
			}
			ref := deploy.Ref{Name: "backend", Service: "backend", Cluster: "inforum", Strategy: "rolling", To: tt.to}
			target, err := deploy.RollbackTarget(e.ctx, e.ecs, ref, 20*time.Minute)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one saying %q", err, tt.err)
				}
				if td, _, _ := e.running(t, "backend"); td != "ecs-backend-task:3" {
					t.Errorf("service runs %s after a refused rollback, want ecs-backend-task:3", td)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			l := &log{}
			got := deploy.New(e.ecs, deploy.WithClock(e.w.Clock()), deploy.WithObserver(l)).Apply(context.Background(), []deploy.Target{target})[0]
			verdictCase{0, "", tt.final}.check(t, e, got, l)
		})
	}
}
