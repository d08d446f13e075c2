package ecr

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/pier-deploy/pier/internal/sim/clock"
)

const testAccount = "123456789012"

// env is one simulated ECR behind an HTTP server on 127.0.0.1, with a real SDK client.
type env struct {
	svc    *Service
	srv    *httptest.Server
	clock  *clock.Clock // the simulator's virtual clock; tests advance it by hand
	client *awsecr.Client
	host   string
}

func newEnv(t testing.TB, opts ...Option) *env {
	t.Helper()
	clk := clock.New(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC))
	svc := New(testAccount, "eu-west-1", clk.Now, opts...)
	mux := http.NewServeMux()
	mux.Handle("/v2/", svc.Registry())
	mux.Handle("/", svc)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	svc.SetRegistryHost(host)
	cfg := aws.Config{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDSIM", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
		HTTPClient:   srv.Client(),
	}
	return &env{svc: svc, srv: srv, clock: clk, client: awsecr.NewFromConfig(cfg), host: host}
}

// createRepo creates a repository through the API.
func (e *env) createRepo(t testing.TB, name string, immutable bool) {
	t.Helper()
	in := &awsecr.CreateRepositoryInput{RepositoryName: aws.String(name)}
	if immutable {
		in.ImageTagMutability = "IMMUTABLE"
	}
	if _, err := e.client.CreateRepository(context.Background(), in); err != nil {
		t.Fatalf("CreateRepository(%s): %v", name, err)
	}
}

// auth returns registry credentials obtained through GetAuthorizationToken.
func (e *env) auth(t testing.TB) authn.Authenticator {
	t.Helper()
	out, err := e.client.GetAuthorizationToken(context.Background(), &awsecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatalf("GetAuthorizationToken: %v", err)
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		t.Fatalf("decoding the token: %v", err)
	}
	user, pass, _ := strings.Cut(string(raw), ":")
	return &authn.Basic{Username: user, Password: pass}
}

func (e *env) ref(t testing.TB, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(e.host+"/"+s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// push writes img to repo:tag with a, returning the error.
func (e *env) push(t testing.TB, repoTag string, img v1.Image, a authn.Authenticator) error {
	t.Helper()
	return remote.Write(e.ref(t, repoTag), img, remote.WithAuth(a))
}

// randomImage returns a random image with n layers of 1 KiB.
func randomImage(t testing.TB, n int64) v1.Image {
	t.Helper()
	img, err := random.Image(1024, n)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digest(t testing.TB, img interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}
