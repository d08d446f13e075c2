package registry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/image"
	"github.com/pier-deploy/pier/internal/image/bootjar"
	simecr "github.com/pier-deploy/pier/internal/sim/ecr"
)

const testdata = "../../testdata/inforum"

// inforum is the inforum deployment's images on bases named by base(name).
func inforum(t testing.TB, jar string, base func(string) string, platforms ...string) *config.File {
	t.Helper()
	testdata := testdata
	if jar != "" {
		// Builds read only below the directory of pier.yaml: the fixture
		// is copied with this jar in place of its own.
		dir := t.TempDir()
		data, err := os.ReadFile(jar)
		if err == nil {
			err = os.CopyFS(dir, os.DirFS(testdata))
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "backend", "app.jar"), data, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		testdata = dir
	}
	jar = filepath.Join(testdata, "backend/app.jar")
	return &config.File{Path: filepath.Join(testdata, "pier.yaml"), Dir: testdata, Tag: "v1", Platforms: platforms, Images: []*config.Image{
		{Name: "backend", SpringBoot: &config.SpringBootBuild{Base: base("eclipse-temurin:21-jre"), Jar: jar}},
		{Name: "frontend", Next: &config.NextBuild{Base: base("node:22-alpine"), Dir: filepath.Join(testdata, "frontend")}},
		{Name: "backend-nginx", Nginx: &config.NginxBuild{Base: base("nginx:1.27-alpine"), Config: filepath.Join(testdata, "backend/nginx.conf")}},
		{Name: "frontend-nginx", Nginx: &config.NginxBuild{Base: base("nginx:1.27-alpine"), Config: filepath.Join(testdata, "frontend/nginx.conf")}},
	}}
}

func writeJar(t testing.TB, version string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "app.jar")
	if err := os.WriteFile(p, bootjar.Bytes(bootjar.Spec{AppVersion: version}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func build(t testing.TB, f *config.File, cacheDir string, opts ...image.Option) []*image.Artifact {
	t.Helper()
	as, err := image.BuildAll(context.Background(), f, nil, append([]image.Option{image.WithCacheDir(cacheDir)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// jobs turns artifacts into push jobs to host/<repository>:tag.
func jobs(t testing.TB, host, tag string, as []*image.Artifact) []Job {
	t.Helper()
	out := make([]Job, len(as))
	for i, a := range as {
		ref, err := name.ParseReference(host + "/" + a.Repository + ":" + tag)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = Job{Name: a.Name, Ref: ref, Image: a.Taggable()}
	}
	return out
}

// simECR serves the simulator's ECR (control plane and registry) on 127.0.0.1.
type simECR struct {
	svc  *simecr.Service
	srv  *httptest.Server
	host string
	api  *countingECR
}

func newSimECR(t testing.TB, opts ...simecr.Option) *simECR {
	t.Helper()
	svc := simecr.New("123456789012", "eu-west-1", time.Now, opts...)
	mux := http.NewServeMux()
	mux.Handle("/v2/", svc.Registry())
	mux.Handle("/", svc)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	svc.SetRegistryHost(host)
	client := ecr.NewFromConfig(aws.Config{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
		HTTPClient:   &http.Client{Timeout: 30 * time.Second},
	})
	return &simECR{svc: svc, srv: srv, host: host, api: &countingECR{ECRAPI: client}}
}

// base seeds a public image in the simulator and returns the mirror reference.
func (s *simECR) base(t testing.TB, ref string, platforms ...string) string {
	t.Helper()
	if len(platforms) == 0 {
		platforms = []string{"linux/amd64"}
	}
	if _, err := s.svc.SeedPublic(ref, platforms); err != nil {
		t.Fatal(err)
	}
	m, err := s.svc.MirrorRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// countingECR counts GetAuthorizationToken calls on the real client.
type countingECR struct {
	ECRAPI
	tokens atomic.Int64
}

func (c *countingECR) GetAuthorizationToken(ctx context.Context, in *ecr.GetAuthorizationTokenInput, optFns ...func(*ecr.Options)) (*ecr.GetAuthorizationTokenOutput, error) {
	c.tokens.Add(1)
	return c.ECRAPI.GetAuthorizationToken(ctx, in, optFns...)
}

func registryResource(host string) (authn.Resource, error) { return name.NewRegistry(host) }

func mustResource(t testing.TB, host string) authn.Resource {
	t.Helper()
	r, err := name.NewRegistry(host)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
