package sim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecrapi "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestContainerHealthChecksHonourGracePeriod(t *testing.T) {
	for _, grace := range []int32{0, 120} {
		e := start(t, WithImageBehavior("api:sick", ImageBehavior{Unhealthy: true}))
		e.cluster(t, "c", 4096)
		out := must(e.ecs.RegisterTaskDefinition(e.ctx, &ecs.RegisterTaskDefinitionInput{
			Family: aws.String("api"), Cpu: aws.String("256"), Memory: aws.String("512"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("api"), Image: aws.String("api:sick"),
				HealthCheck: &ecstypes.HealthCheck{Command: []string{"CMD", "/health"}, Interval: aws.Int32(10), Retries: aws.Int32(3)}}},
		}))(t)
		must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("api"), TaskDefinition: out.TaskDefinition.TaskDefinitionArn,
			DesiredCount: aws.Int32(1), HealthCheckGracePeriodSeconds: aws.Int32(grace)}))(t)
		// Checks fail from 8 s (pull) + 3 × 10 s.
		e.advance(60 * time.Second)
		s := e.service(t, "c", "api")
		failed := hasEvent(s, "(service api) (task ", ") failed container health checks.")
		if failed != (grace == 0) {
			t.Errorf("grace %d: failed-check event %v after 60s\n%s", grace, failed, eventLog(s))
		}
		e.advance(2 * time.Minute)
		if s := e.service(t, "c", "api"); !hasEvent(s, "failed container health checks.") {
			t.Errorf("grace %d: no failed-check event after the grace period\n%s", grace, eventLog(s))
		}
		stopped := must(e.ecs.ListTasks(e.ctx, &ecs.ListTasksInput{Cluster: aws.String("c"), DesiredStatus: ecstypes.DesiredStatusStopped}))(t)
		if len(stopped.TaskArns) == 0 {
			t.Fatalf("grace %d: no task was stopped", grace)
		}
		tk := must(e.ecs.DescribeTasks(e.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: stopped.TaskArns[:1]}))(t).Tasks[0]
		if aws.ToString(tk.StoppedReason) != "Task failed container health checks" || tk.HealthStatus != ecstypes.HealthStatusUnhealthy || tk.Containers[0].HealthStatus != ecstypes.HealthStatusUnhealthy {
			t.Errorf("grace %d: stopped task %q health %s", grace, aws.ToString(tk.StoppedReason), tk.HealthStatus)
		}
	}
}

// An image pushed through the registry protocol with the
// GetAuthorizationToken password is what the ECS model pulls.
func TestPushedImageRuns(t *testing.T) {
	e := start(t)
	e.cluster(t, "c", 4096)
	cfg := e.srv.AWSConfig()
	cfg.Retryer = connectionRetryer
	client := ecrapi.NewFromConfig(cfg)
	repo := must(client.CreateRepository(e.ctx, &ecrapi.CreateRepositoryInput{RepositoryName: aws.String("api")}))(t).Repository
	uri := aws.ToString(repo.RepositoryUri)
	if !strings.HasPrefix(uri, e.srv.RegistryHost()+"/") {
		t.Fatalf("repositoryUri %s is not on the server", uri)
	}
	tok := must(client.GetAuthorizationToken(e.ctx, &ecrapi.GetAuthorizationTokenInput{}))(t)
	user, pass := decodeToken(t, aws.ToString(tok.AuthorizationData[0].AuthorizationToken))
	img, err := random.Image(256, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(uri+":v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: user, Password: pass}), remote.WithContext(ctx)); err != nil {
		t.Fatal(err)
	}
	digest, _ := img.Digest()
	for _, image := range []string{uri + ":v1", uri + "@" + digest.String()} {
		tk := e.runOne(t, "api", ecstypes.ContainerDefinition{Name: aws.String("api"), Image: aws.String(image), Memory: aws.Int32(128)}, 30*time.Second)
		if aws.ToString(tk.LastStatus) != "RUNNING" || aws.ToString(tk.Containers[0].ImageDigest) != digest.String() {
			t.Errorf("%s: %s digest %s (pushed %s) %q", image, aws.ToString(tk.LastStatus), aws.ToString(tk.Containers[0].ImageDigest), digest, aws.ToString(tk.StoppedReason))
		}
	}
	if got := e.w.Calls(); got["ecr.CreateRepository"] != 1 || got["ecr.GetAuthorizationToken"] != 1 || got["ecs.RunTask"] != 2 {
		t.Errorf("calls %v", got)
	}
}
