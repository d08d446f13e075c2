package image

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/config"
)

// TestBuildRefusesInputsOutside: a pier.yaml whose inputs lead out of its
// directory builds nothing; the error names the line to fix. The base
// image is never reached, so no registry is needed.
func TestBuildRefusesInputsOutside(t *testing.T) {
	outside := t.TempDir()
	must(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600))
	must(t, os.MkdirAll(filepath.Join(outside, "layout"), 0o755))
	for _, tc := range []struct {
		name  string
		image string            // the image's builder, in flow style
		links map[string]string // name → target; "$OUT" is the outside directory
		files map[string]string // regular files to create
		want  string            // the error's start (after the directory) and a part of it
		says  string
	}{
		{name: "files source symlink to /etc", image: "files: { base: example.invalid/b:1, files: { /x: etc/shadow } }",
			links: map[string]string{"etc": "/etc"}, want: `pier.yaml:3:59: image "app" files source for /x: `, says: "which points to /etc"},
		{name: "nginx config symlink to /etc/passwd", image: "nginx: { config: nginx.conf }",
			links: map[string]string{"nginx.conf": "/etc/passwd"}, want: `pier.yaml:3:27: image "app" nginx config: `, says: "points to /etc/passwd"},
		{name: "jar through a chain", image: "springboot: { jar: app.jar }",
			links: map[string]string{"app.jar": "build/app.jar", "build": "out", "out": "$OUT"}, want: `pier.yaml:3:29: image "app" springboot jar: `, says: "which points to $OUT"},
		{name: "next dir climbing through a link", image: "next: { dir: web }",
			links: map[string]string{"web": "sub/..", "sub": "."}, want: `pier.yaml:3:23: image "app" next dir: `, says: "which points to sub/.."},
		{name: "oci path symlink out", image: "oci: image.tar",
			links: map[string]string{"image.tar": "$OUT/secret"}, want: `pier.yaml:3:15: image "app" oci path: `, says: "points to $OUT/secret"},
		{name: "oci layout with a blob linked out", image: "oci: layout",
			files: map[string]string{"layout/oci-layout": `{"imageLayoutVersion":"1.0.0"}`, "layout/index.json": `{"schemaVersion":2,"manifests":[]}`},
			links: map[string]string{"layout/blobs": "$OUT/layout"}, want: `building image "app" (`, says: "oci: layout " + "layout: "},
		{name: "outside the context through a link", image: "files: { base: example.invalid/b:1, files: { /x: app/conf } }",
			links: map[string]string{"app/conf": "../other"}, files: map[string]string{"other": "x"},
			want: `pier.yaml:3:59: image "app" files source for /x: `, says: "which points to ../other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			must(t, os.MkdirAll(filepath.Join(dir, "app"), 0o755))
			for name, body := range tc.files {
				must(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
				must(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
			}
			for name, target := range tc.links {
				must(t, os.Symlink(strings.ReplaceAll(target, "$OUT", outside), filepath.Join(dir, name)))
			}
			head := "cluster: c\n"
			if strings.Contains(tc.name, "context") {
				head = "context: app\n"
			}
			yaml := head + "images:\n  app: { " + tc.image + " }\nservices:\n  s: { cluster: c, taskDefinition: t.json }\n"
			must(t, os.WriteFile(filepath.Join(dir, "pier.yaml"), []byte(yaml), 0o644))
			f, err := config.Load(filepath.Join(dir, "pier.yaml"), func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			_, err = Build(context.Background(), f, f.Images[0], WithCacheDir(t.TempDir()))
			if err == nil {
				t.Fatal("built an image from an input outside the directory")
			}
			msg := strings.ReplaceAll(err.Error(), outside, "$OUT")
			msg = strings.ReplaceAll(msg, dir+string(filepath.Separator), "")
			if !strings.HasPrefix(msg, tc.want) || !strings.Contains(msg, tc.says) {
				t.Errorf("err = %s\nwant it to start %q and contain %q", msg, tc.want, tc.says)
			}
		})
	}
}

// TestBuildersConfineWithoutInputs: the builders themselves read through
// the root, so a File made by hand (no Inputs, absolute paths) cannot read
// outside its directory either.
func TestBuildersConfineWithoutInputs(t *testing.T) {
	dir := t.TempDir()
	f := &config.File{Path: filepath.Join(dir, "pier.yaml"), Dir: dir}
	for _, img := range []*config.Image{
		{Name: "f", Files: &config.FilesBuild{Base: "example.invalid/b:1", Files: map[string]string{"/x": "/etc/passwd"}}},
		{Name: "n", Nginx: &config.NginxBuild{Config: "/etc/passwd"}},
		{Name: "j", SpringBoot: &config.SpringBootBuild{Jar: "/etc/passwd"}},
		{Name: "x", Next: &config.NextBuild{Dir: "/etc"}},
		{Name: "o", OCI: &config.OCIBuild{Path: "/etc/passwd"}},
	} {
		_, err := Build(context.Background(), f, img, WithCacheDir(t.TempDir()))
		if err == nil || !strings.Contains(err.Error(), "is outside ") {
			t.Errorf("image %s: err = %v, want a refusal of /etc", img.Name, err)
		}
	}
}

// TestArchivesRefused: entries and headers of archives in build inputs that
// would escape, or make pier read more than the archive holds.
func TestArchivesRefused(t *testing.T) {
	tarOf := func(hs ...*tar.Header) []byte {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, h := range hs {
			must(t, tw.WriteHeader(h))
			if h.Typeflag == tar.TypeReg && h.Size > 0 {
				_, err := tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
				must(t, err)
			}
		}
		must(t, tw.Close())
		return b.Bytes()
	}
	reg := func(name string, size int64) *tar.Header {
		return &tar.Header{Name: name, Typeflag: tar.TypeReg, Size: size, Mode: 0o644}
	}
	layout := reg("oci-layout", 2)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"absolute name", tarOf(reg("/etc/cron.d/x", 1)), `entry "/etc/cron.d/x" has an absolute name`},
		{"dot dot", tarOf(reg("a/../../x", 1)), `entry "a/../../x" climbs out with ..`},
		{"symlink absolute", tarOf(&tar.Header{Name: "manifest.json", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}), `links to "/etc/passwd", which is an absolute path`},
		{"symlink climbing", tarOf(&tar.Header{Name: "a/m", Typeflag: tar.TypeSymlink, Linkname: "../../x"}), "climbs out of the archive"},
		{"hard link out", tarOf(&tar.Header{Name: "m", Typeflag: tar.TypeLink, Linkname: "../x"}), `links to "../x", which climbs out with ..`},
		{"symlink in an OCI archive", tarOf(layout, &tar.Header{Name: "index.json", Typeflag: tar.TypeSymlink, Linkname: "blobs/x"}), "is a symlink; an OCI archive is extracted as files only"},
		{"device", tarOf(&tar.Header{Name: "dev", Typeflag: tar.TypeChar}), "of tar type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := scanTar(bytes.NewReader(tc.data), "in.tar", int64(len(tc.data)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("a sparse entry bigger than the archive", func(t *testing.T) {
		// A GNU sparse file (PAX format 1.0) of 1 GiB that is all hole: its
		// map takes one block, but reading it would give a gigabyte.
		// tar.Writer does not write sparse files, so the blocks are made here.
		var b bytes.Buffer
		recs := ""
		for _, kv := range []string{"GNU.sparse.major=1", "GNU.sparse.minor=0", "GNU.sparse.name=layer", "GNU.sparse.realsize=1073741824"} {
			n := len(kv) + 2 // "N kv\n" with N's own digits
			for len(fmt.Sprintf("%d %s\n", n, kv)) != n {
				n++
			}
			recs += fmt.Sprintf("%d %s\n", n, kv)
		}
		b.Write(rawTarHeader("PaxHeaders/layer", 'x', int64(len(recs))))
		b.Write(padBlock([]byte(recs)))
		b.Write(rawTarHeader("GNUSparseFile.0/layer", '0', 512))
		b.Write(padBlock([]byte("0\n")))
		b.Write(make([]byte, 1024))
		_, err := scanTar(bytes.NewReader(b.Bytes()), "in.tar", int64(b.Len()))
		if err == nil || !strings.Contains(err.Error(), `entry "layer" claims 1073741824 bytes, more than the`) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("a hard link inside is fine", func(t *testing.T) {
		data := tarOf(reg("a", 1), &tar.Header{Name: "b", Typeflag: tar.TypeLink, Linkname: "a"})
		if _, err := scanTar(bytes.NewReader(data), "in.tar", int64(len(data))); err != nil {
			t.Error(err)
		}
	})
}

func TestJarsRefused(t *testing.T) {
	zipWith := func(edit func(*zip.Writer)) []byte {
		var b bytes.Buffer
		zw := zip.NewWriter(&b)
		edit(zw)
		must(t, zw.Close())
		return b.Bytes()
	}
	bomb := zipWith(func(zw *zip.Writer) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: "BOOT-INF/classes/big", Method: zip.Deflate})
		must(t, err)
		_, err = w.Write(make([]byte, 4<<20)) // 4 MiB of zeros deflate to about 4 KB
		must(t, err)
	})
	link := zipWith(func(zw *zip.Writer) {
		h := &zip.FileHeader{Name: "BOOT-INF/lib/x.jar"}
		h.SetMode(os.ModeSymlink | 0o777)
		w, err := zw.CreateHeader(h)
		must(t, err)
		_, err = w.Write([]byte("/etc/passwd"))
		must(t, err)
	})
	for _, tc := range []struct {
		name string
		data []byte
		edit func(*zip.Reader)
		want string
	}{
		{"entry climbing out", zipOf(t, map[string]string{"../../etc/cron.d/x": "x"}), nil, `entry "../../etc/cron.d/x" climbs out with ..`},
		{"absolute entry", zipOf(t, map[string]string{"/etc/x": "x"}), nil, `entry "/etc/x" has an absolute name`},
		{"symlink entry", link, nil, "is a symlink"},
		{"size beyond deflate", bomb, func(zr *zip.Reader) { zr.File[0].UncompressedSize64 = 1 << 40 }, "more than its method can give"},
		{"stored size lie", zipWith(func(zw *zip.Writer) {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: "a", Method: zip.Store})
			must(t, err)
			_, err = w.Write([]byte("abc"))
			must(t, err)
		}), func(zr *zip.Reader) { zr.File[0].UncompressedSize64 = 1 << 30 }, "more than its method can give"},
		{"overlapping entries", zipOf(t, map[string]string{"a": strings.Repeat("x", 100), "b": strings.Repeat("y", 100)}),
			func(zr *zip.Reader) { zr.File[0].CompressedSize64 = 1 << 20 }, "entries overlap"},
		{"a real bomb within the ratio is fine", bomb, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			zr, err := zip.NewReader(bytes.NewReader(tc.data), int64(len(tc.data)))
			if err != nil {
				t.Fatal(err)
			}
			if tc.edit != nil {
				tc.edit(zr)
			}
			err = checkJar(zr, int64(len(tc.data)))
			if tc.want == "" {
				if err != nil {
					t.Error(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// rawTarHeader is one ustar header block, for archives tar.Writer refuses
// to write.
func rawTarHeader(name string, typeflag byte, size int64) []byte {
	h := make([]byte, 512)
	copy(h[0:100], name)
	copy(h[100:108], "0000644\x00")
	copy(h[108:116], "0000000\x00")
	copy(h[116:124], "0000000\x00")
	copy(h[124:136], fmt.Sprintf("%011o\x00", size))
	copy(h[136:148], "00000000000\x00")
	h[156] = typeflag
	copy(h[257:265], "ustar\x0000")
	copy(h[148:156], "        ")
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return h
}

func padBlock(b []byte) []byte {
	if n := len(b) % 512; n != 0 {
		b = append(b, make([]byte, 512-n)...)
	}
	return b
}
