package registry

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/pier-deploy/pier/internal/registry/registrytest"
)

// TestDistributionRoundTrip pushes the inforum images to Debian's real
// registry, pulls them back by digest and compares them byte for byte, and
// checks that the two nginx repositories mounted their common base instead
// of uploading it.
func TestDistributionRoundTrip(t *testing.T) {
	real := registrytest.StartDistribution(t)
	reg := registrytest.Proxy(t, real)
	bases := map[string]string{}
	for _, ref := range []string{"eclipse-temurin:21-jre", "node:22-alpine", "nginx:1.27-alpine"} {
		bases[ref] = reg.PushBase(t, "library/"+ref)
	}
	f := inforum(t, "", func(ref string) string { return bases[ref] })
	as := build(t, f, t.TempDir())
	reg.Reset()
	p, err := NewPusher()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := p.PushAll(context.Background(), jobs(t, reg.Host, "v1", as))
	if err != nil {
		t.Fatal(err)
	}
	c := reg.Counts()
	blobs, bytesUp := sumResults(rs)
	if blobs != c.BlobUploads || bytesUp != c.BlobBytes {
		t.Errorf("results say %d blobs / %d bytes, the registry saw %d / %d", blobs, bytesUp, c.BlobUploads, c.BlobBytes)
	}

	for _, a := range as {
		ref, err := name.NewDigest(reg.Host + "/" + a.Repository + "@" + a.Digest.String())
		if err != nil {
			t.Fatal(err)
		}
		got, err := remote.Image(ref)
		if err != nil {
			t.Fatalf("pulling %s: %v", ref, err)
		}
		compareImages(t, a.Name, a.Image, got)
	}

	// Every base layer reached every repository by mount, never by upload.
	for _, a := range as {
		m, _ := a.Image.Manifest()
		for _, l := range m.Layers[:len(m.Layers)-len(a.Layers)] {
			for _, u := range c.UploadedRepo {
				if strings.HasSuffix(u, "@"+l.Digest.String()) {
					t.Errorf("%s: base layer %s was uploaded (%s) instead of mounted", a.Name, l.Digest, u)
				}
			}
		}
	}
	for _, r := range rs[2:] { // backend-nginx, frontend-nginx: same base
		if r.Mounted != 2 {
			t.Errorf("%s mounted %d base layers, want 2", r.Name, r.Mounted)
		}
	}
	if c.Mounts < 8 { // 4 images × 2 base layers
		t.Errorf("registry answered %d mounts (of %d tries), want at least 8", c.Mounts, c.MountTries)
	}

	// And an unchanged second push uploads nothing.
	reg.Reset()
	p2, _ := NewPusher()
	if _, err := p2.PushAll(context.Background(), jobs(t, reg.Host, "v1", as)); err != nil {
		t.Fatal(err)
	}
	if c := reg.Counts(); c.BlobUploads != 0 || c.Manifests != 0 {
		t.Errorf("unchanged re-push to the real registry: %+v", c)
	}
}

// compareImages checks that got has exactly want's manifest, config and layer bytes.
func compareImages(t *testing.T, label string, want, got v1.Image) {
	t.Helper()
	wm, _ := want.RawManifest()
	gm, err := got.RawManifest()
	if err != nil || !bytes.Equal(wm, gm) {
		t.Errorf("%s: pulled manifest differs (err %v)", label, err)
	}
	wc, _ := want.RawConfigFile()
	gc, err := got.RawConfigFile()
	if err != nil || !bytes.Equal(wc, gc) {
		t.Errorf("%s: pulled config differs (err %v)", label, err)
	}
	wl, _ := want.Layers()
	gl, err := got.Layers()
	if err != nil || len(wl) != len(gl) {
		t.Fatalf("%s: %d layers pulled, %d built (err %v)", label, len(gl), len(wl), err)
	}
	for i := range wl {
		a, b := readAll(t, wl[i]), readAll(t, gl[i])
		if !bytes.Equal(a, b) {
			t.Errorf("%s: layer %d differs after the round trip", label, i)
		}
	}
}

func readAll(t *testing.T, l v1.Layer) []byte {
	t.Helper()
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
