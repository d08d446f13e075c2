package target

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/pier-deploy/pier/internal/awsapi"
)

// LazyECR is the real ECR, configured only when an ECR registry is actually
// used, so a build on Docker Hub bases needs no AWS credentials or region.
type LazyECR struct {
	Region string // pier.yaml's region: ("" lets the SDK find one)

	once   sync.Once
	client awsapi.ECR
	err    error
}

var _ awsapi.ECR = (*LazyECR)(nil)

func (l *LazyECR) get(ctx context.Context) (awsapi.ECR, error) {
	l.once.Do(func() {
		cfg, err := awsapi.Load(ctx, l.Region)
		if err != nil {
			l.err = err
			return
		}
		l.client = awsapi.New(cfg).ECR
	})
	return l.client, l.err
}

// GetAuthorizationToken calls ECR's, configuring the client first.
func (l *LazyECR) GetAuthorizationToken(ctx context.Context, in *ecr.GetAuthorizationTokenInput, optFns ...func(*ecr.Options)) (*ecr.GetAuthorizationTokenOutput, error) {
	c, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return c.GetAuthorizationToken(ctx, in, optFns...)
}

// DescribeRepositories calls ECR's, configuring the client first.
func (l *LazyECR) DescribeRepositories(ctx context.Context, in *ecr.DescribeRepositoriesInput, optFns ...func(*ecr.Options)) (*ecr.DescribeRepositoriesOutput, error) {
	c, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return c.DescribeRepositories(ctx, in, optFns...)
}

// CreateRepository calls ECR's, configuring the client first.
func (l *LazyECR) CreateRepository(ctx context.Context, in *ecr.CreateRepositoryInput, optFns ...func(*ecr.Options)) (*ecr.CreateRepositoryOutput, error) {
	c, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return c.CreateRepository(ctx, in, optFns...)
}
