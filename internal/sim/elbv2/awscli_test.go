package elbv2

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/sim/simtest"
)

// TestAWSCLI checks the wire format with a second, independent client: the AWS CLI
// (botocore) serializes requests and parses replies on its own.
func TestAWSCLI(t *testing.T) {
	svc := New("123456789012", "eu-west-1")
	srv := httptest.NewServer(svc)
	defer srv.Close()
	cli := simtest.NewCLI(t, srv.URL, "eu-west-1")

	out, stderr, err := cli.Run(t, "elbv2", "create-target-group", "--name", "backend", "--protocol", "HTTP",
		"--port", "8080", "--vpc-id", "vpc-1", "--health-check-path", "/health", "--matcher", "HttpCode=200-299")
	if err != nil {
		t.Fatalf("create-target-group: %v\n%s", err, stderr)
	}
	var created struct {
		TargetGroups []struct {
			TargetGroupArn, TargetGroupName, HealthCheckPath string
			Port                                             int
			Matcher                                          struct{ HttpCode string }
		}
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || len(created.TargetGroups) != 1 {
		t.Fatalf("create-target-group printed %s (%v)", out, err)
	}
	tg := created.TargetGroups[0]
	if tg.TargetGroupName != "backend" || tg.Port != 8080 || tg.HealthCheckPath != "/health" || tg.Matcher.HttpCode != "200-299" {
		t.Errorf("created %+v", tg)
	}

	if _, stderr, err := cli.Run(t, "elbv2", "register-targets", "--target-group-arn", tg.TargetGroupArn,
		"--targets", "Id=i-1,Port=32768", "Id=i-2"); err != nil {
		t.Fatalf("register-targets: %v\n%s", err, stderr)
	}
	if err := svc.SetTargetHealth(tg.TargetGroupArn, "i-2", 8080, StateUnhealthy, "Target.FailedHealthChecks", ""); err != nil {
		t.Fatal(err)
	}
	out, stderr, err = cli.Run(t, "elbv2", "describe-target-health", "--target-group-arn", tg.TargetGroupArn)
	if err != nil {
		t.Fatalf("describe-target-health: %v\n%s", err, stderr)
	}
	var health struct {
		TargetHealthDescriptions []struct {
			Target struct {
				Id   string
				Port int
			}
			TargetHealth struct{ State, Reason, Description string }
		}
	}
	if err := json.Unmarshal([]byte(out), &health); err != nil || len(health.TargetHealthDescriptions) != 2 {
		t.Fatalf("describe-target-health printed %s (%v)", out, err)
	}
	h := health.TargetHealthDescriptions
	if h[0].Target.Id != "i-1" || h[0].Target.Port != 32768 || h[0].TargetHealth.State != "unused" ||
		h[1].TargetHealth.State != "unhealthy" || h[1].TargetHealth.Reason != "Target.FailedHealthChecks" || h[1].TargetHealth.Description != "Health checks failed" {
		t.Errorf("target health %+v", h)
	}

	if _, stderr, err := cli.Run(t, "elbv2", "modify-target-group-attributes", "--target-group-arn", tg.TargetGroupArn,
		"--attributes", "Key=deregistration_delay.timeout_seconds,Value=5"); err != nil {
		t.Fatalf("modify-target-group-attributes: %v\n%s", err, stderr)
	}
	if d := svc.DeregistrationDelay(tg.TargetGroupArn); d.Seconds() != 5 {
		t.Errorf("deregistration delay after the CLI set 5: %v", d)
	}

	_, stderr, err = cli.Run(t, "elbv2", "describe-target-groups", "--names", "nexus")
	if err == nil || !strings.Contains(stderr, "TargetGroupNotFound") {
		t.Errorf("describe-target-groups --names nexus: %v, stderr %q; want TargetGroupNotFound", err, stderr)
	}
}
