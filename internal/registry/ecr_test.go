package registry

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/pier-deploy/pier/internal/image"
	"github.com/pier-deploy/pier/internal/registry/registrytest"
	simecr "github.com/pier-deploy/pier/internal/sim/ecr"
)

func newECRPusher(t *testing.T, s *simECR, create bool, opts ...Option) *Pusher {
	t.Helper()
	p, err := NewPusher(append([]Option{WithECR(s.api), WithRegistryHost(s.host), WithCreateRepositories(create)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestECRPushLifecycle(t *testing.T) {
	s := newSimECR(t)
	base := func(ref string) string { return s.base(t, ref) }
	cache := t.TempDir()
	f := inforum(t, writeJar(t, "1.0.0"), base)
	kc := NewECRKeychain(s.api, WithECRHost(s.host))
	buildOpts := image.WithKeychain(kc)

	// Without createRepositories, a missing repository is a clear error.
	p := newECRPusher(t, s, false)
	_, err := p.PushAll(context.Background(), jobs(t, s.host, "v1", build(t, f, cache, buildOpts)))
	if err == nil || !strings.Contains(err.Error(), `ECR repository "backend" does not exist`) || !strings.Contains(err.Error(), "createRepositories: true") {
		t.Fatalf("err = %v, want one naming the repository and createRepositories", err)
	}

	// With it, repositories are created immutable with scan on push.
	s.svc.ResetCounters()
	s.api.tokens.Store(0)
	p = newECRPusher(t, s, true)
	first, err := p.PushAll(context.Background(), jobs(t, s.host, "v1", build(t, f, cache, image.WithKeychain(p.Keychain()))))
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.api.DescribeRepositories(context.Background(), &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"backend"}})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Repositories[0]
	if r.ImageTagMutability != ecrtypes.ImageTagMutabilityImmutable || r.ImageScanningConfiguration == nil || !r.ImageScanningConfiguration.ScanOnPush {
		t.Errorf("created repository: mutability %s, scanning %+v; want IMMUTABLE and scanOnPush", r.ImageTagMutability, r.ImageScanningConfiguration)
	}
	if !first[0].Created {
		t.Error("result does not say the repository was created")
	}
	c := s.svc.Counters("")
	blobs, bytes := sumResults(first)
	if int64(blobs) != c.BlobUploads || bytes != c.BlobBytes {
		t.Errorf("results say %d blobs / %d bytes, the simulator counted %d / %d", blobs, bytes, c.BlobUploads, c.BlobBytes)
	}
	if c.Mounts == 0 {
		t.Error("no base layer was mounted from the mirrored bases in the same registry")
	}
	for _, r := range first {
		if d, ok := s.svc.HasImage(r.Reference); !ok || d != r.Digest {
			t.Errorf("ECS could not pull %s (got %q, %v)", r.Reference, d, ok)
		}
	}
	if n := s.api.tokens.Load(); n != 1 {
		t.Errorf("GetAuthorizationToken called %d times in one build+push run, want 1", n)
	}

	// The same images again, same immutable tag: success, nothing uploaded.
	s.svc.ResetCounters()
	again, err := newECRPusher(t, s, true).PushAll(context.Background(), jobs(t, s.host, "v1", build(t, f, cache, buildOpts)))
	if err != nil {
		t.Fatalf("re-pushing identical images to immutable tags: %v", err)
	}
	if c := s.svc.Counters(""); c.BlobUploads != 0 || c.ManifestPuts != 0 {
		t.Errorf("unchanged re-push: simulator counted %+v", c)
	}
	if b, _ := sumResults(again); b != 0 {
		t.Errorf("unchanged re-push: %d blobs", b)
	}

	// One class changed, new tag: the application layer and the config only.
	f2 := inforum(t, writeJar(t, "1.0.1"), base)
	as := build(t, f2, cache, buildOpts)
	s.svc.ResetCounters()
	changed, err := newECRPusher(t, s, true).PushAll(context.Background(), jobs(t, s.host, "v2", as))
	if err != nil {
		t.Fatal(err)
	}
	if c := s.svc.Counters("backend"); c.BlobUploads != 2 || c.BlobBytes > as[0].Layers[len(as[0].Layers)-1].Size+8192 {
		t.Errorf("backend after a one-class change: %d blobs, %d bytes; want 2 blobs (application layer + config)", c.BlobUploads, c.BlobBytes)
	}
	if c := s.svc.Counters(""); c.BlobUploads != 2 {
		t.Errorf("all repositories after a one-class change: %d blobs uploaded, want 2", c.BlobUploads)
	}
	if changed[0].Blobs != 2 {
		t.Errorf("backend result: %d blobs, want 2", changed[0].Blobs)
	}

	// The changed backend under the old immutable tag: an error naming the holder.
	_, err = newECRPusher(t, s, true).Push(context.Background(), jobs(t, s.host, "v1", as[:1])[0])
	if err == nil || !strings.Contains(err.Error(), first[0].Digest) || !strings.Contains(err.Error(), "immutable") {
		t.Fatalf("pushing a different image to immutable tag v1: err = %v, want one naming %s", err, first[0].Digest)
	}
}

// TestECRSharedBaseUploadedOnce: two repositories on one base from another
// registry; ECR keeps blobs per repository, so without care both would
// upload the base. pier uploads it once and mounts it into the other.
func TestECRSharedBaseUploadedOnce(t *testing.T) {
	upstream := registrytest.New(t)
	nginx := upstream.PushBase(t, "library/nginx:1.27-alpine")
	s := newSimECR(t)
	f := inforum(t, "", func(string) string { return nginx })
	f.Images = f.Images[2:] // backend-nginx, frontend-nginx
	as := build(t, f, t.TempDir())
	rs, err := newECRPusher(t, s, true).PushAll(context.Background(), jobs(t, s.host, "v1", as))
	if err != nil {
		t.Fatal(err)
	}
	a, b := s.svc.Counters("backend-nginx"), s.svc.Counters("frontend-nginx")
	// Each repository has its own nginx.conf layer and config; the two base
	// layers go up once in total.
	if got := a.BlobUploads + b.BlobUploads; got != 2+2+2 {
		t.Errorf("blob uploads = %d + %d, want 6 (2 base layers once, 2 own blobs per repository)", a.BlobUploads, b.BlobUploads)
	}
	if a.Mounts+b.Mounts != 2 {
		t.Errorf("mounts = %d + %d, want the 2 base layers mounted into the second repository", a.Mounts, b.Mounts)
	}
	if rs[1].Mounted != 2 {
		t.Errorf("frontend-nginx result: %d mounted, want 2", rs[1].Mounted)
	}
}

func TestECRKeychain(t *testing.T) {
	s := newSimECR(t)
	now := time.Now()
	var seen []string
	kc := NewECRKeychain(s.api, WithECRHost(s.host), WithClock(func() time.Time { return now }),
		WithTokenObserver(func(p string) { seen = append(seen, p) }))
	ctx := context.Background()
	res, err := registryResource(s.host)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := kc.ResolveContext(ctx, res)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := auth.Authorization()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Username != "AWS" || cfg.Password == "" || len(seen) != 1 || seen[0] != cfg.Password {
		t.Errorf("auth %q/%q, observer saw %q; want AWS and the observed password", cfg.Username, cfg.Password, seen)
	}
	if _, err := kc.Resolve(res); err != nil || s.api.tokens.Load() != 1 {
		t.Errorf("second resolve: err %v, %d token calls; want the cached token", err, s.api.tokens.Load())
	}
	now = now.Add(12 * time.Hour)
	if _, err := kc.Resolve(res); err != nil || s.api.tokens.Load() != 2 || len(seen) != 2 {
		t.Errorf("after 12h: err %v, %d token calls, %d observed; want a new token", err, s.api.tokens.Load(), len(seen))
	}
	host, err := kc.Registry(ctx)
	if err != nil || host == "" {
		t.Errorf("Registry() = %q, %v", host, err)
	}

	// Non-ECR registries go to the fallback keychain.
	other, _ := registryResource("ghcr.io")
	a, err := NewECRKeychain(s.api, WithFallback(authn.NewMultiKeychain())).Resolve(other)
	if err != nil || a != authn.Anonymous {
		t.Errorf("ghcr.io: %v, %v; want the fallback's anonymous", a, err)
	}

	// A failing GetAuthorizationToken is reported, not turned into anonymous access.
	dead := ecr.NewFromConfig(aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String("http://127.0.0.1:1"),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""), HTTPClient: &http.Client{Timeout: 2 * time.Second},
		RetryMaxAttempts: 1})
	_, err = NewECRKeychain(dead).Resolve(mustResource(t, "123456789012.dkr.ecr.eu-west-1.amazonaws.com"))
	if err == nil || !strings.Contains(err.Error(), "ecr:GetAuthorizationToken") {
		t.Errorf("unreachable ECR: err = %v, want the GetAuthorizationToken error", err)
	}
}

