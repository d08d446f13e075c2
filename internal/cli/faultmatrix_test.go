package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/sandbox"
)

// The fault matrix: service api runs api:1 (testdata/faults/live.yaml) and
// pier deploys api:2 (testdata/faults/pier.yaml) into a world with one fault
// (testdata/faults/<world>.yaml). Each row states what pier must do on ECS:
// its exit code, the class of the cause it reports (report causeKind) and the
// revision the service runs at the end. README's fault matrix is this table.
type faultRow struct {
	name  string
	world string // testdata/faults/<world>.yaml
	// timeout is --timeout in virtual time (the sandbox's clock); zero
	// keeps the default of 20m.
	timeout time.Duration
	exit    int
	kind    string // causeKind; empty for a success
	leftOn  string // the service's revision at the end
}

var faultMatrix = []faultRow{
	{name: "throttling", world: "throttling", exit: ExitOK, leftOn: "api:2"},
	{name: "5xx", world: "server-errors", exit: ExitOK, leftOn: "api:2"},
	{name: "pull failure", world: "pull-failure", exit: 3, kind: "cannot-pull", leftOn: "api:1"},
	{name: "crash loop", world: "crash-loop", exit: 3, kind: "container-exited", leftOn: "api:1"},
	{name: "unhealthy target", world: "unhealthy-target", exit: 3, kind: "elb-health-check", leftOn: "api:1"},
	{name: "no capacity", world: "no-capacity", exit: 3, kind: "cannot-place", leftOn: "api:1"},
	{name: "slow start", world: "slow-start", exit: ExitOK, leftOn: "api:2"},
	{name: "slow start past --timeout", world: "slow-start-2h", timeout: time.Hour, exit: 3, kind: "timeout", leftOn: "api:1"},
	{name: "failing health URL", world: "health-url", exit: 3, kind: "health-check-url", leftOn: "api:1"},
	{name: "ECS's own calls throttled", world: "scheduler-throttled", exit: ExitOK, leftOn: "api:2"},
	{name: "deployment configuration stall", world: "stalled", exit: 3, kind: "deployment-configuration", leftOn: "api:1"},
	{name: "target registration keeps failing", world: "register-targets", exit: 3, kind: "target-registration", leftOn: "api:1"},
	{name: "target group without a load balancer", world: "target-group-gone", exit: 3, kind: "target-registration", leftOn: "api:1"},
}

const (
	faultsLive = "testdata/faults/live.yaml"
	faultsPier = "testdata/faults/pier.yaml"
	// remoteSpeed is the separately started sandbox's --speed: virtual
	// seconds per real second. pier waits in real time against it, as
	// against AWS, so its own timeouts are given in real time (virtual/speed).
	remoteSpeed = 600
	// remoteTimeout bounds a remote row whose --timeout is the default: a
	// cause pier misses fails the row after 10 virtual hours, not 20 real minutes.
	remoteTimeout = time.Minute
)

// faultResult is what a row asserts: from pier's JSON report and the exit
// code, and from ECS itself (the service's task definition at the end).
type faultResult struct {
	code    int
	kind    string
	final   string // the report's final revision
	service string // DescribeServices: the service's task definition, family:revision
	report  string
}

func (r faultResult) String() string {
	return fmt.Sprintf("exit %d, cause %q, final %s, service on %s", r.code, r.kind, r.final, r.service)
}

// TestFaultMatrix runs every row in-process (--sandbox, virtual time) and
// against a separately started `pier sandbox` (PIER_SANDBOX, its own clock
// at remoteSpeed).
func TestFaultMatrix(t *testing.T) {
	for _, mode := range []struct {
		name string
		run  func(t *testing.T, row faultRow) faultResult
	}{
		{"in-process", runFaultInProcess},
		{"pier sandbox", runFaultRemote},
	} {
		t.Run(mode.name, func(t *testing.T) {
			for _, row := range faultMatrix {
				t.Run(row.name, func(t *testing.T) {
					t.Parallel()
					got := mode.run(t, row)
					want := faultResult{code: row.exit, kind: row.kind, final: row.leftOn, service: row.leftOn}
					if got.code != want.code || got.kind != want.kind || got.final != want.final || got.service != want.service {
						t.Errorf("%s\n got: %s\nwant: %s\nreport:\n%s", row.world, got, want, got.report)
					}
				})
			}
		})
	}
}

func faultWorld(row faultRow) string { return filepath.Join("testdata/faults", row.world+".yaml") }

func runFaultInProcess(t *testing.T, row faultRow) faultResult {
	f, err := config.Load(faultsLive, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := sandbox.Start(ctx, f, faultWorld(row))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	cache := t.TempDir()
	env := &Env{Stdout: &stdout, Stderr: &stderr, Globals: Globals{File: faultsPier, Output: "json"}, Getenv: func(k string) string {
		if k == "PIER_CACHE" {
			return cache
		}
		return ""
	}}
	code := runDeploy(ctx, env, &sandboxFlags{on: true, srv: srv}, nil, row.timeout, 0, "")
	return faultOutcome(t, code, stdout.String(), stderr.String(), ecs.NewFromConfig(srv.AWSConfig(), patient))
}

func runFaultRemote(t *testing.T, row faultRow) faultResult {
	vars, sandboxErr, stop := runSandboxCmd(t, "-f", faultsLive, "--world", faultWorld(row), "--speed", fmt.Sprint(remoteSpeed))
	defer func() {
		if code := stop(); code != ExitOK {
			t.Errorf("pier sandbox exited %d: %s", code, sandboxErr.String())
		}
	}()
	vars["PIER_CACHE"] = t.TempDir()
	timeout := remoteTimeout
	if row.timeout > 0 {
		timeout = row.timeout / remoteSpeed
	}
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{"deploy", "-f", faultsPier, "--output", "json", "--timeout", timeout.String()}, &stdout, &stderr,
		func(k string) string { return vars[k] })
	client := ecs.New(ecs.Options{
		Region: vars["AWS_REGION"], BaseEndpoint: aws.String(vars["AWS_ENDPOINT_URL_ECS"]), HTTPClient: &http.Client{},
		Credentials: credentials.NewStaticCredentialsProvider(vars["AWS_ACCESS_KEY_ID"], vars["AWS_SECRET_ACCESS_KEY"], ""),
	}, patient)
	return faultOutcome(t, code, stdout.String(), stderr.String(), client)
}

// patient retries the test's own call through the world's throttling and 5xx.
func patient(o *ecs.Options) { o.RetryMaxAttempts = 20 }

// faultOutcome reads the report pier printed and asks ECS where the service is.
func faultOutcome(t *testing.T, code int, stdout, stderr string, client *ecs.Client) faultResult {
	t.Helper()
	r := faultResult{code: code, report: stdout + stderr}
	var doc struct {
		Services []struct {
			Name      string
			CauseKind string
			Final     struct {
				Family, Arn string
				Revision    int
			}
		}
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil || len(doc.Services) != 1 {
		t.Fatalf("exit %d; the JSON report: %v\n%s\n%s", code, err, stdout, stderr)
	}
	s := doc.Services[0]
	r.kind = s.CauseKind
	r.final = fmt.Sprintf("%s:%d", s.Final.Family, s.Final.Revision)
	out, err := client.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("matrix"), Services: []string{"api"}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("describing the service: %v", err)
	}
	td := aws.ToString(out.Services[0].TaskDefinition)
	r.service = td[strings.LastIndexByte(td, '/')+1:]
	return r
}
