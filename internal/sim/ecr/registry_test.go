package ecr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// regCode returns the first OCI error code in err, or "".
func regCode(err error) (int, string, string) {
	var te *transport.Error
	if !errors.As(err, &te) {
		return 0, "", ""
	}
	if len(te.Errors) == 0 {
		return te.StatusCode, "", ""
	}
	return te.StatusCode, string(te.Errors[0].Code), te.Errors[0].Message
}

func TestPushPullByDigest(t *testing.T) {
	e := newEnv(t)
	e.createRepo(t, "inforum/backend", false)
	a := e.auth(t)
	img := randomImage(t, 3)
	if err := e.push(t, "inforum/backend:v1", img, a); err != nil {
		t.Fatalf("push: %v", err)
	}
	want := digest(t, img)
	got, err := remote.Image(e.ref(t, "inforum/backend@"+want), remote.WithAuth(a))
	if err != nil {
		t.Fatalf("pull by digest: %v", err)
	}
	if d := digest(t, got); d != want {
		t.Fatalf("pulled digest %s, pushed %s", d, want)
	}
	layers, err := got.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatalf("pulling a layer: %v", err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Fatalf("reading a layer: %v", err)
		}
		rc.Close()
	}
	c := e.svc.Counters("inforum/backend")
	if c.BlobUploads != 4 || c.ManifestPuts != 1 || c.BlobBytes == 0 || c.BlobGets < 3 {
		t.Errorf("counters after one push of 3 layers + config and one pull: %+v", c)
	}
	if d, ok := e.svc.HasImage(e.host + "/inforum/backend:v1"); !ok || d != want {
		t.Errorf("HasImage(v1) = %s, %v; want %s", d, ok, want)
	}
}

func TestRegistryErrors(t *testing.T) {
	e := newEnv(t)
	e.createRepo(t, "frontend", true)
	a := e.auth(t)
	img1, img2 := randomImage(t, 1), randomImage(t, 1)
	if err := e.push(t, "frontend:v1", img1, a); err != nil {
		t.Fatalf("first push: %v", err)
	}

	tests := []struct {
		name       string
		repoTag    string
		img        func() error
		wantStatus int
		wantCode   string
		wantInMsg  []string
	}{
		{
			name:    "same digest on an immutable tag succeeds",
			repoTag: "frontend:v1",
			img:     func() error { return e.push(t, "frontend:v1", img1, a) },
		},
		{
			name:       "another digest on an immutable tag is TAG_INVALID",
			img:        func() error { return e.push(t, "frontend:v1", img2, a) },
			wantStatus: http.StatusBadRequest, wantCode: "TAG_INVALID",
			wantInMsg: []string{"'v1'", digest(t, img1), "immutable"},
		},
		{
			name:       "a repository that was not created is NAME_UNKNOWN",
			img:        func() error { return e.push(t, "nope:v1", img1, a) },
			wantStatus: http.StatusNotFound, wantCode: "NAME_UNKNOWN",
			wantInMsg: []string{"'nope'", testAccount},
		},
		{
			name:       "no credentials is 401",
			img:        func() error { return e.push(t, "frontend:v2", img2, authn.Anonymous) },
			wantStatus: http.StatusUnauthorized,
		},
		{
			name:       "a password the registry never issued is 401",
			img:        func() error { return e.push(t, "frontend:v2", img2, &authn.Basic{Username: "AWS", Password: "guess"}) },
			wantStatus: http.StatusUnauthorized,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.img()
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				return
			}
			status, code, msg := regCode(err)
			if status != tt.wantStatus || (tt.wantCode != "" && code != tt.wantCode) {
				t.Fatalf("got status %d code %q (%v), want %d %q", status, code, err, tt.wantStatus, tt.wantCode)
			}
			for _, s := range tt.wantInMsg {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q does not mention %q", msg, s)
				}
			}
		})
	}
	if d, _ := e.svc.HasImage(e.host + "/frontend:v1"); d != digest(t, img1) {
		t.Errorf("after the refused push, v1 is %s, want %s", d, digest(t, img1))
	}
}

