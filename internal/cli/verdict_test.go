package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/pier-deploy/pier/internal/report"
	"github.com/pier-deploy/pier/internal/sim/lax"
)

// `pier deploy` against an ECS that accepts the backend's UpdateService and
// starts no deployment of it (the lax proxy in front of a pier sandbox):
// the exit code is 5, never 0, the cause says so, and the backend runs
// the revision it ran.
func TestDeployExitsFiveWhenECSStartsNoDeployment(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := startDrivenSandbox(ctx, t)
	proxy := httptest.NewServer(lax.New(srv.World(), lax.NoDeployment("ecs-backend-task:2"), lax.OldPrimary()))
	defer proxy.Close()
	env := map[string]string{"PIER_CACHE": t.TempDir()}
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	env["PIER_SANDBOX"] = proxy.URL // the proxy passes all but ECS through unchanged
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{"deploy", "-f", inforumYAML, "--output", "json"}, &stdout, &stderr, func(k string) string { return env[k] })
	if code != ExitNotStarted {
		t.Fatalf("pier deploy exited %d, want %d\nstderr:\n%s", code, ExitNotStarted, stderr.String())
	}
	var run report.Run
	if err := json.Unmarshal(stdout.Bytes(), &run); err != nil {
		t.Fatalf("decoding the JSON report: %v\n%s", err, stdout.String())
	}
	want := "ECS started no deployment of ecs-backend-task:2; the service still runs ecs-backend-task:1"
	for _, s := range run.Services {
		switch {
		case s.Name == "backend" && (s.Outcome != report.NotStarted || !strings.Contains(s.Cause, want) || s.Final.String() != "ecs-backend-task:1"):
			t.Errorf("backend: %s to %s (%s), want not-started on ecs-backend-task:1 saying %q", s.Outcome, s.Final, s.Cause, want)
		case s.Name != "backend" && s.Outcome != report.Success:
			t.Errorf("%s: %s (%s), want success: the proxy only swallows the backend's update", s.Name, s.Outcome, s.Cause)
		}
	}
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr does not give the cause:\n%s", stderr.String())
	}
	cfg := srv.AWSConfig()
	out, err := ecs.NewFromConfig(cfg).DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(run.Services[0].Cluster), Services: []string{"backend"}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("describing backend: %v", err)
	}
	if td := aws.ToString(out.Services[0].TaskDefinition); !strings.HasSuffix(td, "/ecs-backend-task:1") {
		t.Errorf("ECS has backend on %s, want ecs-backend-task:1", td)
	}
}
