package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/name"
)

// repoInfo is what pier needs to know about an ECR repository before pushing.
type repoInfo struct {
	immutable bool
	created   bool
}

// ensureRepository makes sure repo exists in its ECR registry: it is
// described, and created (immutable tags, scan on push) when missing and
// create is set; otherwise a missing repository is an error saying how to fix it.
func ensureRepository(ctx context.Context, api ECRAPI, repo name.Repository, create bool) (repoInfo, error) {
	var registryID *string
	if m := ecrHostRE.FindStringSubmatch(repo.RegistryStr()); m != nil {
		registryID = aws.String(m[1])
	}
	out, err := api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{
		RegistryId:      registryID,
		RepositoryNames: []string{repo.RepositoryStr()},
	})
	var notFound *ecrtypes.RepositoryNotFoundException
	switch {
	case err == nil && len(out.Repositories) > 0:
		// IMMUTABLE_WITH_EXCLUSION leaves some tags mutable: for those the
		// push itself finds out (TAG_INVALID) instead of a check up front.
		return repoInfo{immutable: out.Repositories[0].ImageTagMutability == ecrtypes.ImageTagMutabilityImmutable}, nil
	case err != nil && !errors.As(err, &notFound):
		return repoInfo{}, fmt.Errorf("describing ECR repository %q: %w", repo.RepositoryStr(), err)
	}
	if !create {
		return repoInfo{}, fmt.Errorf("ECR repository %q does not exist in %s; create it, or set `createRepositories: true` in pier.yaml to let pier create it", repo.RepositoryStr(), repo.RegistryStr())
	}
	_, err = api.CreateRepository(ctx, &ecr.CreateRepositoryInput{
		RegistryId:                 registryID,
		RepositoryName:             aws.String(repo.RepositoryStr()),
		ImageTagMutability:         ecrtypes.ImageTagMutabilityImmutable,
		ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: true},
	})
	var exists *ecrtypes.RepositoryAlreadyExistsException
	if errors.As(err, &exists) {
		return ensureRepository(ctx, api, repo, false) // created meanwhile by someone else: read its settings
	}
	if err != nil {
		return repoInfo{}, fmt.Errorf("creating ECR repository %q (createRepositories: true): %w", repo.RepositoryStr(), err)
	}
	return repoInfo{immutable: true, created: true}, nil
}