func TestPing(t *testing.T) {
	e := newEnv(t)
	a := e.auth(t).(*authn.Basic)
	tests := []struct {
		name       string
		user, pass string
		advance    time.Duration
		wantStatus int
	}{
		{name: "anonymous", wantStatus: http.StatusUnauthorized},
		{name: "wrong user", user: "admin", pass: a.Password, wantStatus: http.StatusUnauthorized},
		{name: "token", user: "AWS", pass: a.Password, wantStatus: http.StatusOK},
		{name: "expired token", user: "AWS", pass: a.Password, advance: TokenLifetime, wantStatus: http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.clock.Advance(tt.advance)
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v2/", nil)
			if tt.user != "" {
				req.SetBasicAuth(tt.user, tt.pass)
			}
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("GET /v2/ = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("Docker-Distribution-Api-Version"); got != "registry/2.0" {
				t.Errorf("Docker-Distribution-Api-Version = %q", got)
			}
			if tt.wantStatus == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic realm=") {
				t.Errorf("WWW-Authenticate = %q, want a Basic challenge", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestMountAndSkip(t *testing.T) {
	e := newEnv(t)
	e.createRepo(t, "base", false)
	e.createRepo(t, "app", false)
	a := e.auth(t)
	img := randomImage(t, 2)
	if err := e.push(t, "base:1", img, a); err != nil {
		t.Fatal(err)
	}
	// A layer of base is invisible in app until it is mounted or uploaded.
	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()
	req, _ := http.NewRequest(http.MethodHead, e.srv.URL+"/v2/app/blobs/"+ld.String(), nil)
	req.SetBasicAuth("AWS", a.(*authn.Basic).Password)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("HEAD of base's layer in app = %d, want 404", resp.StatusCode)
	}

	// Pulled from the same registry, the layers are mountable.
	src, err := remote.Image(e.ref(t, "base:1"), remote.WithAuth(a))
	if err != nil {
		t.Fatal(err)
	}
	e.svc.ResetCounters()
	if err := e.push(t, "app:1", src, a); err != nil {
		t.Fatalf("push with mounts: %v", err)
	}
	c := e.svc.Counters("app")
	if c.Mounts != 3 || c.BlobUploads != 0 || c.ManifestPuts != 1 {
		t.Errorf("pushing base's image to app: %+v, want 3 mounts (2 layers, config) and no upload", c)
	}

	// Pushing again uploads nothing: the manifest is found by HEAD.
	e.svc.ResetCounters()
	if err := e.push(t, "app:1", src, a); err != nil {
		t.Fatal(err)
	}
	c = e.svc.Counters("")
	if c.BlobUploads != 0 || c.Mounts != 0 || c.ManifestPuts != 0 || c.ManifestHeads == 0 {
		t.Errorf("unchanged re-push: %+v, want 0 uploads, mounts and manifest puts after a HEAD check", c)
	}
}

func TestMountDisabled(t *testing.T) {
	e := newEnv(t, WithoutBlobMounting())
	e.createRepo(t, "base", false)
	e.createRepo(t, "app", false)
	a := e.auth(t)
	if err := e.push(t, "base:1", randomImage(t, 2), a); err != nil {
		t.Fatal(err)
	}
	src, err := remote.Image(e.ref(t, "base:1"), remote.WithAuth(a))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.push(t, "app:1", src, a); err != nil {
		t.Fatalf("push falling back to uploads: %v", err)
	}
	if c := e.svc.Counters("app"); c.Mounts != 0 || c.BlobUploads != 3 {
		t.Errorf("with mounting off: %+v, want 0 mounts and 3 uploads", c)
	}
}

func TestManifestNeedsBlobs(t *testing.T) {
	e := newEnv(t)
	e.createRepo(t, "app", false)
	a := e.auth(t).(*authn.Basic)
	raw, _ := randomImage(t, 1).RawManifest()
	req, _ := http.NewRequest(http.MethodPut, e.srv.URL+"/v2/app/manifests/v1", strings.NewReader(string(raw)))
	req.Header.Set("Content-Type", "application/vnd.docker.distribution.manifest.v2+json")
	req.SetBasicAuth("AWS", a.Password)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "MANIFEST_BLOB_UNKNOWN") {
		t.Fatalf("manifest before its blobs: %d %s", resp.StatusCode, body)
	}
}

// TestConcurrentPushes pushes to several repositories at once while the control
// plane reads them, so the race detector sees the store's locking.
func TestConcurrentPushes(t *testing.T) {
	e := newEnv(t)
	a := e.auth(t)
	const n = 6
	for i := range n {
		e.createRepo(t, fmt.Sprintf("svc%d", i), i%2 == 0)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		img, ref := randomImage(t, 2), e.ref(t, fmt.Sprintf("svc%d:v1", i))
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- remote.Write(ref, img, remote.WithAuth(a))
		}()
		go func() {
			defer wg.Done()
			_, err := e.client.DescribeImages(context.Background(), &awsecr.DescribeImagesInput{RepositoryName: aws.String(fmt.Sprintf("svc%d", i))})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if c := e.svc.Counters(""); c.BlobUploads != 3*n || c.ManifestPuts != n {
		t.Errorf("counters after %d concurrent pushes of 2 layers + config: %+v", n, c)
	}
}

// putManifest PUTs raw as repo:ref straight to the registry.
func (e *env) putManifest(t *testing.T, a authn.Authenticator, repo, ref string, raw []byte, mt string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, e.srv.URL+"/v2/"+repo+"/manifests/"+ref, strings.NewReader(string(raw)))
	req.Header.Set("Content-Type", mt)
	b := a.(*authn.Basic)
	req.SetBasicAuth(b.Username, b.Password)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestManifestPutRules(t *testing.T) {
	e := newEnv(t)
	e.createRepo(t, "locked", true)
	a := e.auth(t)
	img := randomImage(t, 1)
	if err := e.push(t, "locked:v1", img, a); err != nil {
		t.Fatal(err)
	}
	raw, _ := img.RawManifest()
	mt := "application/vnd.docker.distribution.manifest.v2+json"
	d := digest(t, img)
	tests := []struct {
		name, ref, mt string
		raw           []byte
		wantStatus    int
		wantCode      string
	}{
		{name: "same manifest again on an immutable tag", ref: "v1", mt: mt, raw: raw, wantStatus: http.StatusCreated},
		{name: "by digest", ref: d, mt: mt, raw: raw, wantStatus: http.StatusCreated},
		{name: "digest that does not match", ref: "sha256:" + strings.Repeat("0", 64), mt: mt, raw: raw, wantStatus: http.StatusBadRequest, wantCode: "DIGEST_INVALID"},
		{name: "invalid tag", ref: "-bad", mt: mt, raw: raw, wantStatus: http.StatusBadRequest, wantCode: "TAG_INVALID"},
		{name: "not JSON", ref: "v2", mt: mt, raw: []byte("FROM scratch"), wantStatus: http.StatusBadRequest, wantCode: "MANIFEST_INVALID"},
		{name: "schema 1", ref: "v2", mt: "application/vnd.docker.distribution.manifest.v1+json", raw: []byte(`{"schemaVersion":1}`), wantStatus: http.StatusBadRequest, wantCode: "MANIFEST_INVALID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.putManifest(t, a, "locked", tt.ref, tt.raw, tt.mt)
			if status != tt.wantStatus || !strings.Contains(body, tt.wantCode) {
				t.Errorf("PUT %s: %d %s; want %d %s", tt.ref, status, body, tt.wantStatus, tt.wantCode)
			}
		})
	}
	if c := e.svc.Counters("locked"); c.ManifestPuts != 3 {
		t.Errorf("ManifestPuts = %d, want 3 (the push and two accepted PUTs)", c.ManifestPuts)
	}
}
