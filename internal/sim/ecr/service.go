// Package ecr simulates Amazon ECR for pier's tests and sandbox: the control plane
// (awsJson1_1, the operations pier and the images engineer use) and the OCI registry
// data plane under /v2/, both backed by one store so that DescribeImages, BatchGetImage
// and the registry always agree.
//
// Mounting, as the simulator's server does it:
//
//	svc := ecr.New("123456789012", "eu-west-1", clock.Now)
//	svc.SetRegistryHost("127.0.0.1:PORT")          // repositoryUri = host/name
//	mux: X-Amz-Target AmazonEC2ContainerRegistry_V20150921.* → svc
//	     /v2/...                                   → svc.Registry()
//
// The registry imitates ECR where it differs from a plain distribution registry:
//   - every request needs HTTP basic auth with user AWS and a password from
//     GetAuthorizationToken (401 with a Basic challenge otherwise; 403 DENIED once the
//     token expired on the virtual clock);
//   - a repository that was not created answers 404 NAME_UNKNOWN;
//   - an IMMUTABLE repository refuses to move an existing tag to another digest
//     (400 TAG_INVALID naming the tag and the digest that holds it) and accepts the
//     same digest again;
//   - blobs belong to repositories: a HEAD in repository B does not see a layer only
//     pushed to A, but a cross-repository mount (?mount=&from=) makes it visible
//     without an upload;
//   - a manifest is refused (MANIFEST_BLOB_UNKNOWN) when its config, layers or child
//     manifests are not in the repository.
//
// Counters per repository (blob uploads and bytes, mounts, manifest puts, HEAD checks,
// pulls) let tests and benchmarks prove what a push really sent; see [Service.Counters].
//
// Public base images (nginx, node, eclipse-temurin, sonatype/nexus3, …) do not exist
// without the internet. [SyntheticImage] builds a deterministic stand-in for any
// reference, and [Service.SeedPublic] stores it under [MirrorRepository] of the
// reference, where anonymous pulls work like on Docker Hub; [Service.MirrorRef] says
// where a builder finds it. [Service.HasImage] answers the ECS simulator's pull check.
package ecr

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// TargetPrefix is the X-Amz-Target prefix of every ECR control-plane operation.
const TargetPrefix = "AmazonEC2ContainerRegistry_V20150921."

// TokenLifetime is how long a GetAuthorizationToken password stays valid, as in ECR.
const TokenLifetime = 12 * time.Hour

// Service is one simulated ECR registry (one account, one region). It is safe for
// concurrent use; all methods may be called while it serves requests.
type Service struct {
	account, region string
	now             func() time.Time

	mu       sync.Mutex
	host     string
	repos    map[string]*repository
	tokens   map[string]time.Time // password → expiry
	content  map[string][]byte    // blob digest → bytes, shared by all repositories
	counters map[string]*Counters // repository → counters
	mountsOn bool

	registry http.Handler
}

// Option changes a Service at construction.
type Option func(*Service)

// WithoutBlobMounting makes the registry ignore cross-repository mount requests, as
// ECR does while the account setting BLOB_MOUNTING is disabled: the client falls back
// to an upload.
func WithoutBlobMounting() Option {
	return func(s *Service) { s.mountsOn = false }
}

// New returns an empty registry for account and region whose time comes from now
// (the simulator's virtual clock). A nil now means time.Now.
func New(account, region string, now func() time.Time, opts ...Option) *Service {
	if now == nil {
		now = time.Now
	}
	s := &Service{
		account:  account,
		region:   region,
		now:      now,
		repos:    map[string]*repository{},
		tokens:   map[string]time.Time{},
		content:  map[string][]byte{},
		counters: map[string]*Counters{},
		mountsOn: true,
	}
	for _, o := range opts {
		o(s)
	}
	s.registry = s.newRegistry()
	return s
}

// SetRegistryHost sets the host[:port] clients use for the registry; repositoryUri
// and proxyEndpoint are built from it. Until it is called, the registry is named
// like ECR's: ACCOUNT.dkr.ecr.REGION.amazonaws.com.
func (s *Service) SetRegistryHost(host string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.host = host
}

// RegistryHost returns the host[:port] in repository URIs.
func (s *Service) RegistryHost() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hostLocked()
}

func (s *Service) hostLocked() string {
	if s.host != "" {
		return s.host
	}
	return s.ecrHost()
}

// ecrHost is the name real ECR gives this registry; task definitions written for AWS
// use it, so HasImage accepts it as well as the simulator's own host.
func (s *Service) ecrHost() string {
	return fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com", s.account, s.region)
}

// Account returns the registry id (the AWS account).
func (s *Service) Account() string { return s.account }

// Counters counts what the registry was asked to do for one repository.
type Counters struct {
	BlobUploads   int64 // completed blob uploads (monolithic or chunked)
	BlobBytes     int64 // bytes of those uploads
	Mounts        int64 // blobs made visible by a cross-repository mount
	ManifestPuts  int64 // accepted manifest PUTs
	BlobHeads     int64 // HEAD on a blob (existence checks)
	ManifestHeads int64 // HEAD on a manifest
	BlobGets      int64 // blob downloads
	ManifestGets  int64 // manifest downloads
}

// add folds o into c.
func (c *Counters) add(o Counters) {
	c.BlobUploads += o.BlobUploads
	c.BlobBytes += o.BlobBytes
	c.Mounts += o.Mounts
	c.ManifestPuts += o.ManifestPuts
	c.BlobHeads += o.BlobHeads
	c.ManifestHeads += o.ManifestHeads
	c.BlobGets += o.BlobGets
	c.ManifestGets += o.ManifestGets
}

// Counters returns the counters of one repository, or the sum over all repositories
// when repo is "".
func (s *Service) Counters(repo string) Counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sum Counters
	for name, c := range s.counters {
		if repo == "" || name == repo {
			sum.add(*c)
		}
	}
	return sum
}

// ResetCounters zeroes every counter, so a test can measure one push in isolation.
func (s *Service) ResetCounters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counters = map[string]*Counters{}
}

// count applies f to repo's counters.
func (s *Service) count(repo string, f func(*Counters)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counters[repo]
	if c == nil {
		c = &Counters{}
		s.counters[repo] = c
	}
	f(c)
}

// ServeHTTP serves the awsJson1_1 control plane: POST / with
// X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Op>.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, TargetPrefix)
	if r.Method != http.MethodPost || !ok {
		writeError(w, http.StatusBadRequest, "UnknownOperationException",
			fmt.Sprintf("unsupported request %s %s with X-Amz-Target %q", r.Method, r.URL.Path, target))
		return
	}
	h := s.ops()[op]
	if h == nil {
		writeError(w, http.StatusBadRequest, "UnknownOperationException",
			fmt.Sprintf("the simulator does not implement ECR operation %s", op))
		return
	}
	h(w, r)
}

// Operations lists the control-plane operations the simulator implements, sorted.
func (s *Service) Operations() []string {
	return slices.Sorted(maps.Keys(s.ops()))
}

func (s *Service) ops() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"CreateRepository":      s.createRepository,
		"DescribeRepositories":  s.describeRepositories,
		"DeleteRepository":      s.deleteRepository,
		"PutImageTagMutability": s.putImageTagMutability,
		"GetAuthorizationToken": s.getAuthorizationToken,
		"DescribeImages":        s.describeImages,
		"BatchGetImage":         s.batchGetImage,
		"ListImages":            s.listImages,
		"BatchDeleteImage":      s.batchDeleteImage,
		"PutImage":              s.putImage,
	}
}
