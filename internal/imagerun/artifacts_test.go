package imagerun

import (
	"archive/zip"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/dockertest"
)

// javac compiles sources into out for Java 17, the stand-in base's runtime.
func javac(t *testing.T, out string, classpath string, sources ...string) {
	t.Helper()
	bin, err := exec.LookPath("javac")
	if err != nil {
		if os.Getenv(dockertest.Env) == "1" {
			t.Fatalf("%s=1 but javac is not installed (apt-get install openjdk-17-jdk-headless): %v", dockertest.Env, err)
		}
		t.Skipf("javac is not installed (apt-get install openjdk-17-jdk-headless): %v", err)
	}
	args := []string{"--release", "17", "-d", out}
	if classpath != "" {
		args = append(args, "-cp", classpath)
	}
	if b, err := exec.Command(bin, append(args, sources...)...).CombinedOutput(); err != nil {
		t.Fatalf("javac %s: %v\n%s", strings.Join(sources, " "), err, b)
	}
}

// zipEntry is one file of a jar, in write order.
type zipEntry struct {
	name   string
	data   []byte
	stored bool // nested jars are stored, as Spring Boot requires
}

// filesUnder lists dir's files as jar entries under prefix, sorted.
func filesUnder(t *testing.T, dir, prefix string) []zipEntry {
	t.Helper()
	var out []zipEntry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, zipEntry{name: prefix + filepath.ToSlash(rel), data: data})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// writeJar writes entries as a jar at path, with the directory entries a
// jar tool writes.
func writeJar(t *testing.T, path string, entries []zipEntry) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	dirs := map[string]bool{}
	for _, e := range entries {
		parts := strings.Split(e.name, "/")
		for i := 1; i < len(parts); i++ {
			d := strings.Join(parts[:i], "/") + "/"
			if !dirs[d] {
				dirs[d] = true
				if _, err := zw.CreateHeader(&zip.FileHeader{Name: d, Method: zip.Store}); err != nil {
					t.Fatal(err)
				}
			}
		}
		method := zip.Deflate
		if e.stored {
			method = zip.Store
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

const bootManifest = `Manifest-Version: 1.0
Main-Class: org.springframework.boot.loader.launch.JarLauncher
Start-Class: demo.App
Spring-Boot-Version: 3.3.4
Spring-Boot-Classes: BOOT-INF/classes/
Spring-Boot-Lib: BOOT-INF/lib/
Spring-Boot-Classpath-Index: BOOT-INF/classpath.idx
Spring-Boot-Layers-Index: BOOT-INF/layers.idx
Build-Jdk-Spec: 17

`

// The layers `spring-boot-maven-plugin repackage` writes by default.
const layersIdx = `- "dependencies":
  - "BOOT-INF/lib/"
- "spring-boot-loader":
  - "org/"
- "snapshot-dependencies":
- "application":
  - "BOOT-INF/classes/"
  - "BOOT-INF/classpath.idx"
  - "BOOT-INF/layers.idx"
  - "META-INF/"
`

// springBootJar compiles testdata/springboot (a launcher, an application and
// one library) and packages it as a Spring Boot layered fat jar.
func springBootJar(t *testing.T) string {
	t.Helper()
	src, err := filepath.Abs("testdata/springboot")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	lib, classes, loader := filepath.Join(work, "lib"), filepath.Join(work, "classes"), filepath.Join(work, "loader")
	javac(t, lib, "", filepath.Join(src, "src/demo/lib/Greeting.java"))
	javac(t, classes, lib, filepath.Join(src, "src/demo/App.java"))
	javac(t, loader, "", filepath.Join(src, "loader/org/springframework/boot/loader/launch/JarLauncher.java"))

	libJar := filepath.Join(work, "greeting-1.0.jar")
	writeJar(t, libJar, append([]zipEntry{{name: "META-INF/MANIFEST.MF", data: []byte("Manifest-Version: 1.0\n\n")}}, filesUnder(t, lib, "")...))
	libData, err := os.ReadFile(libJar)
	if err != nil {
		t.Fatal(err)
	}
	entries := []zipEntry{{name: "META-INF/MANIFEST.MF", data: []byte(bootManifest)}}
	entries = append(entries, filesUnder(t, loader, "")...)
	entries = append(entries, filesUnder(t, classes, "BOOT-INF/classes/")...)
	entries = append(entries,
		zipEntry{name: "BOOT-INF/lib/greeting-1.0.jar", data: libData, stored: true},
		zipEntry{name: "BOOT-INF/classpath.idx", data: []byte("- \"BOOT-INF/lib/greeting-1.0.jar\"\n")},
		zipEntry{name: "BOOT-INF/layers.idx", data: []byte(layersIdx)},
	)
	jar := filepath.Join(work, "app.jar")
	writeJar(t, jar, entries)
	return jar
}

// nextDir lays out a Next.js project after `next build` with output:
// 'standalone': .next/standalone (server.js, node_modules, .next/BUILD_ID)
// and .next/static from testdata/next, and public/ from the inforum fixture.
func nextDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "frontend")
	copyTree(t, "testdata/next/standalone", filepath.Join(dir, ".next/standalone"))
	copyTree(t, "testdata/next/static", filepath.Join(dir, ".next/static"))
	copyTree(t, filepath.Join(inforum, "frontend/public"), filepath.Join(dir, "public"))
	return dir
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(to)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatalf("copying %s to %s: %v", src, dst, err)
	}
}
