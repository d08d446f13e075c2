package sim

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pier-deploy/pier/internal/sim/ecr"
)

func TestParseWorldFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown top-level field", "speeed: 3\n", "w.yaml:1:1: field speeed not found in type sim.WorldFile"},
		{"unknown service field", "services:\n  web:\n    desired: 2\n", "w.yaml:3:5: field desired not found in type sim.WorldService"},
		{"rate out of range", "faults:\n  throttleRate: 1.5\n", "w.yaml:2:17: faults.throttleRate must be between 0 and 1, not 1.5"},
		{"bad percent", "services:\n  web: {maximumPercent: 300}\n", "w.yaml:2:25: services.web.maximumPercent must be between 100 and 200"},
		{"image rule without match", "images:\n  - crash: true\n", "w.yaml:2:3: images[0] needs match: (a glob or substring of the image reference)"},
		{"bad duration", "images:\n  - {match: x, crashAfter: soon}\n", "w.yaml:2:28: cannot unmarshal !!str `soon` into time.Duration"},
		{"unknown timing", "timing:\n  boot: 3s\n", `w.yaml:2:9: timing: unknown step "boot" (provision, pull, stop, deprovision, conflictExit, stoppedRetention, stableAfter, steadyAfter)`},
		{"instances", "clusters:\n  c:\n    instances: [{cpu: 0, memory: 1}]\n", "w.yaml:3:16: clusters.c.instances[0] needs a positive cpu and memory (and count ≥ 0)"},
		{"syntax", "speed: [\n", "w.yaml:1:1: did not find expected node content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseWorldFile("w.yaml", []byte(tc.yaml))
			var we *WorldError
			if !errors.As(err, &we) {
				t.Fatalf("error %v (%T), want a *WorldError", err, err)
			}
			if err.Error() != tc.want {
				t.Errorf("got  %s\nwant %s", err, tc.want)
			}
		})
	}
}

func TestWorldFilesInTestdata(t *testing.T) {
	files, err := filepath.Glob("../../testdata/sim/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no world files: %v", err)
	}
	cfg := loadInforum(t)
	for _, f := range files {
		wf, err := LoadWorldFile(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		// Each builds a world over the inforum pier.yaml.
		if _, err := FromConfig(cfg, WithWorldFile(wf)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// The seed's real cluster, from a world file over the default world: the
// backend rollout cannot place its task.
func TestWorldFileReproducesTheSeedsHang(t *testing.T) {
	e := startSandbox(t, "../../testdata/sim/seed-full-instance.yaml")
	ci := must(e.ecs.ListContainerInstances(e.ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("inforum")}))(t)
	if len(ci.ContainerInstanceArns) != 1 {
		t.Fatalf("%d instances, want the world file's 1", len(ci.ContainerInstanceArns))
	}
	s := e.service(t, "inforum", "backend")
	if cb := s.DeploymentConfiguration.DeploymentCircuitBreaker; cb == nil || !cb.Enable || !cb.Rollback {
		t.Errorf("circuit breaker %+v", cb)
	}
	must(e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("inforum"), Service: aws.String("backend"), ForceNewDeployment: true}))(t)
	e.advance(10 * time.Minute)
	s = e.service(t, "inforum", "backend")
	if !hasEvent(s, "has insufficient CPU units available.") || s.Deployments[0].RolloutState != ecstypes.DeploymentRolloutStateInProgress {
		t.Errorf("want a hung rollout:\n%s", eventLog(s))
	}
}

func FuzzParseWorldFile(f *testing.F) {
	for _, seed := range []string{
		"seed: 7\nspeed: 30\n",
		"clusters:\n  c:\n    instances: [{cpu: 4096, memory: 15742, count: 2}]\n",
		"images:\n  - {match: '*nginx*', crash: true, exitCode: 137, crashAfter: 5s}\n",
		"faults: {throttleRate: 0.1, operations: [DescribeServices]}\ntiming: {pull: 3s}\n",
		"services:\n  web: {desiredCount: 2, circuitBreaker: {enable: true}}\n",
		"[", "", "~", "speed: -1",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		wf, err := ParseWorldFile("fuzz.yaml", data)
		if err != nil {
			var we *WorldError
			if !errors.As(err, &we) {
				t.Fatalf("error %v is not a *WorldError", err)
			}
			return
		}
		// A valid world file builds a world.
		New(wf.Options()...)
	})
}

// testdata/sim/crashing-backend.yaml crashes a pushed backend nginx: the
// circuit breaker rolls the service back.
func TestCrashingBackendWorld(t *testing.T) {
	e := startSandbox(t, "../../testdata/sim/crashing-backend.yaml")
	idx, err := ecr.SyntheticImage("backend-nginx:v2", nil)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := e.w.ECR().Seed("backend-nginx", idx, "v2")
	if err != nil {
		t.Fatal(err)
	}
	live := must(e.ecs.DescribeTaskDefinition(e.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("ecs-backend-task")}))(t).TaskDefinition
	defs := append([]ecstypes.ContainerDefinition(nil), live.ContainerDefinitions...)
	for i := range defs {
		if aws.ToString(defs[i].Name) == "nginx" {
			defs[i].Image = aws.String(e.srv.RegistryHost() + "/backend-nginx@" + digest)
		}
	}
	next := must(e.ecs.RegisterTaskDefinition(e.ctx, &ecs.RegisterTaskDefinitionInput{
		Family: live.Family, NetworkMode: live.NetworkMode, Cpu: live.Cpu, Memory: live.Memory, ContainerDefinitions: defs,
	}))(t)
	must(e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("inforum"), Service: aws.String("backend"), TaskDefinition: next.TaskDefinition.TaskDefinitionArn}))(t)
	e.advance(30 * time.Minute)
	s := e.service(t, "inforum", "backend")
	if !hasEvent(s, "deployment failed: tasks failed to start.") || aws.ToString(s.TaskDefinition) != aws.ToString(live.TaskDefinitionArn) {
		t.Errorf("want a rollback to %s, service runs %s\n%s", aws.ToString(live.TaskDefinitionArn), aws.ToString(s.TaskDefinition), eventLog(s))
	}
}
