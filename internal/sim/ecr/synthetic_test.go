package ecr

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestSyntheticImageDeterministic(t *testing.T) {
	plats := []string{"linux/amd64", "linux/arm64/v8"}
	a, err := SyntheticImage("nginx:1.27", plats)
	if err != nil {
		t.Fatal(err)
	}
	b, err := SyntheticImage("docker.io/library/nginx:1.27", plats)
	if err != nil {
		t.Fatal(err)
	}
	c, err := SyntheticImage("nginx:1.28", plats)
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, a) != digest(t, b) {
		t.Errorf("the same image named two ways gave %s and %s", digest(t, a), digest(t, b))
	}
	if digest(t, a) == digest(t, c) {
		t.Error("nginx:1.27 and nginx:1.28 have the same digest")
	}
	im, _ := a.IndexManifest()
	if len(im.Manifests) != 2 || im.Manifests[1].Platform.Architecture != "arm64" || im.Manifests[1].Platform.Variant != "v8" {
		t.Fatalf("index manifests %+v", im.Manifests)
	}
	img, _ := a.Image(im.Manifests[0].Digest)
	cf, _ := img.ConfigFile()
	if cf.Architecture != "amd64" || cf.Config.Entrypoint[0] != "/docker-entrypoint.sh" {
		t.Errorf("nginx amd64 config %+v", cf.Config)
	}
	if _, err := SyntheticImage("nginx:1.27", []string{"amd64"}); err == nil {
		t.Error("a platform without os was accepted")
	}
}

func TestSeedPublicAndHasImage(t *testing.T) {
	e := newEnv(t)
	d, err := e.svc.SeedPublic("sonatype/nexus3:3.70.1", []string{"linux/amd64"})
	if err != nil {
		t.Fatal(err)
	}
	e.createRepo(t, "app", false)
	img := randomImage(t, 1)
	if err := e.push(t, "app:v1", img, e.auth(t)); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		uri    string
		want   string
		wantOK bool
	}{
		{uri: "sonatype/nexus3:3.70.1", want: d, wantOK: true},
		{uri: "docker.io/sonatype/nexus3@" + d, want: d, wantOK: true},
		{uri: "sonatype/nexus3:3.71.0"},
		{uri: e.host + "/app:v1", want: digest(t, img), wantOK: true},
		{uri: testAccount + ".dkr.ecr.eu-west-1.amazonaws.com/app:v1", want: digest(t, img), wantOK: true},
		{uri: e.host + "/app:v2"},
		{uri: e.host + "/ghost:v1"},
		{uri: "::not a reference::"},
	}
	for _, tt := range tests {
		got, ok := e.svc.HasImage(tt.uri)
		if ok != tt.wantOK || got != tt.want {
			t.Errorf("HasImage(%q) = %q, %v; want %q, %v", tt.uri, got, ok, tt.want, tt.wantOK)
		}
	}

	// A builder pulls the stand-in anonymously from MirrorRef, by platform.
	ref, err := e.svc.MirrorRef("sonatype/nexus3:3.70.1")
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	base, err := remote.Image(r, remote.WithAuth(authn.Anonymous), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}))
	if err != nil {
		t.Fatalf("anonymous pull of %s: %v", ref, err)
	}
	cf, err := base.ConfigFile()
	if err != nil || cf.Config.User != "nexus" {
		t.Errorf("nexus3 stand-in config %+v (%v)", cf, err)
	}
	if got := e.svc.Repositories(); len(got) != 1 || got[0] != "app" {
		t.Errorf("Repositories() = %v; mirrors must stay out of the account's list", got)
	}
	// Writing to a mirror still needs credentials.
	if err := remote.Write(r, img, remote.WithAuth(authn.Anonymous)); err == nil {
		t.Error("an anonymous push to a mirror succeeded")
	}
}

func TestSyntheticBaseConfigs(t *testing.T) {
	tests := []struct {
		ref        string
		entrypoint string
		user       string
		port       string
	}{
		{ref: "nginx:1.27-alpine", entrypoint: "/docker-entrypoint.sh", port: "80/tcp"},
		{ref: "public.ecr.aws/nginx/nginx:1.27", entrypoint: "/docker-entrypoint.sh", port: "80/tcp"},
		{ref: "node:22-alpine", entrypoint: "docker-entrypoint.sh"},
		{ref: "eclipse-temurin:21-jre", entrypoint: "/__cacert_entrypoint.sh"},
		{ref: "sonatype/nexus3:3.70.1", user: "nexus", port: "8081/tcp"},
		{ref: "example.com/tools/unknown:1"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			idx, err := SyntheticImage(tt.ref, nil)
			if err != nil {
				t.Fatal(err)
			}
			im, _ := idx.IndexManifest()
			img, _ := idx.Image(im.Manifests[0].Digest)
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			c := cf.Config
			var ep string
			if len(c.Entrypoint) > 0 {
				ep = c.Entrypoint[0]
			}
			_, hasPort := c.ExposedPorts[tt.port]
			if ep != tt.entrypoint || c.User != tt.user || (tt.port != "" && !hasPort) || cf.OS != "linux" || cf.Architecture != "amd64" {
				t.Errorf("config %+v on %s/%s", c, cf.OS, cf.Architecture)
			}
			if c.Labels["org.pier.synthetic"] == "" {
				t.Error("a synthetic image does not say so in its labels")
			}
		})
	}
}
