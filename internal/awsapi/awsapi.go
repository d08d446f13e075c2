// Package awsapi is the narrow waist between pier and the AWS SDK: the few
// operations pier calls, as interfaces that *ecs.Client, *ecr.Client and
// *elasticloadbalancingv2.Client satisfy, and the production aws.Config.
// Tests point the same real clients at the simulator (internal/sim) by
// building aws.Config by hand; nothing in pier holds a concrete client type
// except New.
package awsapi

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go/logging"
)

// ECS is what pier asks of Amazon ECS.
type ECS interface {
	DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	UpdateService(context.Context, *ecs.UpdateServiceInput, ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
	RegisterTaskDefinition(context.Context, *ecs.RegisterTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
	DescribeTaskDefinition(context.Context, *ecs.DescribeTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	ListTaskDefinitions(context.Context, *ecs.ListTaskDefinitionsInput, ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error)
	DeregisterTaskDefinition(context.Context, *ecs.DeregisterTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error)
	ListTasks(context.Context, *ecs.ListTasksInput, ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
	DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
	ListContainerInstances(context.Context, *ecs.ListContainerInstancesInput, ...func(*ecs.Options)) (*ecs.ListContainerInstancesOutput, error)
	DescribeContainerInstances(context.Context, *ecs.DescribeContainerInstancesInput, ...func(*ecs.Options)) (*ecs.DescribeContainerInstancesOutput, error)
}

// ECR is what pier asks of the ECR control plane (the registry's data plane
// is spoken by go-containerregistry).
type ECR interface {
	GetAuthorizationToken(context.Context, *ecr.GetAuthorizationTokenInput, ...func(*ecr.Options)) (*ecr.GetAuthorizationTokenOutput, error)
	DescribeRepositories(context.Context, *ecr.DescribeRepositoriesInput, ...func(*ecr.Options)) (*ecr.DescribeRepositoriesOutput, error)
	CreateRepository(context.Context, *ecr.CreateRepositoryInput, ...func(*ecr.Options)) (*ecr.CreateRepositoryOutput, error)
}

// ELB is what pier asks of Elastic Load Balancing v2: target health for status.
type ELB interface {
	DescribeTargetHealth(context.Context, *elbv2.DescribeTargetHealthInput, ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
}

// Compile-time proof that the SDK clients satisfy the interfaces.
var (
	_ ECS = (*ecs.Client)(nil)
	_ ECR = (*ecr.Client)(nil)
	_ ELB = (*elbv2.Client)(nil)
)

// Clients bundles the clients of one account and region.
type Clients struct {
	ECS    ECS
	ECR    ECR
	ELB    ELB
	Config aws.Config // the config they were made from, for the registry keychain
}

// New makes the real SDK clients from cfg.
func New(cfg aws.Config) *Clients {
	return &Clients{
		ECS:    ecs.NewFromConfig(cfg),
		ECR:    ecr.NewFromConfig(cfg),
		ELB:    elbv2.NewFromConfig(cfg),
		Config: cfg,
	}
}

// Retryer is pier's retry policy: the SDK's standard retryer (which retries
// ThrottlingException and 5xx with jittered exponential backoff) with more
// attempts, because a deploy that gives up on a throttled UpdateService
// leaves a half-done rollout. The poll loop adds its own patience on top.
func Retryer(maxBackoff time.Duration) func() aws.Retryer {
	return func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 8
			o.MaxBackoff = maxBackoff
			// A throttled deploy must not run out of retry tokens midway.
			o.RateLimiter = noRateLimit{}
		})
	}
}

// noRateLimit disables the client-side retry token bucket.
type noRateLimit struct{}

func (noRateLimit) GetToken(context.Context, uint) (func() error, error) {
	return func() error { return nil }, nil
}
func (noRateLimit) AddTokens(uint) error { return nil }

// loadOptions are Load's settings. The SDK's own log lines are dropped:
// without credentials it prints "WARN falling back to IMDSv1 ... 403"
// before pier's error, which says the same and what to do (see Explain).
func loadOptions(region string) []func(*config.LoadOptions) error {
	opts := []func(*config.LoadOptions) error{config.WithRetryer(Retryer(20 * time.Second)), config.WithLogger(logging.Nop{})}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	return opts
}

// Load returns the production aws.Config: the default credential chain and
// shared config, region from pier.yaml when set (else AWS_REGION /
// AWS_DEFAULT_REGION / the profile), and the service endpoints from
// AWS_ENDPOINT_URL_ECS, AWS_ENDPOINT_URL_ECR and
// AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 (or AWS_ENDPOINT_URL), which
// the SDK honours on its own — that is how `pier sandbox` is reached.
func Load(ctx context.Context, region string) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx, loadOptions(region)...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: no region: set region: in pier.yaml, or AWS_REGION")
	}
	return cfg, nil
}
