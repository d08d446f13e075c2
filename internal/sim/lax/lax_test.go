package lax_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pier-deploy/pier/internal/sim"
	"github.com/pier-deploy/pier/internal/sim/lax"
)

// world is a simulated account with one Fargate service on app:1, an app:2
// and app:3 registered, and two ECS clients: straight to the simulator and
// through the proxy.
func world(t *testing.T, opts ...lax.Option) (direct, proxied *ecs.Client) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w := sim.New(sim.WithRegion("ap-northeast-2"))
	srv, err := w.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ts := httptest.NewServer(lax.New(w, opts...))
	t.Cleanup(ts.Close)
	cfg := srv.AWSConfig()
	direct = ecs.NewFromConfig(cfg)
	cfg.BaseEndpoint, cfg.HTTPClient = aws.String(ts.URL), ts.Client()
	proxied = ecs.NewFromConfig(cfg)
	if _, err := direct.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("c")}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, err := direct.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("app"),
			RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate}, NetworkMode: types.NetworkModeAwsvpc,
			Cpu: aws.String("256"), Memory: aws.String("512"),
			ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("registry.example/app:1"), Essential: aws.Bool(true)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = direct.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("s"), TaskDefinition: aws.String("app:1"),
		DesiredCount: aws.Int32(1), LaunchType: types.LaunchTypeFargate,
		DeploymentConfiguration: &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50), MaximumPercent: aws.Int32(200)},
		NetworkConfiguration:    &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	return direct, proxied
}

func describe(t *testing.T, c *ecs.Client) types.Service {
	t.Helper()
	out, err := c.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("c"), Services: []string{"s"}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("describing s: %v", err)
	}
	return out.Services[0]
}

func revisions(t *testing.T, c *ecs.Client) []string {
	t.Helper()
	var arns []string
	var token *string
	for {
		out, err := c.ListTaskDefinitions(context.Background(), &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("app"), Sort: types.SortOrderDesc, NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range out.TaskDefinitionArns {
			arns = append(arns, a[len(a)-5:])
		}
		if token = out.NextToken; token == nil {
			return arns
		}
	}
}

func TestListOrderIgnoresSortAndPages(t *testing.T) {
	direct, proxied := world(t, lax.ListOrder(lax.Reversed, 1, 1))
	if got := revisions(t, direct); !slices.Equal(got, []string{"app:3", "app:2", "app:1"}) {
		t.Fatalf("the simulator lists %v for sort=DESC", got)
	}
	if got := revisions(t, proxied); !slices.Equal(got, []string{"app:1", "app:2", "app:3"}) {
		t.Errorf("the proxy lists %v, want ascending one a page although sort=DESC", got)
	}
}

func TestDropMembers(t *testing.T) {
	_, proxied := world(t, lax.DropMembers("deploymentConfiguration.minimumHealthyPercent", "deployments.rolloutState"))
	s := describe(t, proxied)
	if dc := s.DeploymentConfiguration; dc == nil || dc.MinimumHealthyPercent != nil || aws.ToInt32(dc.MaximumPercent) != 200 {
		t.Errorf("deploymentConfiguration = %+v, want maximumPercent only", dc)
	}
	if len(s.Deployments) == 0 || s.Deployments[0].RolloutState != "" {
		t.Errorf("deployments = %+v, want them without rolloutState", s.Deployments)
	}
}

func TestNoDeploymentAndOldPrimary(t *testing.T) {
	for _, tt := range []struct {
		name    string
		opt     lax.Option
		started bool     // the simulator started a deployment of app:2
		shown   []string // the service's revision in the next describes through the proxy
	}{
		{"no deployment", lax.NoDeployment("app:2"), false, []string{"app:1", "app:1"}},
		{"old primary in the answer", lax.OldPrimary(), true, []string{"app:2", "app:2"}},
		{"late deployment", lax.LateDeployment("app:2", 1), true, []string{"app:1", "app:2"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			direct, proxied := world(t, tt.opt)
			before := describe(t, direct)
			out, err := proxied.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("c"), Service: aws.String("s"), TaskDefinition: aws.String("app:2")})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := aws.ToString(out.Service.Deployments[0].Id), aws.ToString(before.Deployments[0].Id); len(out.Service.Deployments) != 1 || got != want {
				t.Errorf("the answer shows deployment %s of %d, want only the one from before (%s)", got, len(out.Service.Deployments), want)
			}
			after := describe(t, direct)
			if started := len(after.Deployments) == 2; started != tt.started {
				t.Errorf("the simulator has %d deployments after the update, want a new one: %v", len(after.Deployments), tt.started)
			}
			for i, want := range tt.shown {
				if td := aws.ToString(describe(t, proxied).TaskDefinition); td[len(td)-5:] != want {
					t.Errorf("describe %d through the proxy shows %s, want %s", i+1, td, want)
				}
			}
		})
	}
}
