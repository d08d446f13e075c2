package sim

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// env is a running world with an ECS client pointed at it.
type env struct {
	w   *World
	srv *Server
	ecs *ecs.Client
	ctx context.Context
}

func start(t testing.TB, opts ...Option) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w := New(opts...)
	srv, err := w.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	cfg := srv.AWSConfig()
	cfg.Retryer = connectionRetryer
	return &env{w: w, srv: srv, ecs: ecs.NewFromConfig(cfg), ctx: ctx}
}

func (e *env) advance(d time.Duration) { e.w.Clock().Advance(d) }

// must turns (value, error) into the value, failing the test on error:
// must(client.Op(ctx, in))(t).
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// cluster creates a cluster with EC2 instances of the given CPU units.
func (e *env) cluster(t *testing.T, name string, cpus ...int32) {
	t.Helper()
	must(e.ecs.CreateCluster(e.ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name)}))(t)
	for _, cpu := range cpus {
		must(e.ecs.RegisterContainerInstance(e.ctx, &ecs.RegisterContainerInstanceInput{
			Cluster: aws.String(name),
			TotalResources: []ecstypes.Resource{
				{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: cpu},
				{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 15742},
			},
		}))(t)
	}
}

// bridgeTask registers an nginx-in-front task like the seed's backend.
func (e *env) bridgeTask(t *testing.T, family, cpu, image string) string {
	t.Helper()
	out := must(e.ecs.RegisterTaskDefinition(e.ctx, &ecs.RegisterTaskDefinitionInput{
		Family:      aws.String(family),
		NetworkMode: ecstypes.NetworkModeBridge,
		Cpu:         aws.String(cpu),
		Memory:      aws.String("2048"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{
			{Name: aws.String("app"), Image: aws.String(image + "-app"), Essential: aws.Bool(false)},
			{Name: aws.String("nginx"), Image: aws.String(image), Links: []string{"app"},
				PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(0)}}},
		},
	}))(t)
	return *out.TaskDefinition.TaskDefinitionArn
}

// runOne registers family with the one container def, runs a task of it in
// cluster "c", lets after pass and returns the task as DescribeTasks sees it then.
func (e *env) runOne(t *testing.T, family string, def ecstypes.ContainerDefinition, after time.Duration) ecstypes.Task {
	t.Helper()
	out := must(e.ecs.RegisterTaskDefinition(e.ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), ContainerDefinitions: []ecstypes.ContainerDefinition{def},
	}))(t)
	run := must(e.ecs.RunTask(e.ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: out.TaskDefinition.TaskDefinitionArn}))(t)
	e.advance(after)
	return must(e.ecs.DescribeTasks(e.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: []string{aws.ToString(run.Tasks[0].TaskArn)}}))(t).Tasks[0]
}

func (e *env) service(t *testing.T, cluster, name string) ecstypes.Service {
	t.Helper()
	out := must(e.ecs.DescribeServices(e.ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}}))(t)
	if len(out.Services) != 1 {
		t.Fatalf("DescribeServices %s: %d services, failures %v", name, len(out.Services), out.Failures)
	}
	return out.Services[0]
}

// hasEvent reports whether a service event contains every part.
func hasEvent(s ecstypes.Service, parts ...string) bool {
	for _, e := range s.Events {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(aws.ToString(e.Message), p)
		}
		if ok {
			return true
		}
	}
	return false
}

func eventLog(s ecstypes.Service) string {
	var b strings.Builder
	for i := len(s.Events) - 1; i >= 0; i-- {
		e := s.Events[i]
		b.WriteString(aws.ToTime(e.CreatedAt).Format("15:04:05") + " " + aws.ToString(e.Message) + "\n")
	}
	return b.String()
}

// decodeToken splits an ECR authorization token (base64 "AWS:password").
func decodeToken(t testing.TB, tok string) (user, pass string) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		t.Fatalf("token %q has no user:password", raw)
	}
	return user, pass
}

// connectionRetryer retries only a dropped connection, at once: the tests
// assert the simulator's answers (throttling and injected 5xx included) as they
// come, but a loaded CI machine can reset a loopback connection under -race,
// which the SDK itself counts as retryable.
func connectionRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		o.RateLimiter = ratelimit.None
	})
}
