package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/report"
	"github.com/pier-deploy/pier/internal/sandbox"
)

// fullCluster is the seed's cluster as the blog describes it: one 4-vCPU
// instance that frontend (2048) and backend (2 × 1024) fill, so a rolling
// update of backend with minimumHealthyPercent 100 cannot place a task.
const fullCluster = `clusters:
  inforum:
    instances: [{cpu: 4096, memory: 15742, count: 1}]
services:
  backend: {minimumHealthyPercent: 100, maximumPercent: 200}
`

// A separately started `pier sandbox` keeps a clock of its own: it started
// long before today and runs 600 times faster than real time, as an AWS
// region's clock may differ from the runner's. pier compares ECS's times
// with each other, so a rollout that cannot place its task is classified
// against it in no more poll rounds (DescribeServices calls) than against
// the in-process sandbox, whose clock pier shares.
func TestNoCapacityAgainstASeparateSandboxAsFastAsInProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("polls a sandbox in real time (a few seconds)")
	}
	world := filepath.Join(t.TempDir(), "full.yaml")
	if err := os.WriteFile(world, []byte(fullCluster), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := config.Load(inforumYAML, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cache := t.TempDir()
	check := func(name string, code int, out, errs string) report.Service {
		t.Helper()
		var run report.Run
		if err := json.Unmarshal([]byte(out), &run); err != nil {
			t.Fatalf("%s: decoding the JSON report: %v\n%s\n%s", name, err, out, errs)
		}
		if code != ExitRolledBack || len(run.Services) != 1 {
			t.Fatalf("%s: exit %d with %d services, want %d (rolled back) for backend\n%s", name, code, len(run.Services), ExitRolledBack, errs)
		}
		s := run.Services[0]
		if !strings.Contains(s.Cause, "has insufficient CPU units available") || s.Final != s.Old {
			t.Fatalf("%s: %s, cause %q, final %s (was %s); want the placement failure and the old revision", name, s.Outcome, s.Cause, s.Final, s.Old)
		}
		return s
	}

	inproc, err := sandbox.Start(ctx, f, world)
	if err != nil {
		t.Fatal(err)
	}
	defer inproc.Close()
	var stdout, stderr bytes.Buffer
	env := &Env{Stdout: &stdout, Stderr: &stderr, Globals: Globals{File: inforumYAML, Output: "json"},
		Getenv: func(k string) string {
			if k == "PIER_CACHE" {
				return cache
			}
			return ""
		}}
	code := runDeploy(ctx, env, &sandboxFlags{on: true, srv: inproc}, []string{"backend"}, 0, 0, "")
	check("in-process sandbox", code, stdout.String(), stderr.String())
	want := inproc.World().Calls()["ecs.DescribeServices"]

	remote, err := sandbox.Start(ctx, f, world)
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	remote.Drive(ctx, 600)
	printed := map[string]string{"PIER_CACHE": cache}
	for _, kv := range remote.Env() {
		k, v, _ := strings.Cut(kv, "=")
		printed[k] = v
	}
	stdout.Reset()
	stderr.Reset()
	// The timeout bounds a pier that never classifies (it would wait it out).
	code = Run(ctx, []string{"deploy", "-f", inforumYAML, "--output", "json", "--timeout", "2m", "backend"}, &stdout, &stderr,
		func(k string) string { return printed[k] })
	check("separate sandbox", code, stdout.String(), stderr.String())
	if got := remote.World().Calls()["ecs.DescribeServices"]; got > want {
		t.Errorf("against the separate sandbox pier made %d DescribeServices calls, %d in-process", got, want)
	}
}
