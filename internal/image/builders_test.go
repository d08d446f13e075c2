package image

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/registry/registrytest"
)

func buildOne(t *testing.T, img *config.Image, platforms []string, opts ...Option) (*Artifact, error) {
	t.Helper()
	return Build(context.Background(), fileFor(t, img, platforms), img, append([]Option{WithCacheDir(t.TempDir())}, opts...)...)
}

func TestCopyMirrorsEveryPlatform(t *testing.T) {
	reg := registrytest.New(t)
	src := reg.PushBase(t, "sonatype/nexus3:3.72.0", "linux/amd64", "linux/arm64")
	a, err := buildOne(t, &config.Image{Name: "nexus", Copy: &config.CopyBuild{Source: src}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(src)
	desc, err := remote.Head(ref)
	if err != nil {
		t.Fatal(err)
	}
	if a.Index == nil || a.Digest != desc.Digest {
		t.Errorf("copy: index %v, digest %s; want the source index %s unchanged", a.Index != nil, a.Digest, desc.Digest)
	}
}

func TestOCISources(t *testing.T) {
	img := registrytest.BaseImage(t, v1.Platform{OS: "linux", Architecture: "amd64"}, 9)
	want, _ := img.Digest()
	wantCfg, _ := img.ConfigName()
	dir := t.TempDir()

	layoutDir := filepath.Join(dir, "layout")
	lp, err := layout.Write(layoutDir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "image.oci.tar")
	tarDir(t, layoutDir, archive)
	saved := filepath.Join(dir, "saved.tar")
	tag, _ := name.NewTag("example.com/app:1")
	if err := tarball.WriteToFile(saved, tag, img); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, path string
		sameDigest bool // docker save keeps the config, not the manifest
	}{
		{"layout directory", layoutDir, true},
		{"oci archive", archive, true},
		{"docker save", saved, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := buildOne(t, &config.Image{Name: "app", OCI: &config.OCIBuild{Path: tc.path}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.sameDigest && a.Digest != want {
				t.Errorf("digest %s, want %s", a.Digest, want)
			}
			cfg, err := a.Image.ConfigName()
			if err != nil || cfg != wantCfg {
				t.Errorf("config %s (%v), want %s", cfg, err, wantCfg)
			}
		})
	}
}

// tarDir writes dir as a tar (an OCI archive when dir is a layout).
func tarDir(t testing.TB, dir, out string) {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(data))}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestFilesBuilder(t *testing.T) {
	reg := registrytest.New(t)
	base := reg.PushBase(t, "library/debian:12")
	src := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(src, "conf/sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "conf/a.yml"), []byte("a: 1\n"), 0o600))
	must(t, os.WriteFile(filepath.Join(src, "conf/sub/b.yml"), []byte("b: 2\n"), 0o600))
	must(t, os.WriteFile(filepath.Join(src, "run.sh"), []byte("#!/bin/sh\nexec app\n"), 0o700))
	must(t, os.Symlink("run.sh", filepath.Join(src, "run-link")))
	a, err := buildOne(t, &config.Image{Name: "tool", Files: &config.FilesBuild{
		Base:       base,
		Files:      map[string]string{"/opt/app/conf": filepath.Join(src, "conf"), "/usr/local/bin/run": filepath.Join(src, "run-link")},
		Entrypoint: []string{"/usr/local/bin/run"},
		Env:        map[string]string{"APP_MODE": "prod", "PATH": "/opt/app/bin:/usr/bin:/bin"},
		User:       "65534",
		Workdir:    "/opt/app",
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := a.Image.ConfigFile()
	c := cf.Config
	if strings.Join(c.Entrypoint, " ") != "/usr/local/bin/run" || c.Cmd != nil || c.User != "65534" || c.WorkingDir != "/opt/app" {
		t.Errorf("config = %+v", c)
	}
	if strings.Join(c.Env, " ") != "PATH=/opt/app/bin:/usr/bin:/bin APP_MODE=prod" {
		t.Errorf("env = %q: want PATH replaced in place and APP_MODE added", c.Env)
	}
	got := listLayer(t, a)
	want := "d755 opt/|d755 opt/app/|d755 opt/app/conf/|f644 opt/app/conf/a.yml|d755 opt/app/conf/sub/|f644 opt/app/conf/sub/b.yml|" +
		"d755 usr/|d755 usr/local/|d755 usr/local/bin/|f755 usr/local/bin/run"
	if got != want {
		t.Errorf("layer:\n%s\nwant\n%s", got, want)
	}
}

func listLayer(t *testing.T, a *Artifact) string {
	t.Helper()
	ls, _ := a.Image.Layers()
	return headerList(t, ls[len(ls)-1])
}

// headerList lists a layer's entries as kind, octal mode and name.
func headerList(t *testing.T, l v1.Layer) string {
	t.Helper()
	var out []string
	for _, h := range tarHeaders(t, l) {
		kind := "f"
		if h.Typeflag == tar.TypeDir {
			kind = "d"
		}
		out = append(out, fmt.Sprintf("%s%o %s", kind, h.Mode, h.Name))
	}
	return strings.Join(out, "|")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestBaseManifestCache: a base pinned by digest builds from the cache with
// the registry gone; a tag still needs the registry to say where it points.
func TestBaseManifestCache(t *testing.T) {
	reg := registrytest.New(t)
	tagged := reg.PushBase(t, "library/nginx:1.27")
	ref, _ := name.ParseReference(tagged)
	desc, err := remote.Head(ref)
	if err != nil {
		t.Fatal(err)
	}
	pinned := ref.Context().Digest(desc.Digest.String()).String()
	cache := WithCacheDir(t.TempDir())
	conf := filepath.Join(testdata, "backend/nginx.conf")
	build := func(base string) (*Artifact, error) {
		img := &config.Image{Name: "web", Nginx: &config.NginxBuild{Base: base, Config: conf}}
		return Build(context.Background(), fileFor(t, img, nil), img, cache)
	}
	first, err := build(pinned)
	if err != nil {
		t.Fatal(err)
	}
	reg.Close()
	again, err := build(pinned)
	if err != nil {
		t.Fatalf("rebuilding on a pinned base with the registry gone: %v", err)
	}
	if again.Digest != first.Digest || !again.Layers[0].Cached {
		t.Errorf("offline rebuild: digest %s (was %s), layer cached %v", again.Digest, first.Digest, again.Layers[0].Cached)
	}
	if _, err := build(tagged); err == nil || !strings.Contains(err.Error(), "resolving base image") {
		t.Errorf("tagged base with the registry gone: err = %v, want a resolving error", err)
	}
}

func TestBuildErrors(t *testing.T) {
	reg := registrytest.New(t)
	amd := reg.PushBase(t, "library/amd-only:1")
	dir := t.TempDir()
	noMain := filepath.Join(dir, "nomain.jar")
	writeZip(t, noMain, map[string]string{"META-INF/MANIFEST.MF": "Manifest-Version: 1.0\r\n\r\n"})
	badIdx := filepath.Join(dir, "badidx.jar")
	writeZip(t, badIdx, map[string]string{"META-INF/MANIFEST.MF": "Main-Class: a.B\r\n\r\n", "BOOT-INF/layers.idx": "dependencies:\n"})
	slip := filepath.Join(dir, "slip.jar")
	writeZip(t, slip, map[string]string{"META-INF/MANIFEST.MF": "Main-Class: a.B\r\n\r\n", "../../etc/cron.d/x": "* * * * * root sh\n"})
	must(t, os.MkdirAll(filepath.Join(dir, "conf"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "conf", "x"), []byte("x"), 0o644))
	ociSlip := func(entry string) string {
		p := filepath.Join(dir, fmt.Sprintf("slip-%d.oci.tar", len(entry)))
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, n := range []string{"oci-layout", entry} {
			must(t, tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: 2}))
			_, err := tw.Write([]byte("{}"))
			must(t, err)
		}
		must(t, tw.Close())
		must(t, os.WriteFile(p, buf.Bytes(), 0o644))
		return p
	}
	for _, tc := range []struct {
		name      string
		img       *config.Image
		platforms []string
		want      string
	}{
		{"no builder", &config.Image{Name: "x"}, nil, "no builder is set"},
		{"next without standalone", &config.Image{Name: "web", Next: &config.NextBuild{Base: amd, Dir: dir}}, nil, "output: 'standalone'"},
		{"jar without Main-Class", &config.Image{Name: "api", SpringBoot: &config.SpringBootBuild{Base: amd, Jar: noMain}}, nil, "no Main-Class"},
		{"not a jar", &config.Image{Name: "api", SpringBoot: &config.SpringBootBuild{Base: amd, Jar: filepath.Join(dir, "conf", "x")}}, nil, "opening jar"},
		{"entry outside /app", &config.Image{Name: "api", SpringBoot: &config.SpringBootBuild{Base: amd, Jar: slip}}, nil, `entry "../../etc/cron.d/x" climbs out with ..`},
		{"bad layers.idx", &config.Image{Name: "api", SpringBoot: &config.SpringBootBuild{Base: amd, Jar: badIdx}}, nil, "BOOT-INF/layers.idx:1:1"},
		{"missing platform", &config.Image{Name: "web", Nginx: &config.NginxBuild{Base: amd, Config: filepath.Join(testdata, "backend/nginx.conf")}}, []string{"linux/arm64"}, "is linux/amd64, not linux/arm64"},
		{"relative destination", &config.Image{Name: "t", Files: &config.FilesBuild{Base: amd, Files: map[string]string{"etc/x": filepath.Join(dir, "conf", "x")}}}, nil, "must be an absolute path"},
		{"two sources for one path", &config.Image{Name: "t", Files: &config.FilesBuild{Base: amd, Files: map[string]string{"/etc": filepath.Join(dir, "conf"), "/etc/x": filepath.Join(dir, "conf", "x")}}}, nil, `two sources for "/etc/x"`},
		{"oci archive entry above it", &config.Image{Name: "o", OCI: &config.OCIBuild{Path: ociSlip("../../x")}}, nil, `entry "../../x" climbs out with .., outside the archive`},
		{"oci archive entry ..", &config.Image{Name: "o", OCI: &config.OCIBuild{Path: ociSlip("./..")}}, nil, `entry "./.." climbs out with .., outside the archive`},
		{"missing file", &config.Image{Name: "t", Files: &config.FilesBuild{Base: amd, Files: map[string]string{"/etc/y": filepath.Join(dir, "nope")}}}, nil, "reading"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := buildOne(t, tc.img, tc.platforms)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "building image "+`"`+tc.img.Name+`"`) {
				t.Errorf("err = %v, want it to name the image and contain %q", err, tc.want)
			}
		})
	}
}

func writeZip(t *testing.T, path string, files map[string]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for n, data := range files {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestBaseRequests: a base tag is resolved once per run however many images
// use it; manifests and configs come from the cache on the next run; base
// layers are never downloaded by a build.
func TestBaseRequests(t *testing.T) {
	reg := registrytest.New(t)
	f := inforum(t, reg) // two nginx images on one base
	cache := WithCacheDir(t.TempDir())
	reg.Reset()
	if _, err := BuildAll(context.Background(), f, nil, cache); err != nil {
		t.Fatal(err)
	}
	// Three base tags (temurin, node, nginx) for four images; the images
	// build in parallel, so identical base content may be fetched twice.
	c := reg.Counts()
	if c.ManifestHead != 3 || c.ManifestGets > 3 || c.BlobGets > 3 {
		t.Errorf("first run: %d HEAD, %d GET manifests, %d blob GETs; want a HEAD per base tag and at most one manifest and one config download per base", c.ManifestHead, c.ManifestGets, c.BlobGets)
	}
	reg.Reset()
	if _, err := BuildAll(context.Background(), f, nil, cache); err != nil {
		t.Fatal(err)
	}
	if c := reg.Counts(); c.ManifestHead != 3 || c.ManifestGets != 0 || c.BlobGets != 0 {
		t.Errorf("second run: %d HEAD, %d GET manifests, %d blob GETs; want 3, 0, 0", c.ManifestHead, c.ManifestGets, c.BlobGets)
	}
}

// TestInforumPierYAML builds every image of the real inforum pier.yaml, as
// the config parser reads it, with the bases moved to the test registry
// (there is no internet here).
func TestInforumPierYAML(t *testing.T) {
	f, err := config.Load(filepath.Join(testdata, "pier.yaml"), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	reg := registrytest.New(t)
	local := reg.PushBase(t, "library/base:1", f.Platforms...)
	for _, img := range f.Images {
		switch {
		case img.Nginx != nil:
			img.Nginx.Base = local
		case img.Next != nil:
			img.Next.Base = local
		case img.SpringBoot != nil:
			img.SpringBoot.Base = local
		case img.Copy != nil:
			img.Copy.Source = reg.PushBase(t, "sonatype/nexus3:3.72.0", "linux/amd64", "linux/arm64")
		}
	}
	as, err := BuildAll(context.Background(), f, nil, WithCacheDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != len(f.Images) {
		t.Fatalf("built %d images, pier.yaml has %d", len(as), len(f.Images))
	}
	for _, a := range as {
		if a.Image == nil && a.Index == nil {
			t.Errorf("%s: nothing built", a.Name)
		}
		if strings.HasSuffix(a.Name, "nginx") {
			if got := listLayer(t, a); !strings.Contains(got, "etc/nginx/blockuseragents.rules") || !strings.Contains(got, "etc/nginx/nginx.conf") {
				t.Errorf("%s layer: %s", a.Name, got)
			}
		}
	}
}

func TestOCILayoutWithOneImagePerPlatform(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range []string{"linux/amd64", "linux/arm64"} {
		plat, _ := v1.ParsePlatform(p)
		if err := lp.AppendImage(registrytest.BaseImage(t, *plat, uint64(i)), layout.WithPlatform(*plat)); err != nil {
			t.Fatal(err)
		}
	}
	a, err := buildOne(t, &config.Image{Name: "app", OCI: &config.OCIBuild{Path: dir}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	im, err := a.Index.IndexManifest()
	if err != nil || len(im.Manifests) != 2 || im.Manifests[1].Platform.Architecture != "arm64" {
		t.Fatalf("index %+v (%v), want the two platform images", im, err)
	}

	// Without platforms, several images are ambiguous.
	plain := filepath.Join(t.TempDir(), "plain")
	lp, _ = layout.Write(plain, empty.Index)
	for i := range 2 {
		must(t, lp.AppendImage(registrytest.BaseImage(t, v1.Platform{OS: "linux", Architecture: "amd64"}, uint64(10+i))))
	}
	if _, err := buildOne(t, &config.Image{Name: "app", OCI: &config.OCIBuild{Path: plain}}, nil); err == nil || !strings.Contains(err.Error(), "has no platform") {
		t.Errorf("err = %v, want an ambiguity error", err)
	}
}
