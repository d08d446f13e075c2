package deploy_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pier-deploy/pier/internal/awsapi"
	"github.com/pier-deploy/pier/internal/deploy"
	"github.com/pier-deploy/pier/internal/plan"
	"github.com/pier-deploy/pier/internal/report"
	"github.com/pier-deploy/pier/internal/sim"
	"github.com/pier-deploy/pier/internal/taskdef"
)

// env is a simulated account with the real ECS client pointed at it.
type env struct {
	w   *sim.World
	srv *sim.Server
	ecs *ecs.Client
	ctx context.Context
}

func newEnv(t testing.TB, opts ...sim.Option) *env {
	t.Helper()
	return newEnvConfig(t, nil, opts...)
}

// newEnvConfig is newEnv with a change to the SDK configuration.
func newEnvConfig(t testing.TB, mut func(*aws.Config), opts ...sim.Option) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w := sim.New(append([]sim.Option{sim.WithRegion("ap-northeast-2")}, opts...)...)
	srv, err := w.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	cfg := srv.AWSConfig()
	// The SDK's standard retryer with pier's attempts, and backoff in
	// milliseconds: throttling is retried for real, without sleeping seconds.
	cfg.Retryer = awsapi.Retryer(2 * time.Millisecond)
	if mut != nil {
		mut(&cfg)
	}
	return &env{w: w, srv: srv, ecs: ecs.NewFromConfig(cfg), ctx: ctx}
}

func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func load(t testing.TB, file string, images map[string]string) *taskdef.TaskDef {
	t.Helper()
	td, err := taskdef.Load(filepath.Join("..", "..", "testdata", "inforum", file))
	if err != nil {
		t.Fatal(err)
	}
	return td.WithImages(images)
}

func (e *env) register(t testing.TB, td *taskdef.TaskDef) string {
	t.Helper()
	in, err := td.RegisterInput()
	if err != nil {
		t.Fatal(err)
	}
	return *must(e.ecs.RegisterTaskDefinition(e.ctx, in))(t).TaskDefinition.TaskDefinitionArn
}

// Images of the inforum services, by version. They live outside ECR, so the
// simulator runs them under synthetic digests; behaviours key on them.
func backendImages(v string) map[string]string {
	return map[string]string{"springboot": "registry.example/backend-springboot:" + v, "nginx": "registry.example/backend-nginx:" + v}
}
func frontendImages(v string) map[string]string {
	return map[string]string{"next": "registry.example/front-next:" + v, "nginx": "registry.example/front-nginx:" + v}
}
func nexusImages(v string) map[string]string {
	return map[string]string{"nexus": "registry.example/nexus3:" + v}
}

// inforum seeds the reference cluster: EC2 instances of the given CPU units
// (the seed has one of 4096) running frontend (1 × 2048) and backend
// (2 × 1024) on v1 with the circuit breaker and rollback on, and Nexus on
// Fargate with its exclusive EFS mount.
func (e *env) inforum(t testing.TB, minHealthy int32, cpus ...int32) {
	t.Helper()
	must(e.ecs.CreateCluster(e.ctx, &ecs.CreateClusterInput{ClusterName: aws.String("inforum")}))(t)
	for _, cpu := range cpus {
		must(e.ecs.RegisterContainerInstance(e.ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String("inforum"),
			TotalResources: []ecstypes.Resource{
				{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: cpu},
				{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 15742},
			}}))(t)
	}
	dc := &ecstypes.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(minHealthy), MaximumPercent: aws.Int32(200),
		DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true}}
	for _, s := range []struct {
		name string
		td   *taskdef.TaskDef
		n    int32
	}{{"frontend", load(t, "frontend-task.json", frontendImages("v1")), 1}, {"backend", load(t, "backend-task.json", backendImages("v1")), 2}} {
		must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("inforum"), ServiceName: aws.String(s.name),
			TaskDefinition: aws.String(e.register(t, s.td)), DesiredCount: aws.Int32(s.n), LaunchType: ecstypes.LaunchTypeEc2,
			DeploymentConfiguration: dc}))(t)
	}
	must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("inforum"), ServiceName: aws.String("nexus"),
		TaskDefinition: aws.String(e.register(t, load(t, "nexus-task.json", nexusImages("3.70.0")))), DesiredCount: aws.Int32(1),
		LaunchType: ecstypes.LaunchTypeFargate, DeploymentConfiguration: dc,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}}))(t)
	e.w.Clock().Advance(5 * time.Minute)
}

func backendSpec(t testing.TB, v string) deploy.Spec {
	return deploy.Spec{Name: "backend", Service: "backend", Cluster: "inforum", Strategy: "rolling", Count: aws.Int32(2),
		TaskDef: load(t, "backend-task.json", backendImages(v)), Timeout: 20 * time.Minute}
}

func frontendSpec(t testing.TB, v string) deploy.Spec {
	return deploy.Spec{Name: "frontend", Service: "frontend", Cluster: "inforum", Strategy: "rolling",
		TaskDef: load(t, "frontend-task.json", frontendImages(v)), Timeout: 20 * time.Minute}
}

func nexusSpec(t testing.TB, v string) deploy.Spec {
	return deploy.Spec{Name: "nexus", Service: "nexus", Cluster: "inforum", Strategy: "recreate", Count: aws.Int32(1),
		TaskDef: load(t, "nexus-task.json", nexusImages(v)), Timeout: 20 * time.Minute}
}

// log collects progress lines, and lets a test act on one (cancel on a phase).
type log struct {
	mu    sync.Mutex
	lines []string
	on    func(report.Progress)
}

func (l *log) Progress(p report.Progress) {
	l.mu.Lock()
	l.lines = append(l.lines, report.ProgressLine(p))
	on := l.on
	l.mu.Unlock()
	if on != nil {
		on(p)
	}
}

func (l *log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// deploy plans and applies specs like `pier deploy` does, and returns the
// plan and the report.
func (e *env) deploy(t testing.TB, ctx context.Context, l *log, specs ...deploy.Spec) (*plan.Plan, *report.Run, *deploy.Deployer) {
	t.Helper()
	p, targets, err := deploy.Plan(e.ctx, e.ecs, "pier.yaml", nil, specs)
	if err != nil {
		t.Fatal(err)
	}
	if l == nil {
		l = &log{}
	}
	d := deploy.New(e.ecs, deploy.WithClock(e.w.Clock()), deploy.WithObserver(l), deploy.WithGrace(10*time.Minute),
		deploy.WithHTTPClient(e.srv.HTTPClient()))
	start := e.w.Clock().Now()
	run := &report.Run{Command: "deploy", Started: start, Services: d.Apply(ctx, targets)}
	run.Finished = e.w.Clock().Now()
	run.Result = report.Aggregate(run.Services)
	return p, run, d
}

// running is the task definition the service runs, and how many tasks.
func (e *env) running(t testing.TB, service string) (string, int32, ecstypes.Service) {
	t.Helper()
	out := must(e.ecs.DescribeServices(e.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("inforum"), Services: []string{service}}))(t)
	s := out.Services[0]
	return shortTD(aws.ToString(s.TaskDefinition)), s.RunningCount, s
}

func shortTD(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }
