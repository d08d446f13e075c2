package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/pier-deploy/pier/internal/iampolicy"
	"github.com/pier-deploy/pier/internal/sim"
)

// TestIAMPolicyGrantsExactlyWhatPierCalls records every operation a full
// run makes against the sandbox — deploy with its build and push (one
// service failing and rolled back, one keeping revisions), rollback and
// status — and holds the policy `pier iam-policy` prints for the same file
// equal to it: nothing pier calls is missing, nothing granted goes unused.
func TestIAMPolicyGrantsExactlyWhatPierCalls(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "inforum")
	if err := os.CopyFS(dir, os.DirFS(filepath.Dir(inforumYAML))); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "pier.yaml")
	yaml, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// keepRevisions makes pier deregister what it no longer keeps.
	withKeep := strings.Replace(string(yaml), "    containers: { next: front-next, nginx: front-nginx }\n",
		"    containers: { next: front-next, nginx: front-nginx }\n    keepRevisions: 1\n", 1)
	if withKeep == string(yaml) {
		t.Fatal("the inforum pier.yaml no longer has the frontend line this test adds keepRevisions to")
	}
	if err := os.WriteFile(file, []byte(withKeep), 0o644); err != nil {
		t.Fatal(err)
	}

	called := map[string]bool{}
	record := func(s *sandboxEnv) {
		for op := range s.w().Calls() {
			svc, name, _ := strings.Cut(op, ".")
			prefix := map[string]string{"ecs": "ecs", "ecr": "ecr", "registry": "ecr", "elbv2": "elasticloadbalancing"}[svc]
			if prefix == "" {
				t.Fatalf("a call %q of an unknown service", op)
			}
			called[prefix+":"+name] = true
		}
	}

	// Run 1: the new backend nginx fails its target health checks, so pier
	// reads the stopped tasks and rolls the backend back; the frontend has
	// two more ACTIVE revisions than it runs, so keepRevisions deregisters
	// one; then a rollback and a status.
	s := newSandboxEnvFor(t, file, sim.WithImageBehavior("backend-nginx@sha256", sim.ImageBehavior{Unhealthy: true}))
	c := ecs.NewFromConfig(s.srv.AWSConfig())
	live, err := c.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("ecs-front-task")})
	if err != nil {
		t.Fatal(err)
	}
	td := live.TaskDefinition
	for range 2 {
		if _, err := c.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{Family: td.Family,
			NetworkMode: td.NetworkMode, Cpu: td.Cpu, Memory: td.Memory, ContainerDefinitions: td.ContainerDefinitions}); err != nil {
			t.Fatal(err)
		}
	}
	s.w().ResetCalls()
	if code, _, errs := s.run(t, "deploy"); code != ExitRolledBack {
		t.Fatalf("deploy exited %d, want %d (backend rolled back)\n%s", code, ExitRolledBack, errs)
	} else if !strings.Contains(errs, "frontend: deregistered ") {
		t.Fatalf("keepRevisions deregistered nothing:\n%s", errs)
	}
	if code, _, errs := s.run(t, "rollback", "frontend"); code != ExitOK {
		t.Fatalf("rollback exited %d\n%s", code, errs)
	}
	if code, _, errs := s.run(t, "status"); code != ExitOK {
		t.Fatalf("status exited %d\n%s", code, errs)
	}
	record(s)

	// Run 2: the seed's one full instance with minimumHealthyPercent 50: the
	// new backend task cannot be placed until ECS stops an old one, and pier
	// asks the target group whether room is coming before it calls that a
	// capacity failure.
	s = newSandboxEnvFor(t, file, sim.WithWorldFile(&sim.WorldFile{
		Clusters: map[string]sim.WorldCluster{"inforum": {Instances: []sim.WorldInstances{{CPU: 4096, Memory: 15742}}}},
		Services: map[string]sim.WorldService{"backend": {MinimumHealthyPercent: aws.Int32(50)}},
	}))
	s.w().ResetCalls()
	if code, _, errs := s.run(t, "deploy", "backend"); code != ExitOK {
		t.Fatalf("deploy of the backend on a full instance with minimumHealthyPercent 50 exited %d\n%s", code, errs)
	}
	record(s)

	var stdout, stderr bytes.Buffer
	if code := Run(context.Background(), []string{"iam-policy", "-f", file}, &stdout, &stderr, func(string) string { return "" }); code != ExitOK {
		t.Fatalf("iam-policy exited %d\n%s", code, stderr.String())
	}
	var p iampolicy.Policy
	if err := json.Unmarshal(stdout.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	granted := p.Actions()
	for c := range called {
		if !slices.Contains(granted, c) {
			t.Errorf("pier called %s, which the policy does not grant", c)
		}
	}
	// iam:PassRole is no call of its own: RegisterTaskDefinition passes the
	// roles; ecs:TagResource neither: IAM asks for it when a registration tags.
	for _, g := range granted {
		if !called[g] && g != "iam:PassRole" && g != "ecs:TagResource" {
			t.Errorf("the policy grants %s, which pier never called", g)
		}
	}
	t.Logf("called: %v", called)
}
