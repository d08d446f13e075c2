package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/adopt"
)

// runIn runs one command against the sandbox of s with -f file.
func (s *sandboxEnv) runIn(t *testing.T, file, cmd string, fl initFlags, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &Env{Stdout: &stdout, Stderr: &stderr, Getenv: s.getenv, Globals: Globals{File: file, Output: "text"}}
	sb := &sandboxFlags{on: true, srv: s.srv}
	ctx := context.Background()
	var code int
	switch cmd {
	case "init":
		code = runInit(ctx, env, sb, fl, args)
	case "deploy":
		code = runDeploy(ctx, env, sb, args, 0, 0, "")
	case "plan":
		code = runPlan(ctx, env, sb, args, true)
	default:
		t.Fatalf("no runner for %s", cmd)
	}
	return code, stdout.String(), stderr.String()
}

// TestInitRoundTrip adopts the sandbox's inforum services the way a user
// with a live account would: frontend and backend were deployed once (they
// run images from the account's ECR, pinned by digest), nexus still runs
// sonatype/nexus3 from Docker Hub. Right after init, plan shows no change,
// lint finds no error, and a deploy registers nothing and updates nothing.
func TestInitRoundTrip(t *testing.T) {
	s := newSandboxEnv(t)
	if code, out, errs := s.runIn(t, inforumYAML, "deploy", initFlags{}, "frontend", "backend"); code != ExitOK {
		t.Fatalf("deploy: exit %d\n%s\n%s", code, out, errs)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "deploy", "pier.yml")
	code, out, errs := s.runIn(t, file, "init", initFlags{req: reqAll("inforum")})
	if code != ExitOK {
		t.Fatalf("init: exit %d\n%s\n%s", code, out, errs)
	}
	for _, name := range []string{"pier.yml", "backend-task.json", "frontend-task.json", "nexus-task.json"} {
		if !strings.Contains(out, filepath.Join(dir, "deploy", name)) {
			t.Errorf("init does not say it wrote %s:\n%s", name, out)
		}
	}
	yml, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"cluster: inforum\n", "    taskDefinition: backend-task.json   # ecs-backend-task:2\n",
		"#     copy: docker.io/sonatype/nexus3:3.72.0\n", "    strategy: recreate\n",
		"#   front-next:\n#     next: { dir: front-next }",
	} {
		if !strings.Contains(string(yml), want) {
			t.Errorf("%s has no %q:\n%s", file, want, yml)
		}
	}
	if strings.Count(string(yml), "strategy: recreate") != 1 {
		t.Errorf("only nexus mounts EFS with one task:\n%s", yml)
	}

	code, out, errs = s.runIn(t, file, "plan", initFlags{})
	if code != ExitOK {
		t.Fatalf("plan right after init: exit %d (2 = changes), want 0\n%s\n%s", code, out, errs)
	}
	if code, lintOut, lintErr := runPier(t, nil, "lint", "-f", file); code != ExitOK {
		t.Errorf("lint right after init: exit %d\n%s\n%s", code, lintOut, lintErr)
	}
	w := s.w()
	w.ResetCalls()
	if code, out, errs := s.runIn(t, file, "deploy", initFlags{}); code != ExitOK {
		t.Fatalf("deploy right after init: exit %d\n%s\n%s", code, out, errs)
	}
	if calls := w.Calls(); calls["ecs.RegisterTaskDefinition"] != 0 || calls["ecs.UpdateService"] != 0 {
		t.Errorf("deploy right after init changed something: %v", calls)
	}

	// A second init refuses and writes nothing; --force rewrites the same files.
	before, _ := os.ReadFile(file)
	code, _, errs = s.runIn(t, file, "init", initFlags{req: reqAll("inforum")})
	if code != ExitUsage || !strings.Contains(errs, "nothing was written: pass --force") {
		t.Errorf("second init: exit %d\n%s", code, errs)
	}
	code, _, errs = s.runIn(t, file, "init", initFlags{req: reqAll("inforum"), force: true})
	after, _ := os.ReadFile(file)
	if code != ExitOK || !bytes.Equal(before, after) {
		t.Errorf("init --force: exit %d, same file %v\n%s", code, bytes.Equal(before, after), errs)
	}
}

func TestInitJSONAndSelection(t *testing.T) {
	s := newSandboxEnv(t)
	file := filepath.Join(t.TempDir(), "pier.yaml")
	var stdout, stderr bytes.Buffer
	env := &Env{Stdout: &stdout, Stderr: &stderr, Getenv: s.getenv, Globals: Globals{File: file, Output: "json"}}
	fl := initFlags{}
	fl.req.Cluster = "inforum"
	fl.req.Services = []string{"nexus"}
	if code := runInit(context.Background(), env, &sandboxFlags{on: true, srv: s.srv}, fl, nil); code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	var doc struct {
		Cluster  string
		Files    []string
		Services []struct {
			Name, TaskDefinition, Strategy, Why string
			Images                              []struct{ Container, Image, Proposed, Kind string }
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	if len(doc.Services) != 1 || doc.Services[0].Strategy != "recreate" || doc.Services[0].Images[0].Kind != "copy" || len(doc.Files) != 2 {
		t.Errorf("json: %+v", doc)
	}
}

func TestInitUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"init", "--all"}, "--cluster is required"},
		{[]string{"init", "--cluster", "c"}, "name the services to adopt with --service NAME"},
		{[]string{"init", "--cluster", "c", "--all", "--service", "a"}, "--all and --service exclude each other"},
		{[]string{"init", "--cluster", "c", "web"}, `unexpected argument "web": name services with --service web`},
		{[]string{"init", "--cluster", "c", "--all", "--sandbox"}, "--sandbox needs --sandbox-from FILE"},
		{[]string{"init", "--cluster", "c", "--all", "--sandbox-from", "x.yaml"}, "--sandbox-from needs --sandbox"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, stderr := runPier(t, nil, tt.args...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q, want %q", code, stderr, tt.want)
			}
		})
	}
}

func reqAll(cluster string) adopt.Request { return adopt.Request{Cluster: cluster, All: true} }
