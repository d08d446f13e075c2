package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/report"
	"github.com/pier-deploy/pier/internal/sandbox"
	"github.com/pier-deploy/pier/internal/sim"
)

const inforumYAML = "../../testdata/inforum/pier.yaml"

// sandboxEnv runs commands against one sandbox seeded from the inforum
// pier.yaml, so a second command sees what the first did.
type sandboxEnv struct {
	srv    *sim.Server
	getenv func(string) string
	file   string // the pipeline file, inforumYAML unless newSandboxEnvFor says otherwise
}

func newSandboxEnv(t *testing.T, opts ...sim.Option) *sandboxEnv {
	t.Helper()
	return newSandboxEnvFor(t, inforumYAML, opts...)
}

func newSandboxEnvFor(t *testing.T, file string, opts ...sim.Option) *sandboxEnv {
	t.Helper()
	f, err := config.Load(file, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv, err := sandbox.Start(ctx, f, "", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	cache := t.TempDir()
	return &sandboxEnv{srv: srv, file: file, getenv: func(k string) string {
		if k == "PIER_CACHE" {
			return cache
		}
		return ""
	}}
}

func (s *sandboxEnv) w() *sim.World { return s.srv.World() }

// run runs one command (deploy, plan, rollback, status) against the sandbox.
func (s *sandboxEnv) run(t *testing.T, cmd string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &Env{Stdout: &stdout, Stderr: &stderr, Getenv: s.getenv, Globals: Globals{File: s.file, Output: "text"}}
	for i := 0; i < len(args); i++ {
		if args[i] == "--output" {
			env.Output = args[i+1]
			args = append(args[:i], args[i+2:]...)
		}
	}
	sb := &sandboxFlags{on: true, srv: s.srv}
	var code int
	switch cmd {
	case "deploy":
		code = runDeploy(context.Background(), env, sb, args, 0, 0, "")
	case "plan":
		code = runPlan(context.Background(), env, sb, args, true)
	case "rollback":
		code = runRollback(context.Background(), env, sb, args, 0, 0, "")
	case "status":
		code = runStatus(context.Background(), env, sb, args, 5, 3)
	default:
		t.Fatalf("no runner for %s", cmd)
	}
	return code, stdout.String(), stderr.String()
}

func TestDeploySandboxThenNothingChanged(t *testing.T) {
	s := newSandboxEnv(t)
	code, out, errs := s.run(t, "deploy", "--output", "json")
	if code != ExitOK {
		t.Fatalf("first deploy exit %d\n%s\n%s", code, out, errs)
	}
	var run report.Run
	if err := json.Unmarshal([]byte(out), &run); err != nil {
		t.Fatalf("report is not one JSON document: %v\n%s", err, out)
	}
	if len(run.Services) != 3 || len(run.Images) != 5 {
		t.Fatalf("report has %d services and %d images", len(run.Services), len(run.Images))
	}
	for _, svc := range run.Services {
		if svc.Outcome != report.Success || !svc.Registered || svc.Final.Revision != 2 {
			t.Errorf("%s: %s (%s), registered %v, final %s", svc.Name, svc.Outcome, svc.Cause, svc.Registered, svc.Final)
		}
		if !strings.Contains(errs, "] "+svc.Name+": rollout\n") {
			t.Errorf("no rollout phase line for %s", svc.Name)
		}
	}
	if !strings.Contains(errs, "] nexus: scale-down\n") || !strings.Contains(errs, "] nexus: health-check\n") {
		t.Errorf("nexus was not recreated with its health check:\n%s", errs)
	}
	if h := s.srv.World().MaxMountHolders(); h > 1 {
		t.Errorf("%d Nexus tasks held the data directory at once", h)
	}

	w := s.srv.World()
	w.ResetCalls()
	w.ECR().ResetCounters()
	code, out, errs = s.run(t, "deploy")
	if code != ExitOK {
		t.Fatalf("second deploy exit %d\n%s\n%s", code, out, errs)
	}
	calls := w.Calls()
	uploads := w.ECR().Counters("")
	if calls["ecs.RegisterTaskDefinition"] != 0 || calls["ecs.UpdateService"] != 0 || uploads.BlobUploads != 0 {
		t.Errorf("second deploy: %d RegisterTaskDefinition, %d UpdateService, %d blob uploads; want 0 each (calls %v)",
			calls["ecs.RegisterTaskDefinition"], calls["ecs.UpdateService"], uploads.BlobUploads, calls)
	}
	if strings.Count(out, "no-changes   ") != 3 {
		t.Errorf("second deploy report:\n%s", out)
	}
}
