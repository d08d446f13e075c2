package registry

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
)

// ECRAPI is the part of the ECR API pier uses; *ecr.Client satisfies it, and
// so does the simulator's ECR through a real client pointed at it.
type ECRAPI interface {
	GetAuthorizationToken(ctx context.Context, in *ecr.GetAuthorizationTokenInput, optFns ...func(*ecr.Options)) (*ecr.GetAuthorizationTokenOutput, error)
	DescribeRepositories(ctx context.Context, in *ecr.DescribeRepositoriesInput, optFns ...func(*ecr.Options)) (*ecr.DescribeRepositoriesOutput, error)
	CreateRepository(ctx context.Context, in *ecr.CreateRepositoryInput, optFns ...func(*ecr.Options)) (*ecr.CreateRepositoryOutput, error)
}

var _ ECRAPI = (*ecr.Client)(nil)

// ecrHostRE matches private ECR registry hosts (commercial, FIPS, China).
var ecrHostRE = regexp.MustCompile(`^(\d{12})\.dkr\.ecr(-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$`)

// IsECRHost reports whether host is a private ECR registry.
func IsECRHost(host string) bool { return ecrHostRE.MatchString(host) }

// tokenMargin renews a token this long before ECR says it expires, so a push
// that starts near the end of its 12 hours does not fail half-way.
const tokenMargin = 5 * time.Minute

// ECRKeychain answers credentials for ECR registries from
// ecr:GetAuthorizationToken and for every other registry from a fallback
// keychain (the Docker config by default). The token is fetched once and
// reused until shortly before it expires. Unlike a credential helper, a
// failing GetAuthorizationToken is an error, not anonymous access.
type ECRKeychain struct {
	api      ECRAPI
	fallback authn.Keychain
	hosts    map[string]bool
	observe  func(password string)
	now      func() time.Time

	mu      sync.Mutex
	user    string
	pass    string
	proxy   string // host of the token's proxy endpoint: the caller's registry
	expires time.Time
}

// KeychainOption configures NewECRKeychain.
type KeychainOption func(*ECRKeychain)

// WithFallback sets the keychain for registries that are not ECR
// (default authn.DefaultKeychain).
func WithFallback(k authn.Keychain) KeychainOption {
	return func(e *ECRKeychain) { e.fallback = k }
}

// WithECRHost treats host (e.g. the sandbox's 127.0.0.1:PORT) as an ECR registry.
func WithECRHost(host string) KeychainOption {
	return func(e *ECRKeychain) { e.hosts[host] = true }
}

// WithTokenObserver calls observe with each new registry password the moment
// it is fetched, before it can appear anywhere else (GitHub's ::add-mask::).
func WithTokenObserver(observe func(password string)) KeychainOption {
	return func(e *ECRKeychain) { e.observe = observe }
}

// WithClock sets the clock that decides when a token has expired.
func WithClock(now func() time.Time) KeychainOption {
	return func(e *ECRKeychain) { e.now = now }
}

// NewECRKeychain returns a keychain that asks api for ECR tokens.
func NewECRKeychain(api ECRAPI, opts ...KeychainOption) *ECRKeychain {
	e := &ECRKeychain{api: api, fallback: authn.DefaultKeychain, hosts: map[string]bool{}, now: time.Now}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Resolve implements authn.Keychain.
func (e *ECRKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	return e.ResolveContext(context.Background(), r)
}

// ResolveContext implements authn.ContextKeychain.
func (e *ECRKeychain) ResolveContext(ctx context.Context, r authn.Resource) (authn.Authenticator, error) {
	if !e.isECR(r.RegistryStr()) {
		return authn.Resolve(ctx, e.fallback, r)
	}
	user, pass, _, err := e.token(ctx)
	if err != nil {
		return nil, err
	}
	return &authn.Basic{Username: user, Password: pass}, nil
}

func (e *ECRKeychain) isECR(host string) bool {
	if e.hosts[host] || IsECRHost(host) {
		return true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.proxy != "" && e.proxy == host
}

// Registry returns the host of the caller's own ECR registry, as named by
// the authorization token's proxy endpoint.
func (e *ECRKeychain) Registry(ctx context.Context) (string, error) {
	_, _, host, err := e.token(ctx)
	return host, err
}

func (e *ECRKeychain) token(ctx context.Context) (user, pass, host string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pass != "" && e.now().Before(e.expires.Add(-tokenMargin)) {
		return e.user, e.pass, e.proxy, nil
	}
	out, err := e.api.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return "", "", "", fmt.Errorf("getting an ECR authorization token (ecr:GetAuthorizationToken): %w", err)
	}
	if len(out.AuthorizationData) == 0 || out.AuthorizationData[0].AuthorizationToken == nil {
		return "", "", "", errors.New("getting an ECR authorization token: the answer holds no token")
	}
	d := out.AuthorizationData[0]
	raw, err := base64.StdEncoding.DecodeString(*d.AuthorizationToken)
	if err != nil {
		return "", "", "", fmt.Errorf("decoding the ECR authorization token: %w", err)
	}
	u, p, ok := strings.Cut(string(raw), ":")
	if !ok || p == "" {
		return "", "", "", errors.New("decoding the ECR authorization token: it is not user:password")
	}
	if e.observe != nil {
		e.observe(p)
	}
	e.user, e.pass = u, p
	e.expires = e.now().Add(12 * time.Hour)
	if d.ExpiresAt != nil {
		e.expires = *d.ExpiresAt
	}
	if d.ProxyEndpoint != nil {
		if pu, err := url.Parse(*d.ProxyEndpoint); err == nil && pu.Host != "" {
			e.proxy = pu.Host
		} else {
			e.proxy = strings.TrimPrefix(strings.TrimPrefix(*d.ProxyEndpoint, "https://"), "http://")
		}
	}
	return e.user, e.pass, e.proxy, nil
}