func TestIsECRHost(t *testing.T) {
	for host, want := range map[string]bool{
		"123456789012.dkr.ecr.eu-west-1.amazonaws.com":      true,
		"123456789012.dkr.ecr-fips.us-east-1.amazonaws.com": true,
		"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn":  true,
		"public.ecr.aws":                        false,
		"12345.dkr.ecr.eu-west-1.amazonaws.com": false,
		"ghcr.io":                               false,
	} {
		if got := IsECRHost(host); got != want {
			t.Errorf("IsECRHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestTokenDecodingErrors(t *testing.T) {
	for _, tc := range []struct{ name, token string }{
		{"not base64", "%%%"},
		{"no colon", base64.StdEncoding.EncodeToString([]byte("AWS"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kc := NewECRKeychain(tokenServer(t, tc.token))
			_, err := kc.Resolve(mustResource(t, "123456789012.dkr.ecr.eu-west-1.amazonaws.com"))
			if err == nil || !strings.Contains(err.Error(), "decoding the ECR authorization token") {
				t.Errorf("err = %v", err)
			}
		})
	}
}

// tokenServer answers GetAuthorizationToken on the wire with a given token,
// to feed the decoder input the simulator never produces; the real SDK
// client reads it.
func tokenServer(t *testing.T, token string) *ecr.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".GetAuthorizationToken") {
			http.Error(w, `{"__type":"InvalidParameterException","message":"unexpected operation"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fmt.Fprintf(w, `{"authorizationData":[{"authorizationToken":%q,"expiresAt":%d,"proxyEndpoint":"https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"}]}`,
			token, time.Now().Add(12*time.Hour).Unix())
	}))
	t.Cleanup(srv.Close)
	return ecr.NewFromConfig(aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""), HTTPClient: srv.Client()})
}

// TestECRWithoutBlobMounting: with ECR's BLOB_MOUNTING setting off, mounts
// fail and pier falls back to copying the blobs; the push still succeeds.
func TestECRWithoutBlobMounting(t *testing.T) {
	s := newSimECR(t, simecr.WithoutBlobMounting())
	nginx := s.base(t, "nginx:1.27-alpine")
	f := inforum(t, "", func(string) string { return nginx })
	f.Images = f.Images[2:]
	p := newECRPusher(t, s, true)
	as := build(t, f, t.TempDir(), image.WithKeychain(p.Keychain()))
	rs, err := p.PushAll(context.Background(), jobs(t, s.host, "v1", as))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := as[0].Image.Manifest()
	baseLayers := int64(len(m.Layers) - len(as[0].Layers))
	c := s.svc.Counters("")
	// ECR keeps blobs per repository: without mounts each one needs its own copy.
	if c.Mounts != 0 || c.BlobUploads != 2*baseLayers+4 {
		t.Errorf("mounts %d, uploads %d; want 0 mounts, the %d base layers copied into each repository, and 2 own blobs per image", c.Mounts, c.BlobUploads, baseLayers)
	}
	for _, r := range rs {
		if d, ok := s.svc.HasImage(r.Reference); !ok || d != r.Digest {
			t.Errorf("%s not pullable", r.Reference)
		}
	}
}

// TestECRTwoPlatforms: a two-platform build reaches ECR as one index; the
// app layers shared by both platforms are uploaded once.
func TestECRTwoPlatforms(t *testing.T) {
	s := newSimECR(t)
	plats := []string{"linux/amd64", "linux/arm64"}
	f := inforum(t, "", func(ref string) string { return s.base(t, ref, plats...) }, plats...)
	f.Images = f.Images[:2] // backend, frontend
	p := newECRPusher(t, s, true)
	as := build(t, f, t.TempDir(), image.WithKeychain(p.Keychain()))
	rs, err := p.PushAll(context.Background(), jobs(t, s.host, "v1", as))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		got, ok := s.svc.ImagePlatforms(r.Reference)
		if !ok || strings.Join(got, ",") != strings.Join(plats, ",") {
			t.Errorf("%s: platforms %v (%v), want %v", r.Name, got, ok, plats)
		}
		// Own layers once + one config per platform; base layers mounted.
		if c := s.svc.Counters(r.Name); c.BlobUploads != int64(len(as[i].Layers)+2) {
			t.Errorf("%s: %d blobs uploaded, want %d (app layers once, two configs)", r.Name, c.BlobUploads, len(as[i].Layers)+2)
		}
	}
}

// TestHas: plan asks whether an image is already pushed, without pushing.
func TestHas(t *testing.T) {
	s := newSimECR(t)
	nginx := s.base(t, "nginx:1.27-alpine")
	f := inforum(t, "", func(string) string { return nginx })
	f.Images = f.Images[2:3]
	p := newECRPusher(t, s, true)
	as := build(t, f, t.TempDir(), image.WithKeychain(p.Keychain()))
	ref, err := name.NewDigest(s.host + "/backend-nginx@" + as[0].Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := p.Has(context.Background(), ref); ok || err != nil {
		t.Errorf("before the push (no repository yet): %v, %v; want false, nil", ok, err)
	}
	if _, err := p.PushAll(context.Background(), jobs(t, s.host, "v1", as)); err != nil {
		t.Fatal(err)
	}
	if ok, err := p.Has(context.Background(), ref); !ok || err != nil {
		t.Errorf("after the push: %v, %v; want true", ok, err)
	}
	other, _ := name.NewDigest(s.host + "/backend-nginx@sha256:" + strings.Repeat("0", 64))
	if ok, err := p.Has(context.Background(), other); ok || err != nil {
		t.Errorf("unknown digest: %v, %v; want false, nil", ok, err)
	}
	plats, err := as[0].Platforms()
	if err != nil || strings.Join(plats, ",") != "linux/amd64" {
		t.Errorf("platforms %v, %v", plats, err)
	}
}

// TestECRFoundThroughTheToken: with no registry: and no declared host, pier
// pushes to the registry ECR's token names and treats it as ECR even when
// its name does not look like one (an endpoint from AWS_ENDPOINT_URL_ECR):
// missing repositories are created, immutable.
func TestECRFoundThroughTheToken(t *testing.T) {
	s := newSimECR(t)
	f := inforum(t, "", func(ref string) string { return s.base(t, ref) })
	f.Images = f.Images[2:3] // backend-nginx
	p, err := NewPusher(WithECR(s.api), WithCreateRepositories(true))
	if err != nil {
		t.Fatal(err)
	}
	host, err := p.Registry(context.Background(), "")
	if err != nil || host != s.host {
		t.Fatalf("Registry() = %q, %v; want the token's proxy endpoint %s", host, err, s.host)
	}
	js, err := JobsFor(host, "v1", build(t, f, t.TempDir(), image.WithKeychain(p.Keychain())))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PushAll(context.Background(), js); err != nil {
		t.Fatal(err)
	}
	out, err := s.api.DescribeRepositories(context.Background(), &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"backend-nginx"}})
	if err != nil || len(out.Repositories) != 1 || out.Repositories[0].ImageTagMutability != "IMMUTABLE" {
		t.Fatalf("repository after the push: %+v, %v; want one created with immutable tags", out, err)
	}
}
