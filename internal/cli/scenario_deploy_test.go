package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/pier-deploy/pier/internal/plan"
	"github.com/pier-deploy/pier/internal/report"
	"github.com/pier-deploy/pier/internal/sim"
)

// liveTD is the family:revision a service of the sandbox runs.
func (s *sandboxEnv) liveTD(t *testing.T, service string) string {
	t.Helper()
	c := ecs.NewFromConfig(s.srv.AWSConfig())
	out, err := c.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("inforum"), Services: []string{service}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("describing %s: %v", service, err)
	}
	arn := aws.ToString(out.Services[0].TaskDefinition)
	return arn[strings.LastIndexByte(arn, '/')+1:]
}

// The whole pipeline (build, push, plan, apply) on the sandbox of the
// inforum pier.yaml, with the new images misbehaving. Images pushed by pier
// are addressed by digest, so a rule matching "NAME@sha256" hits only them.
func TestDeployScenariosThroughTheCLI(t *testing.T) {
	tests := []struct {
		name    string
		opts    []sim.Option
		service string
		exit    int
		cause   string
		final   string
	}{
		{name: "unhealthy targets", service: "backend",
			opts: []sim.Option{sim.WithImageBehavior("backend-nginx@sha256", sim.ImageBehavior{Unhealthy: true})},
			exit: 3, cause: "health checks", final: "ecs-backend-task:1"},
		{name: "new nexus fails the load balancer's health checks and the old one is restored", service: "nexus",
			opts: []sim.Option{sim.WithImageBehavior("nexus@sha256", sim.ImageBehavior{Unhealthy: true})},
			exit: 3, cause: "health check", final: "nexus:1"},
		{name: "new nexus without a load balancer fails its container health check", service: "nexus",
			opts: []sim.Option{sim.WithWorldFile(&sim.WorldFile{Services: map[string]sim.WorldService{"nexus": {LoadBalancer: aws.Bool(false)}}}),
				sim.WithImageBehavior("nexus@sha256", sim.ImageBehavior{Unhealthy: true})},
			exit: 3, cause: "failed its container health checks", final: "nexus:1"},
		{name: "new nexus runs but its status URL answers 503", service: "nexus",
			opts: []sim.Option{sim.WithImageBehavior("nexus@sha256", sim.ImageBehavior{HealthURLFails: true})},
			exit: 3, cause: "/service/rest/v1/status/writable did not answer 2xx within 10m (last: HTTP 503)", final: "nexus:1"},
		{name: "image pull failure", service: "frontend",
			opts: []sim.Option{sim.WithImageBehavior("front-next@sha256", sim.ImageBehavior{PullFailure: true})},
			exit: 3, cause: "CannotPullContainerError", final: "ecs-front-task:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSandboxEnv(t, tt.opts...)
			code, out, errs := s.run(t, "deploy", "--output", "json", tt.service)
			var run report.Run
			if err := json.Unmarshal([]byte(out), &run); err != nil {
				t.Fatalf("stdout is not one JSON report: %v\n%s", err, out)
			}
			if code != tt.exit || run.Result.ExitCode() != tt.exit {
				t.Fatalf("exit %d (report %s: %s), want %d\n%s", code, run.Result, run.Cause, tt.exit, errs)
			}
			if !strings.Contains(run.Cause, tt.cause) || !strings.Contains(errs, tt.cause) {
				t.Errorf("cause %q (or the progress) lacks %q\n%s", run.Cause, tt.cause, errs)
			}
			t.Logf("cause: %s", run.Cause)
			if got := s.liveTD(t, tt.service); got != tt.final || run.Services[0].Final.String() != tt.final {
				t.Errorf("%s runs %s (report: %s), want %s", tt.service, got, run.Services[0].Final, tt.final)
			}
			if h := s.srv.World().MaxMountHolders(); h > 1 {
				t.Errorf("%d Nexus tasks held the data directory at once", h)
			}
		})
	}
}

