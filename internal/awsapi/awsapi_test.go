package awsapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/pier-deploy/pier/internal/awsapi"
	"github.com/pier-deploy/pier/internal/sim"
)

// With half of all calls throttled, the SDK's single attempt fails often and
// pier's retry policy gets every call through, without running out of
// client-side retry tokens.
func TestRetryerOutlastsThrottling(t *testing.T) {
	ctx := context.Background()
	w := sim.New(sim.WithFaults(sim.Faults{ThrottleRate: 0.5}))
	srv, err := w.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	once := srv.AWSConfig()
	once.RetryMaxAttempts = 1
	var failed int
	for i := 0; i < 40; i++ {
		if _, err := ecs.NewFromConfig(once).ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
			failed++
		}
	}
	if failed == 0 {
		t.Fatal("no call was throttled: the test proves nothing")
	}

	cfg := srv.AWSConfig()
	cfg.Retryer = awsapi.Retryer(time.Millisecond)
	c := awsapi.New(cfg)
	w.ResetCalls()
	for i := 0; i < 200; i++ {
		if _, err := c.ECS.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("x")}); err != nil {
			t.Fatalf("call %d failed through the retryer: %v", i, err)
		}
	}
	if n := w.Calls()["ecs.ListTaskDefinitions"]; n <= 200 {
		t.Errorf("%d calls reached the simulator for 200 requests: nothing was retried", n)
	}
}
