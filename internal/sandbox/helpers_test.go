package sandbox

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/sim"
)

const inforumYAML = "../../testdata/inforum/pier.yaml"

func loadInforum(t *testing.T) *config.File {
	t.Helper()
	f, err := config.Load(inforumYAML, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// env is a sandbox of the inforum pier.yaml and an ECS client for it.
type env struct {
	w   *sim.World
	srv *sim.Server
	ecs *ecs.Client
	ctx context.Context
}

func startSandbox(t *testing.T, worldFile string) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv, err := Start(ctx, loadInforum(t), worldFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	cfg := srv.AWSConfig()
	cfg.Retryer = connectionRetryer
	return &env{w: srv.World(), srv: srv, ecs: ecs.NewFromConfig(cfg), ctx: ctx}
}

func (e *env) advance(d time.Duration) { e.w.Clock().Advance(d) }

func (e *env) service(t *testing.T, cluster, name string) ecstypes.Service {
	t.Helper()
	out := must(e.ecs.DescribeServices(e.ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}}))(t)
	if len(out.Services) != 1 {
		t.Fatalf("service %s/%s: %d services, failures %v", cluster, name, len(out.Services), out.Failures)
	}
	return out.Services[0]
}

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

func hasEvent(s ecstypes.Service, part string) bool {
	for _, e := range s.Events {
		if strings.Contains(aws.ToString(e.Message), part) {
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

// revision is "family:N" of a task-definition ARN.
func revision(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

// connectionRetryer retries only a dropped connection, at once: the tests
// assert the simulator's answers as they come, but a loaded CI machine can
// reset a loopback connection under -race.
func connectionRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		o.RateLimiter = ratelimit.None
	})
}
