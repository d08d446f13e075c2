package registry

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/pier-deploy/pier/internal/registry/registrytest"
)

func sumResults(rs []*Result) (blobs int, bytes int64) {
	for _, r := range rs {
		blobs += r.Blobs
		bytes += r.Bytes
	}
	return blobs, bytes
}

func pushAll(t *testing.T, p *Pusher, js []Job) []*Result {
	t.Helper()
	rs, err := p.PushAll(context.Background(), js)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestPushUploadsOnlyWhatChanged walks the life of a deployment: a cold
// push, an unchanged re-push, then one changed class in the jar.
func TestPushUploadsOnlyWhatChanged(t *testing.T) {
	reg := registrytest.New(t)
	bases := map[string]string{}
	base := func(ref string) string {
		if bases[ref] == "" {
			bases[ref] = reg.PushBase(t, "library/"+ref)
		}
		return bases[ref]
	}
	cache := t.TempDir()
	f := inforum(t, writeJar(t, "1.0.0"), base)
	reg.Reset()

	p, err := NewPusher()
	if err != nil {
		t.Fatal(err)
	}
	first := pushAll(t, p, jobs(t, reg.Host, "v1", build(t, f, cache)))
	c := reg.Counts()
	blobs, bytes := sumResults(first)
	if blobs != c.BlobUploads || bytes != c.BlobBytes {
		t.Errorf("results say %d blobs / %d bytes, the registry saw %d / %d", blobs, bytes, c.BlobUploads, c.BlobBytes)
	}
	for _, u := range c.UploadedRepo {
		if strings.HasPrefix(u, "library/") {
			t.Errorf("uploaded %s into a base repository", u)
		}
	}
	for _, r := range first {
		if !strings.HasPrefix(r.Reference, reg.Host+"/"+r.Name+"@sha256:") || r.Tag != "v1" {
			t.Errorf("result %+v: want reference %s/%s@sha256:… and tag v1", r, reg.Host, r.Name)
		}
	}

	// Nothing changed: a new pusher (a new run) uploads nothing at all.
	reg.Reset()
	p2, _ := NewPusher()
	again := pushAll(t, p2, jobs(t, reg.Host, "v1", build(t, f, cache)))
	if c := reg.Counts(); c.BlobUploads != 0 || c.BlobBytes != 0 || c.Manifests != 0 {
		t.Errorf("unchanged re-push: registry saw %+v, want no uploads", c)
	}
	if b, n := sumResults(again); b != 0 || n != 0 {
		t.Errorf("unchanged re-push: results say %d blobs, %d bytes", b, n)
	}

	// One class changed: only the application layer and the config go up.
	f2 := inforum(t, writeJar(t, "1.0.1"), base)
	as := build(t, f2, cache)
	reg.Reset()
	p3, _ := NewPusher()
	changed := pushAll(t, p3, jobs(t, reg.Host, "v2", as))
	c = reg.Counts()
	backend := as[0]
	app := backend.Layers[len(backend.Layers)-1]
	cfgDigest, err := backend.Image.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"backend@" + app.Digest.String(), "backend@" + cfgDigest.String()}
	sort.Strings(want)
	got := append([]string(nil), c.UploadedRepo...)
	sort.Strings(got)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after changing one class the registry received\n%v\nwant only the application layer and the config\n%v", got, want)
	}
	if c.Manifests != 4 { // every image gets the new tag; only backend's manifest is new content
		t.Errorf("manifests written = %d, want 4 (one per image for tag v2)", c.Manifests)
	}
	if changed[0].Blobs != 2 || changed[1].Blobs != 0 {
		t.Errorf("results: backend %d blobs, frontend %d blobs; want 2 and 0", changed[0].Blobs, changed[1].Blobs)
	}
	appSize := app.Size
	if changed[0].Bytes > appSize*105/100+4096 {
		t.Errorf("backend uploaded %d bytes for an application layer of %d bytes", changed[0].Bytes, appSize)
	}

	// What was pushed is what was built: pull back by digest and compare.
	for _, a := range as {
		ref, _ := name.NewDigest(reg.Host + "/" + a.Repository + "@" + a.Digest.String())
		got, err := remote.Image(ref)
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := got.Digest(); d != a.Digest {
			t.Errorf("%s: pulled %s, built %s", a.Name, d, a.Digest)
		}
	}
}

func TestPushTwoPlatformIndex(t *testing.T) {
	reg := registrytest.New(t)
	plats := []string{"linux/amd64", "linux/arm64"}
	f := inforum(t, "", func(ref string) string { return reg.PushBase(t, "library/"+ref, plats...) }, plats...)
	f.Images = f.Images[:1]
	as := build(t, f, t.TempDir())
	reg.Reset()
	p, _ := NewPusher()
	rs := pushAll(t, p, jobs(t, reg.Host, "v1", as))
	idxRef, _ := name.NewDigest(rs[0].Reference)
	idx, err := remote.Index(idxRef)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 2 {
		t.Fatalf("index has %d manifests, want 2", len(im.Manifests))
	}
	layerSets := make([]map[v1.Hash]bool, 2)
	for i, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		layerSets[i] = map[v1.Hash]bool{}
		for _, l := range m.Layers {
			layerSets[i][l.Digest] = true
		}
	}
	for _, l := range as[0].Layers {
		if !layerSets[0][l.Digest] || !layerSets[1][l.Digest] {
			t.Errorf("app layer %s (%s) is not in both platform manifests", l.Comment, l.Digest)
		}
	}
	uploads := map[string]int{}
	for _, u := range reg.Counts().UploadedRepo {
		uploads[u]++
	}
	for _, l := range as[0].Layers {
		if n := uploads["backend@"+l.Digest.String()]; n != 1 {
			t.Errorf("app layer %s uploaded %d times, want once for both platforms", l.Comment, n)
		}
	}
}

// TestPushImmutableTagFromRegistry: a registry that refuses to move a tag
// (TAG_INVALID) without pier knowing up front: the same image again is
// success, a different one an error naming the digest that holds the tag.
func TestPushImmutableTagFromRegistry(t *testing.T) {
	reg := registrytest.New(t, registrytest.Immutable())
	base := reg.PushBase(t, "library/temurin:21")
	build1 := build(t, inforum(t, writeJar(t, "1.0.0"), func(string) string { return base }), t.TempDir())[:1]
	build2 := build(t, inforum(t, writeJar(t, "2.0.0"), func(string) string { return base }), t.TempDir())[:1]
	p, _ := NewPusher()
	first := pushAll(t, p, jobs(t, reg.Host, "v1", build1))
	if rs := pushAll(t, p, jobs(t, reg.Host, "v1", build1)); rs[0].Digest != first[0].Digest {
		t.Errorf("same image again: %s, want %s", rs[0].Digest, first[0].Digest)
	}
	_, err := p.PushAll(context.Background(), jobs(t, reg.Host, "v1", build2))
	if err == nil || !strings.Contains(err.Error(), first[0].Digest) || !strings.Contains(err.Error(), `tag "v1"`) {
		t.Fatalf("different image on the taken tag: err = %v, want one naming %s", err, first[0].Digest)
	}
	if rs := pushAll(t, p, jobs(t, reg.Host, "v2", build2)); rs[0].Digest == first[0].Digest {
		t.Error("a new tag for the new image should work")
	}
}