func TestPlanDetailedExitCodeAndStalePlan(t *testing.T) {
	s := newSandboxEnv(t)
	code, out, errs := s.run(t, "plan", "--output", "json")
	if code != 2 {
		t.Fatalf("plan --detailed-exitcode before any deploy: exit %d, want 2 (changes)\n%s", code, errs)
	}
	p, err := plan.Read("stdout", []byte(out))
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range p.Services {
		if svc.Action != plan.Register || len(svc.Changes) == 0 {
			t.Errorf("%s: %s with %d changes, want a new revision", svc.Name, svc.Action, len(svc.Changes))
		}
	}
	saved := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(saved, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	// Someone scales the backend after the plan was made: the plan is stale.
	c := ecs.NewFromConfig(s.srv.AWSConfig())
	if _, err := c.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("inforum"), Service: aws.String("backend"), DesiredCount: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	env := &Env{Stdout: &stdout, Stderr: &stderr, Getenv: s.getenv, Globals: Globals{File: inforumYAML, Output: "text"}}
	if code := runDeploy(context.Background(), env, &sandboxFlags{on: true, srv: s.srv}, nil, 0, 0, saved); code != ExitFailed {
		t.Fatalf("deploy of a stale plan: exit %d, want 1\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "live desired count is now 3") || s.srv.World().Calls()["ecs.RegisterTaskDefinition"] != 0 {
		t.Errorf("stale plan not refused before any change:\n%s", stderr.String())
	}
	// The live state is checked before anything is built or pushed.
	if up := s.srv.World().ECR().Counters("").BlobUploads; up != 0 || strings.Contains(stderr.String(), "==> push") {
		t.Errorf("a stale plan was refused only after pushing (%d blobs uploaded):\n%s", up, stderr.String())
	}
	// A plan of one service does not approve a deploy of all of them.
	code, out, _ = s.run(t, "plan", "--output", "json", "frontend")
	if code != 2 {
		t.Fatalf("plan frontend: exit %d", code)
	}
	if err := os.WriteFile(saved, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	if code := runDeploy(context.Background(), env, &sandboxFlags{on: true, srv: s.srv}, nil, 0, 0, saved); code != ExitFailed {
		t.Fatalf("deploy of every service with a plan of one: exit %d, want 1\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "service backend would be deployed but is not in the plan") || s.srv.World().Calls()["ecs.UpdateService"] != 1 {
		t.Errorf("a plan of frontend approved more (UpdateService calls %d, only the test's own scale):\n%s\n%s", s.srv.World().Calls()["ecs.UpdateService"], stderr.String(), stdout.String())
	}
	// The same plan deploys the service it planned.
	stderr.Reset()
	if code := runDeploy(context.Background(), env, &sandboxFlags{on: true, srv: s.srv}, []string{"frontend"}, 0, 0, saved); code != ExitOK {
		t.Fatalf("deploy frontend with its fresh plan: exit %d\n%s", code, stderr.String())
	}
	if code, _, errs := s.run(t, "deploy"); code != ExitOK {
		t.Fatalf("deploy: %d\n%s", code, errs)
	}
	if code, _, errs := s.run(t, "plan"); code != ExitOK {
		t.Fatalf("plan after deploy: exit %d, want 0 (no changes)\n%s", code, errs)
	}
}

// Through cli.Run, with its own sandbox: a world file with the seed's one
// 4-vCPU instance makes the backend's rollout unplaceable; preflight warns
// before the change, the run fails fast with ECS's closest-instance reason
// and puts the backend back.
func TestDeploySandboxWorldFileThroughRun(t *testing.T) {
	code, out, errs := deployInWorld(t, "clusters:\n  inforum:\n    instances:\n      - {cpu: 4096, memory: 15742}\n", "backend")
	if code != ExitRolledBack {
		t.Fatalf("exit %d, want 3\n%s\n%s", code, out, errs)
	}
	warn := strings.Index(errs, "backend: warning: capacity")
	update := strings.Index(errs, "] backend: update\n")
	if warn < 0 || update < 0 || warn > update {
		t.Errorf("preflight did not warn before the update:\n%s", errs)
	}
	if !strings.Contains(out, "has insufficient CPU units available") {
		t.Errorf("the report lacks the closest-instance reason:\n%s", out)
	}
}

// The cluster has only Graviton (arm64) instances and the backend pins
// X86_64: ECS never placed its tasks and, suppressing the repeat, says so
// only in an event from before the deploy. Preflight names the
// architecture; the run reads that old event as the cause at once (not a
// 20-minute timeout) and returns the service to the state it found.
func TestDeployOnInstancesOfAnotherArchitecture(t *testing.T) {
	code, out, errs := deployInWorld(t, "clusters:\n  inforum:\n    instances: [{cpu: 8192, memory: 31484, count: 2, arch: arm64}]\n", "backend")
	if code != ExitRolledBack {
		t.Fatalf("exit %d, want 3\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"runs 0 of its 2 tasks before the change", "has the CPU architecture the task pins"} {
		if !strings.Contains(errs, want) {
			t.Errorf("preflight does not say %q:\n%s", want, errs)
		}
	}
	for _, want := range []string{"is missing an attribute required by your task", "before this rollout", "running 0 of its 2 tasks, as before this run"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "timed out") {
		t.Errorf("the run waited for a timeout:\n%s", out)
	}
}

// The fix preflight suggests for the seed's one instance works through
// pier too: with minimumHealthyPercent 50, ECS stops an old task, waits for
// its 300 s of draining, starts a new one, waits for it to pass its health
// checks, and only then stops the next. It says "unable to place a task"
// all along; pier sees room on its way (a task stopping, a target still in
// its first health checks) and waits instead of rolling back.
func TestDeployMinimumHealthy50OnTheSeedInstance(t *testing.T) {
	code, out, errs := deployInWorld(t, "clusters:\n  inforum:\n    instances:\n      - {cpu: 4096, memory: 15742}\nservices:\n  backend:\n    minimumHealthyPercent: 50\n", "backend")
	if code != ExitOK {
		t.Fatalf("exit %d, want 0\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(errs, "was unable to place a task") || !strings.Contains(errs, "has begun draining connections") {
		t.Errorf("ECS never ran short of room: the test proves nothing\n%s", errs)
	}
	if !strings.Contains(out, "ecs-backend-task:1 → ecs-backend-task:2") || !strings.Contains(out, "success") {
		t.Errorf("report:\n%s", out)
	}
}

// deployInWorld runs `pier deploy --sandbox --sandbox-world` through Run
// with the given world file and services.
func deployInWorld(t *testing.T, world string, services ...string) (int, string, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "world.yaml")
	if err := os.WriteFile(file, []byte(world), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cache := t.TempDir()
	getenv := func(k string) string {
		if k == "PIER_CACHE" {
			return cache
		}
		return ""
	}
	args := append([]string{"deploy", "--sandbox", "--sandbox-world", file, "-f", inforumYAML}, services...)
	code := Run(context.Background(), args, &stdout, &stderr, getenv)
	return code, stdout.String(), stderr.String()
}

func TestRollbackAndStatusThroughTheCLI(t *testing.T) {
	s := newSandboxEnv(t)
	if code, _, errs := s.run(t, "deploy", "backend", "nexus"); code != ExitOK {
		t.Fatalf("deploy: exit %d\n%s", code, errs)
	}
	code, out, errs := s.run(t, "rollback", "--output", "json", "backend", "nexus")
	if code != ExitOK {
		t.Fatalf("rollback: exit %d\n%s\n%s", code, out, errs)
	}
	var run report.Run
	if err := json.Unmarshal([]byte(out), &run); err != nil || run.Command != "rollback" {
		t.Fatalf("rollback report: %v\n%s", err, out)
	}
	for svc, want := range map[string]string{"backend": "ecs-backend-task:1", "nexus": "nexus:1"} {
		if got := s.liveTD(t, svc); got != want {
			t.Errorf("%s runs %s after rollback, want %s", svc, got, want)
		}
	}
	if !strings.Contains(errs, "] nexus: scale-down\n") {
		t.Errorf("nexus was not rolled back with recreate:\n%s", errs)
	}
	if h := s.srv.World().MaxMountHolders(); h > 1 {
		t.Errorf("%d Nexus tasks held the data directory at once", h)
	}
	code, out, errs = s.run(t, "status", "backend")
	if code != ExitOK || !strings.Contains(out, "backend (backend in inforum, ACTIVE): ecs-backend-task:1, desired 2, running 2") ||
		!strings.Contains(out, "has reached a steady state") || !strings.Contains(out, "stopped ") {
		t.Errorf("status: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = s.run(t, "status", "--output", "json")
	var st struct {
		Services []struct {
			Name        string `json:"name"`
			Found       bool   `json:"found"`
			Deployments []any  `json:"deployments"`
		} `json:"services"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != ExitOK || len(st.Services) != 3 || !st.Services[0].Found {
		t.Errorf("status json: exit %d, %v\n%s", code, err, out)
	}
	if code, _, errs := s.run(t, "rollback", "nosuch"); code != ExitUsage || !strings.Contains(errs, `no service "nosuch"`) {
		t.Errorf("rollback of an unknown service: exit %d\n%s", code, errs)
	}
}

// Lint errors stop deploy before anything is built or changed: here the
// issue's example, the backend's springboot container renamed so nginx's
// link (and proxy_pass) point at nothing.
func TestDeployRefusesLintErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(repoRoot, "testdata", "inforum"))); err != nil {
		t.Fatal(err)
	}
	task := filepath.Join(dir, "backend-task.json")
	data, err := os.ReadFile(task)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(task, bytes.Replace(data, []byte(`"name": "springboot"`), []byte(`"name": "spring-boot"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newSandboxEnv(t)
	s.w().ResetCalls()
	var stdout, stderr bytes.Buffer
	env := &Env{Stdout: &stdout, Stderr: &stderr, Getenv: s.getenv, Globals: Globals{File: filepath.Join(dir, "pier.yaml"), Output: "json"}}
	code := runDeploy(context.Background(), env, &sandboxFlags{on: true, srv: s.srv}, nil, 0, 0, "")
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1\n%s", code, stderr.String())
	}
	var run report.Run
	if err := json.Unmarshal(stdout.Bytes(), &run); err != nil || run.Result != report.Failed {
		t.Errorf("report %q: %v", stdout.String(), err)
	}
	if !strings.Contains(stderr.String(), "backend-task.json:") || !strings.Contains(stderr.String(), "spring") {
		t.Errorf("the lint error does not name the task file and the link:\n%s", stderr.String())
	}
	if n := len(s.w().Calls()); n != 0 {
		t.Errorf("%d kinds of API calls before the lint errors stopped the deploy: %v", n, s.w().Calls())
	}
}
