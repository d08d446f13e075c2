package image

import (
	"archive/tar"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/golden"
	"github.com/pier-deploy/pier/internal/image/bootjar"
	"github.com/pier-deploy/pier/internal/registry/registrytest"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testdata = "../../testdata/inforum"

// inforum returns the images of the inforum deployment with bases in reg.
func inforum(t *testing.T, reg *registrytest.Server, platforms ...string) *config.File {
	t.Helper()
	if len(platforms) == 0 {
		platforms = []string{"linux/amd64"}
	}
	f := &config.File{Path: "pier.yaml", Dir: testdata, Tag: "v1", Platforms: platforms}
	nginxBase := reg.PushBase(t, "library/nginx:1.27-alpine", platforms...)
	f.Images = []*config.Image{
		{Name: "backend", SpringBoot: &config.SpringBootBuild{Base: reg.PushBase(t, "library/eclipse-temurin:21-jre", platforms...), Jar: filepath.Join(testdata, "backend/app.jar")}},
		{Name: "frontend", Next: &config.NextBuild{Base: reg.PushBase(t, "library/node:22-alpine", platforms...), Dir: filepath.Join(testdata, "frontend")}},
		{Name: "backend-nginx", Nginx: &config.NginxBuild{Base: nginxBase, Config: filepath.Join(testdata, "backend/nginx.conf")}},
		{Name: "frontend-nginx", Nginx: &config.NginxBuild{Base: nginxBase, Config: filepath.Join(testdata, "frontend/nginx.conf")}},
	}
	return f
}

func digests(t *testing.T, as []*Artifact) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, a := range as {
		out[a.Name] = a.Digest.String()
	}
	return out
}

func TestBuildIsReproducible(t *testing.T) {
	reg := registrytest.New(t)
	f := inforum(t, reg)
	ctx := context.Background()
	env := func(epoch string) func(string) string {
		return func(k string) string {
			if k == "SOURCE_DATE_EPOCH" {
				return epoch
			}
			return ""
		}
	}
	first, err := BuildAll(ctx, f, nil, WithCacheDir(t.TempDir()), WithGetenv(env("")))
	if err != nil {
		t.Fatal(err)
	}
	again, err := BuildAll(ctx, f, nil, WithCacheDir(t.TempDir()), WithGetenv(env("0")))
	if err != nil {
		t.Fatal(err)
	}
	later, err := BuildAll(ctx, f, nil, WithCacheDir(t.TempDir()), WithGetenv(env("1700000000")))
	if err != nil {
		t.Fatal(err)
	}
	d1, d2, d3 := digests(t, first), digests(t, again), digests(t, later)
	for name := range d1 {
		if d1[name] != d2[name] {
			t.Errorf("%s: two builds of the same inputs differ: %s vs %s", name, d1[name], d2[name])
		}
		if d1[name] == d3[name] {
			t.Errorf("%s: SOURCE_DATE_EPOCH=1700000000 gives the same digest %s as 0", name, d1[name])
		}
	}
	for _, a := range later {
		cf, err := a.Image.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if want := time.Unix(1700000000, 0).UTC(); !cf.Created.Time.Equal(want) {
			t.Errorf("%s: config Created = %v, want %v", a.Name, cf.Created.Time, want)
		}
	}
}

func TestBuildRejectsBadEpoch(t *testing.T) {
	_, err := BuildAll(context.Background(), &config.File{}, nil, WithCacheDir(t.TempDir()),
		WithGetenv(func(k string) string { return map[string]string{"SOURCE_DATE_EPOCH": "yesterday"}[k] }))
	if err == nil || !strings.Contains(err.Error(), `SOURCE_DATE_EPOCH="yesterday"`) {
		t.Fatalf("err = %v, want one naming SOURCE_DATE_EPOCH", err)
	}
}

// TestBuildGolden pins each image's own layers (tar listings, diff IDs) and
// config. Rewrite with -update and review the diff.
func TestBuildGolden(t *testing.T) {
	reg := registrytest.New(t)
	f := inforum(t, reg)
	as, err := BuildAll(context.Background(), f, nil, WithCacheDir(t.TempDir()), WithEpoch(time.Unix(0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		t.Run(a.Name, func(t *testing.T) {
			got := describe(t, a)
			golden.Check(t, filepath.Join("..", "..", "testdata", "image", a.Name+".golden"), []byte(got), *update)
		})
	}
}

// describe renders an artifact's own layers and config as stable text.
func describe(t *testing.T, a *Artifact) string {
	t.Helper()
	var b strings.Builder
	cf, err := a.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	fmt.Fprintf(&b, "entrypoint: %q\ncmd: %q\nworkdir: %q\nuser: %q\nenv: %q\nports: %v\ncreated: %s\n",
		c.Entrypoint, c.Cmd, c.WorkingDir, c.User, c.Env, c.ExposedPorts, cf.Created.Time.UTC().Format(time.RFC3339))
	layers, err := a.Image.Layers()
	if err != nil {
		t.Fatal(err)
	}
	own := layers[len(layers)-len(a.Layers):]
	for i, info := range a.Layers {
		diffID, err := own[i].DiffID()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "\nlayer %q %s\n", info.Comment, diffID)
		for _, h := range tarHeaders(t, own[i]) {
			link := ""
			if h.Linkname != "" {
				link = " -> " + h.Linkname
			}
			fmt.Fprintf(&b, "  %c %04o %d:%d %6d %s %s%s\n", h.Typeflag, h.Mode, h.Uid, h.Gid, h.Size,
				h.ModTime.UTC().Format("2006-01-02"), h.Name, link)
		}
	}
	for _, h := range cf.History[len(cf.History)-len(a.Layers):] {
		fmt.Fprintf(&b, "history: %s %q\n", h.Created.Time.UTC().Format(time.RFC3339), h.CreatedBy)
	}
	return b.String()
}

// tarHeaders lists the entries of a layer's uncompressed tar.
func tarHeaders(t *testing.T, l v1.Layer) []*tar.Header {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out []*tar.Header
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
	}
}

