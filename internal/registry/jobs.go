package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/pier-deploy/pier/internal/image"
)

// Registry returns the registry host to push to: configured (pier.yaml's
// registry:) when set, else the caller's own ECR registry as named by its
// authorization token.
func (p *Pusher) Registry(ctx context.Context, configured string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	kc, ok := p.kc.(*ECRKeychain)
	if !ok {
		return "", errors.New("no registry to push to: set registry: in pier.yaml, or give pier AWS credentials so it can find your ECR registry")
	}
	host, err := kc.Registry(ctx)
	if err != nil {
		return "", fmt.Errorf("finding your ECR registry: %w", err)
	}
	if host == "" {
		return "", errors.New("finding your ECR registry: the authorization token names no proxy endpoint; set registry: in pier.yaml")
	}
	return host, nil
}

// JobsFor makes one push job per artifact: host/<repository>:tag, or
// host/<repository> (pushed by digest only) when tag is empty.
func JobsFor(host, tag string, arts []*image.Artifact) ([]Job, error) {
	jobs := make([]Job, 0, len(arts))
	for _, a := range arts {
		s := host + "/" + a.Repository
		var ref name.Reference
		var err error
		if tag != "" {
			ref, err = name.NewTag(s + ":" + tag)
		} else {
			var repo name.Repository
			repo, err = name.NewRepository(s)
			ref = repo.Digest(a.Digest.String())
		}
		if err != nil {
			return nil, fmt.Errorf("image %q: %q is not a valid image reference: %w", a.Name, s+":"+tag, err)
		}
		jobs = append(jobs, Job{Name: a.Name, Ref: ref, Image: a.Taggable()})
	}
	return jobs, nil
}

// Has reports whether the registry already holds ref (a repository@digest),
// with one HEAD and no upload: what `pier plan` needs to say "push needed".
func (p *Pusher) Has(ctx context.Context, ref name.Digest) (bool, error) {
	_, err := remote.Head(ref, remote.WithContext(ctx), remote.WithAuthFromKeychain(p.kc), remote.WithTransport(p.o.transport))
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return false, nil
	}
	if isNameUnknown(err) {
		return false, nil // the repository does not exist yet
	}
	if err != nil {
		return false, fmt.Errorf("checking %s in the registry: %w", ref, err)
	}
	return true, nil
}

func isNameUnknown(err error) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	for _, d := range terr.Errors {
		if d.Code == transport.NameUnknownErrorCode || d.Code == transport.ManifestUnknownErrorCode {
			return true
		}
	}
	return false
}
