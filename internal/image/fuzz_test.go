package image

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/pier-deploy/pier/internal/image/bootjar"
	"github.com/pier-deploy/pier/internal/registry/registrytest"
)

// jarEntry reads one entry of the generated test jar, for seed corpora.
func jarEntry(t testing.TB, name string) []byte {
	data := bootjar.Bytes(bootjar.Spec{AppVersion: "1.0.0"})
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	f, err := zr.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func renderLayersIndex(ls []BootLayer) string {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString("- \"" + l.Name + "\":\n")
		for _, p := range l.Paths {
			b.WriteString("  - \"" + p + "\"\n")
		}
	}
	return b.String()
}

func TestParseLayersIndex(t *testing.T) {
	got, err := ParseLayersIndex(jarEntry(t, "BOOT-INF/layers.idx"))
	if err != nil {
		t.Fatal(err)
	}
	want := `[{dependencies [BOOT-INF/lib/jackson-databind-2.17.2.jar BOOT-INF/lib/spring-boot-3.3.5.jar BOOT-INF/lib/spring-core-6.1.14.jar BOOT-INF/lib/spring-web-6.1.14.jar]} {spring-boot-loader [org/]} {snapshot-dependencies [BOOT-INF/lib/inforum-common-1.0-SNAPSHOT.jar]} {application [BOOT-INF/classes/ BOOT-INF/classpath.idx BOOT-INF/layers.idx META-INF/]}]`
	if fmt.Sprint(got) != want {
		t.Errorf("got  %v\nwant %s", got, want)
	}
	for path, layer := range map[string]string{
		"BOOT-INF/lib/spring-core-6.1.14.jar":          "dependencies",
		"BOOT-INF/lib/spring-core-6.1.14.jar.sig":      "application", // exact entries are not prefixes
		"org/springframework/boot/loader/x.class":      "spring-boot-loader",
		"BOOT-INF/classes/com/inforum/A.class":         "application",
		"BOOT-INF/lib/inforum-common-1.0-SNAPSHOT.jar": "snapshot-dependencies",
	} {
		i := layerFor(got, path)
		name := "application"
		if i >= 0 {
			name = got[i].Name
		}
		if name != layer {
			t.Errorf("%s → %s, want %s", path, name, layer)
		}
	}
}