func writeJar(t testing.TB, dir string, s bootjar.Spec) string {
	t.Helper()
	p := filepath.Join(dir, "app-"+s.AppVersion+".jar")
	if err := os.WriteFile(p, bootjar.Bytes(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSpringBootAppChangeTouchesOnlyApplicationLayer(t *testing.T) {
	reg := registrytest.New(t)
	base := reg.PushBase(t, "library/eclipse-temurin:21-jre")
	dir := t.TempDir()
	cache := WithCacheDir(t.TempDir())
	build := func(version string, noIdx bool) *Artifact {
		jar := writeJar(t, dir, bootjar.Spec{AppVersion: version, NoLayersIndex: noIdx})
		img := &config.Image{Name: "backend", SpringBoot: &config.SpringBootBuild{Base: base, Jar: jar}}
		a, err := Build(context.Background(), fileFor(t, img, nil), img, cache)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, tc := range []struct {
		name    string
		noIdx   bool
		layers  []string
		changed string
	}{
		{"layers.idx", false, []string{"dependencies", "spring-boot-loader", "snapshot-dependencies", "application"}, "application"},
		{"fallback", true, []string{"dependencies", "spring-boot-loader", "application"}, "application"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v1a, v2a := build("1.0.0-"+tc.name, tc.noIdx), build("1.0.1-"+tc.name, tc.noIdx)
			if v1a.Digest == v2a.Digest {
				t.Fatal("changing a class did not change the image digest")
			}
			var names []string
			for i, l := range v1a.Layers {
				name := strings.TrimPrefix(l.Comment, "springboot: ")
				names = append(names, name)
				same := l.Digest == v2a.Layers[i].Digest
				if same == (name == tc.changed) {
					t.Errorf("layer %s: unchanged = %v after changing one application class", name, same)
				}
				if !v2a.Layers[i].Cached && name != tc.changed {
					t.Errorf("layer %s was compressed again although its content did not change", name)
				}
			}
			if strings.Join(names, ",") != strings.Join(tc.layers, ",") {
				t.Errorf("layers = %v, want %v", names, tc.layers)
			}
			cf, err := v2a.Image.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"java", "-cp", "/app", bootjar.MainClass}
			if fmt.Sprint(cf.Config.Entrypoint) != fmt.Sprint(want) {
				t.Errorf("entrypoint = %q, want %q", cf.Config.Entrypoint, want)
			}
		})
	}
}

func TestTwoPlatformsShareAppLayers(t *testing.T) {
	reg := registrytest.New(t)
	f := inforum(t, reg, "linux/amd64", "linux/arm64")
	as, err := BuildAll(context.Background(), f, []string{"backend", "frontend"}, WithCacheDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if a.Index == nil || a.Image != nil {
			t.Fatalf("%s: want an index, got image=%v index=%v", a.Name, a.Image != nil, a.Index != nil)
		}
		im, err := a.Index.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(im.Manifests) != 2 {
			t.Fatalf("%s: %d manifests, want 2", a.Name, len(im.Manifests))
		}
		var own [2][]v1.Hash
		var baseFirst [2]v1.Hash
		for i, d := range im.Manifests {
			img, err := a.Index.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if got := cf.OS + "/" + cf.Architecture; got != d.Platform.String() || got != f.Platforms[i] {
				t.Errorf("%s manifest %d: config is %s, descriptor says %s, want %s", a.Name, i, got, d.Platform, f.Platforms[i])
			}
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			baseFirst[i] = m.Layers[0].Digest
			for _, l := range m.Layers[len(m.Layers)-len(a.Layers):] {
				own[i] = append(own[i], l.Digest)
			}
		}
		if fmt.Sprint(own[0]) != fmt.Sprint(own[1]) {
			t.Errorf("%s: app layers differ between platforms:\n%v\n%v", a.Name, own[0], own[1])
		}
		if baseFirst[0] == baseFirst[1] {
			t.Errorf("%s: both platforms start from the same base layer; the per-platform bases were not used", a.Name)
		}
	}
}

func TestDefaultCacheDir(t *testing.T) {
	got, err := DefaultCacheDir(func(k string) string { return map[string]string{"PIER_CACHE": "/srv/cache"}[k] })
	if err != nil || got != "/srv/cache" {
		t.Errorf("with PIER_CACHE: %q, %v", got, err)
	}
	if runtime.GOOS != "linux" {
		t.Skip("XDG_CACHE_HOME decides the user cache directory on Linux only")
	}
	t.Setenv("XDG_CACHE_HOME", "/home/u/.cache")
	got, err = DefaultCacheDir(func(string) string { return "" })
	if err != nil || got != "/home/u/.cache/pier" {
		t.Errorf("without PIER_CACHE: %q, %v; want the user cache directory", got, err)
	}
}
