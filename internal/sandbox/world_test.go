package sandbox

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/pier-deploy/pier/internal/sim"
	"github.com/pier-deploy/pier/internal/sim/ecr"
)

func TestDefaultWorldFromPierYAML(t *testing.T) {
	e := startSandbox(t, "")
	out := must(e.ecs.DescribeServices(e.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("inforum"), Services: []string{"frontend", "backend", "nexus"}}))(t)
	want := map[string]struct {
		n  int32
		lt ecstypes.LaunchType
	}{"frontend": {1, ecstypes.LaunchTypeEc2}, "backend": {2, ecstypes.LaunchTypeEc2}, "nexus": {1, ecstypes.LaunchTypeFargate}}
	for _, s := range out.Services {
		w := want[aws.ToString(s.ServiceName)]
		if s.RunningCount != w.n || s.DesiredCount != w.n || s.LaunchType != w.lt || len(s.Deployments) != 1 ||
			s.Deployments[0].RolloutState != ecstypes.DeploymentRolloutStateCompleted || len(s.LoadBalancers) != 1 {
			t.Errorf("%s: running %d desired %d launch %s deployments %d lbs %d\n%s", aws.ToString(s.ServiceName), s.RunningCount, s.DesiredCount, s.LaunchType, len(s.Deployments), len(s.LoadBalancers), eventLog(s))
		}
	}
	revs := map[string]string{}
	for _, s := range out.Services {
		revs[aws.ToString(s.ServiceName)] = revision(aws.ToString(s.TaskDefinition))
	}
	if revs["frontend"] != "ecs-front-task:1" || revs["backend"] != "ecs-backend-task:1" || revs["nexus"] != "nexus:1" {
		t.Errorf("revisions %v", revs)
	}
	if len(out.Services) != 3 {
		t.Fatalf("%d services, failures %v", len(out.Services), out.Failures)
	}
	// Enough EC2 capacity for a rolling update with maximumPercent 200:
	// 2 × (2048 + 2 × 1024) CPU units.
	ci := must(e.ecs.ListContainerInstances(e.ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("inforum")}))(t)
	desc := must(e.ecs.DescribeContainerInstances(e.ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("inforum"), ContainerInstances: ci.ContainerInstanceArns}))(t)
	var total, remaining int32
	for _, i := range desc.ContainerInstances {
		for _, r := range i.RegisteredResources {
			if aws.ToString(r.Name) == "CPU" {
				total += r.IntegerValue
			}
		}
		for _, r := range i.RemainingResources {
			if aws.ToString(r.Name) == "CPU" {
				remaining += r.IntegerValue
			}
		}
	}
	if total < 8192 || total-remaining != 4096 {
		t.Errorf("EC2 CPU %d registered, %d used; want ≥ 8192 with 4096 used", total, total-remaining)
	}
	// The synthetic base images are in the registry.
	for _, ref := range []string{"docker.io/sonatype/nexus3:3.72.0", "public.ecr.aws/docker/library/nginx:1.27-alpine"} {
		if _, ok := e.w.ECR().HasImage(ref); !ok {
			t.Errorf("base image %s not seeded", ref)
		}
	}
	// Nexus's health URL answers while its task runs, and stops answering once it is gone.
	client := e.srv.HTTPClient()
	get := func() int {
		resp, err := client.Get("http://nexus.inforum.internal:8081/service/rest/v1/status/writable")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(); got != http.StatusOK {
		t.Errorf("health URL answered %d, want 200", got)
	}
	// Recreate (nexus cannot overlap on its EFS data) with an image that runs
	// but answers 503: Nexus up and read-only.
	scale := func(n int32) {
		must(e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("inforum"), Service: aws.String("nexus"), DesiredCount: aws.Int32(n)}))(t)
		e.advance(10 * time.Minute)
	}
	scale(0)
	if got := get(); got != http.StatusServiceUnavailable {
		t.Errorf("health URL answered %d with no task, want 503", got)
	}
	e.w.SetImageBehavior("sonatype/nexus3", sim.ImageBehavior{HealthURLFails: true})
	scale(1)
	if s := e.service(t, "inforum", "nexus"); s.RunningCount != 1 || s.Deployments[0].RolloutState != ecstypes.DeploymentRolloutStateCompleted {
		t.Errorf("read-only nexus: running %d, %s", s.RunningCount, s.Deployments[0].RolloutState)
	}
	if got := get(); got != http.StatusServiceUnavailable {
		t.Errorf("health URL of a read-only nexus answered %d, want 503\n%s", got, eventLog(e.service(t, "inforum", "nexus")))
	}
	if _, err := client.Get("http://elsewhere.example:80/"); err == nil {
		t.Error("an unmapped host answered")
	}
}

// Builders in the sandbox read the base images the file names through the
// registry transport, from the synthetic stand-ins.
func TestRegistryTransportServesBases(t *testing.T) {
	e := startSandbox(t, "")
	for _, ref := range []string{"public.ecr.aws/docker/library/nginx:1.27-alpine", "docker.io/sonatype/nexus3:3.72.0"} {
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		desc, err := remote.Get(r, remote.WithTransport(e.srv.RegistryTransport()), remote.WithContext(e.ctx))
		if err != nil {
			t.Fatalf("reading %s through the sandbox: %v", ref, err)
		}
		want, _ := e.w.ECR().HasImage(ref)
		if desc.Digest.String() != want {
			t.Errorf("%s: digest %s, want %s", ref, desc.Digest, want)
		}
		if _, err := desc.ImageIndex(); err != nil {
			t.Errorf("%s: %v", ref, err)
		}
	}
	if _, err := e.srv.RegistryTransport().RoundTrip(httptest.NewRequest(http.MethodGet, "https://example.com/index.html", nil)); err == nil {
		t.Error("a non-registry request went through")
	}
}

// With revisionsFromFiles each service runs its file's definition at the
// revision the file was described at, above INACTIVE earlier revisions.
func TestRevisionsFromFiles(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world.yaml")
	if err := os.WriteFile(world, []byte("revisionsFromFiles: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := startSandbox(t, world)
	out := must(e.ecs.DescribeServices(e.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("inforum"), Services: []string{"frontend", "backend", "nexus"}}))(t)
	var got []string
	for _, s := range out.Services {
		got = append(got, revision(aws.ToString(s.TaskDefinition)))
	}
	if strings.Join(got, " ") != "ecs-front-task:24 ecs-backend-task:49 nexus:7" {
		t.Errorf("services run %v", got)
	}
	inactive := must(e.ecs.ListTaskDefinitions(e.ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("ecs-backend-task"), Status: ecstypes.TaskDefinitionStatusInactive}))(t)
	if len(inactive.TaskDefinitionArns) != 48 {
		t.Errorf("%d inactive backend revisions, want 48", len(inactive.TaskDefinitionArns))
	}
}

func TestDescribeCountsInWords(t *testing.T) {
	e := startSandbox(t, "")
	want := "1 cluster, 3 services, 4 running tasks, 3 EC2 instances, account 123456789012, region ap-northeast-2"
	if got := e.w.Describe(); got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
}

func TestWorldFilesInTestdata(t *testing.T) {
	files, err := filepath.Glob("../../testdata/sim/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no world files: %v", err)
	}
	cfg := loadInforum(t)
	for _, f := range files {
		wf, err := sim.LoadWorldFile(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		// Each builds a world over the inforum pier.yaml.
		if _, err := World(cfg, sim.WithWorldFile(wf)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
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