func TestParseManifest(t *testing.T) {
	for _, tc := range []struct{ in, key, want string }{
		{string(jarEntry(t, "META-INF/MANIFEST.MF")), "Main-Class", bootjar.MainClass},
		{"Manifest-Version: 1.0\r\nStart-Class: com.example.very.long.packag\r\n e.Application\r\n\r\nName: x\r\nMain-Class: nope\r\n", "Start-Class", "com.example.very.long.package.Application"},
		{"Main-Class: a.B\n", "Main-Class", "a.B"},
	} {
		attrs, err := ParseManifest([]byte(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		if attrs[tc.key] != tc.want {
			t.Errorf("%s = %q, want %q", tc.key, attrs[tc.key], tc.want)
		}
	}
	if _, err := ParseManifest([]byte("no colon here\n")); err == nil || !strings.Contains(err.Error(), "META-INF/MANIFEST.MF:1:1") {
		t.Errorf("err = %v, want a positioned error", err)
	}
}

// FuzzParseLayersIndex: never panics, and what parses renders back to an
// index that parses to the same layers.
func FuzzParseLayersIndex(f *testing.F) {
	f.Add(jarEntry(f, "BOOT-INF/layers.idx"))
	f.Add([]byte("- \"a\":\n  - \"x/\"\n- \"b\":\n"))
	f.Add([]byte("  - \"orphan\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ls, err := ParseLayersIndex(data)
		if err != nil {
			return
		}
		again, err := ParseLayersIndex([]byte(renderLayersIndex(ls)))
		if err != nil {
			t.Fatalf("re-parsing %q: %v", renderLayersIndex(ls), err)
		}
		if fmt.Sprint(ls) != fmt.Sprint(again) {
			t.Fatalf("round trip changed %v into %v", ls, again)
		}
	})
}

// FuzzParseManifest: never panics; every attribute name is one the jar
// specification allows.
func FuzzParseManifest(f *testing.F) {
	f.Add(jarEntry(f, "META-INF/MANIFEST.MF"))
	f.Add([]byte("A: b\r\n c\r\n"))
	f.Add([]byte(" leading continuation\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		attrs, err := ParseManifest(data)
		if err != nil {
			return
		}
		for k := range attrs {
			if !validAttrName(k) {
				t.Fatalf("bad attribute name %q", k)
			}
		}
	})
}

// FuzzSpringBootJar feeds whole jars (zip bytes) to the springboot builder:
// it never panics, errors name the jar, and every entry of every layer
// lands under /app, however the zip names it. It reads the jar from memory
// (jarRecipe is what springBootRecipe runs on the opened file), so an
// execution costs what the jar's bytes cost and the fuzzer makes thousands a
// second.
func FuzzSpringBootJar(f *testing.F) {
	// Small jars in the shape of a layered Spring Boot jar: every new input
	// the fuzzer finds is minimized, which costs executions per byte, so a
	// 10 KB seed would stall it (bootjar's full jars are the unit tests').
	f.Add(zipOf(f, map[string]string{
		"META-INF/MANIFEST.MF":             "Main-Class: org.springframework.boot.loader.launch.JarLauncher\r\nSpring-Boot-Layers-Index: BOOT-INF/layers.idx\r\n\r\n",
		"BOOT-INF/layers.idx":              "- \"dependencies\":\n  - \"BOOT-INF/lib/\"\n- \"application\":\n  - \"BOOT-INF/classes/\"\n",
		"BOOT-INF/lib/a.jar":               "PK",
		"BOOT-INF/classes/":                "",
		"BOOT-INF/classes/app/Main.class":  "\xca\xfe\xba\xbe",
		"org/springframework/boot/L.class": "\xca\xfe",
	}))
	f.Add(zipOf(f, map[string]string{"META-INF/MANIFEST.MF": "Main-Class: a.B\n", "../../etc/passwd": "x"}))
	f.Add(zipOf(f, map[string]string{"META-INF/MANIFEST.MF": "Main-Class: a.B\nSpring-Boot-Layers-Index: idx\n", "idx": "- \"a\":\n  - \"x/\"\n", "x/y": "1", "x": "2"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		if err := checkJar(zr, int64(len(data))); err != nil {
			return
		}
		r, err := jarRecipe(zr, "app.jar", "example.com/base:1")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "springboot: app.jar") {
				t.Fatalf("error without the builder's name and the jar: %v", err)
			}
			return
		}
		var budget int64 = int64(len(data))*maxDeflateRatio + 1<<16
		for _, spec := range r.layers {
			entries, err := spec.normalize()
			if err != nil {
				continue
			}
			for _, e := range entries {
				if e.name != "app" && !strings.HasPrefix(e.name, "app/") {
					t.Fatalf("%s: entry %q outside /app", spec.comment, e.name)
				}
			}
			// A zip whose sizes lie fails here with an error, not a panic,
			// and no layer is larger than the jar's data can expand to.
			n := &countWriter{w: io.Discard}
			_ = writeTar(n, entries, time.Unix(0, 0))
			if budget -= n.n; budget < 0 {
				t.Fatalf("a %d-byte jar made layers of more than %d× its size", len(data), maxDeflateRatio)
			}
		}
	})
}

// zipOf makes a zip archive of name → content, in name order.
func zipOf(t testing.TB, files map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, files[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzOCIArchive feeds arbitrary bytes as an `oci:` tarball (an OCI archive
// or a docker save) to the reader the oci builder uses: never a panic, never
// a file written outside the build cache's own directories, and an image
// that reads has a digest. The archive is read from memory and the seeds are
// tiny images, so executions (and the fuzzer's minimizing of each new
// input) stay fast.
func FuzzOCIArchive(f *testing.F) {
	plat := v1.Platform{OS: "linux", Architecture: "amd64"}
	img, err := mutate.AppendLayers(empty.Image, registrytest.Layer(f, "a", 8, 1))
	if err != nil {
		f.Fatal(err)
	}
	if img, err = mutate.ConfigFile(img, &v1.ConfigFile{OS: plat.OS, Architecture: plat.Architecture, RootFS: v1.RootFS{Type: "layers"}}); err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	lp, err := layout.Write(filepath.Join(dir, "layout"), empty.Index)
	if err != nil {
		f.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		f.Fatal(err)
	}
	archive := filepath.Join(dir, "image.oci.tar")
	tarDir(f, filepath.Join(dir, "layout"), archive)
	saved := filepath.Join(dir, "saved.tar")
	if err := tarball.WriteToFile(saved, name.MustParseReference("example.com/app:1"), img); err != nil {
		f.Fatal(err)
	}
	for _, p := range []string{archive, saved} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	root := f.TempDir()
	cache, err := OpenCache(filepath.Join(root, "cache"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		defer os.RemoveAll(filepath.Join(cache.Dir(), "oci"))
		src := archiveSource{name: "image.tar", size: int64(len(data)), open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		}}
		a := &Artifact{Name: "app"}
		dir, err := cache.readArchive(src, a)
		if err == nil && dir != "" {
			err = readLayout(dir, src.name, a)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "oci: ") {
			t.Fatalf("error without the builder's name: %v", err)
		}
		for _, d := range []string{root, cache.Dir(), filepath.Join(cache.Dir(), "tmp")} {
			entries, _ := os.ReadDir(d)
			for _, e := range entries {
				switch e.Name() {
				case "cache", "blobs", "layers", "tmp", "oci":
					if d != filepath.Join(cache.Dir(), "tmp") {
						continue
					}
				}
				t.Fatalf("reading the archive left %s outside the cache's extracted layouts", filepath.Join(d, e.Name()))
			}
		}
		if err != nil {
			return
		}
		var h v1.Hash
		if a.Index != nil {
			h, err = a.Index.Digest()
		} else {
			h, err = a.Image.Digest()
		}
		if err == nil && h.Hex == "" {
			t.Fatal("read an image without a digest")
		}
	})
}
