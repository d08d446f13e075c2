package cli

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/dockertest"
)

// golangStandIn makes the Dockerfile's build stage base without pulling:
// Debian bookworm from debootstrap (dockertest) with this machine's Go
// toolchain at /usr/local/go and the official golang image's environment,
// tagged under the exact name the Dockerfile's first FROM uses. A machine
// that already has an image of that name keeps it (it may be the real one).
func golangStandIn(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^FROM (golang:\S+)`).FindStringSubmatch(string(data))
	if m == nil {
		t.Fatal("the Dockerfile has no FROM golang:… stage")
	}
	from := m[1]
	goroot := runtime.GOROOT()
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		goroot = strings.TrimSpace(string(out))
	}
	b := dockertest.DebianBaseWith(t, dockertest.Spec{
		Name:     "golang",
		Packages: []string{"ca-certificates"}, // the Dockerfile copies its bundle into the image
		// The machine's CA bundle over Debian's: `go mod download` in the build
		// stage must trust what this machine trusts (a proxy that re-signs TLS).
		Dirs: map[string]string{goroot: "/usr/local/go", hostCABundleDir(t): "/etc/ssl/certs"},
		// As the official image sets them (GOTOOLCHAIN=local: the Dockerfile
		// turns that to auto itself).
		Env: []string{"GOPATH=/go", "PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "GOTOOLCHAIN=local"},
	})
	if tags, err := exec.Command("docker", "image", "inspect", "--format", "{{join .RepoTags \" \"}}", from).Output(); err == nil &&
		!strings.Contains(string(tags), "pier-test/base-golang:") {
		t.Logf("%s is on this machine and is not a stand-in (%s): the Dockerfile builds on it", from, strings.TrimSpace(string(tags)))
		return from
	}
	// Absent, or an earlier stand-in: point the name at this one.
	dockertest.Docker(t, "tag", b.Tag, from)
	t.Logf("tagged the stand-in %s as %s", b.Tag, from)
	return from
}

// hostCABundleDir is a directory holding only this machine's CA bundle as
// ca-certificates.crt, at a fixed place in the test cache with the bundle's
// times on the file and the directory: the stand-in's cache key hashes the
// path and those, so it changes only when the bundle does.
func hostCABundleDir(t *testing.T) string {
	t.Helper()
	const bundle = "/etc/ssl/certs/ca-certificates.crt"
	fi, err := os.Stat(bundle)
	if err != nil {
		t.Fatalf("the machine's CA bundle: %v (apt-get install ca-certificates)", err)
	}
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(dockertest.CacheDir(), "host-ca")
	dst := filepath.Join(dir, "ca-certificates.crt")
	if have, err := os.ReadFile(dst); err != nil || !bytes.Equal(have, data) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		// Written beside and renamed: another test process may read it now.
		tmp := fmt.Sprintf("%s.%d", dst, os.Getpid())
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, dst); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{dst, dir} {
		if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestDockerfileBuilds: `docker build` of the Dockerfile (what `uses: ./`
// and act run) succeeds on the stand-in base with --pull=false, and its
// image holds the same pier, byte for byte, as the image pier builds from
// .github/pier.yaml: both compile with the same command and toolchain.
func TestDockerfileBuilds(t *testing.T) {
	img := actionImageFor(t)
	golangStandIn(t)
	dockertest.RequireDisk(t, "/var/lib/docker", 2<<30, "docker build of the Dockerfile (the Go module cache and build cache of its build stage)")
	ref := fmt.Sprintf("pier-test/dockerfile:t%d", os.Getpid())
	t.Cleanup(func() { removeImages(t.Logf, ref) })
	build := exec.Command("docker", "build", "--pull=false", "--force-rm", "--build-arg", "VERSION="+actionImageVersion, "-t", ref, ".")
	build.Dir = repoRoot
	build.Env = append(os.Environ(), "DOCKER_BUILDKIT=0") // the classic builder, which act drives too
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	if out := dockertest.Docker(t, "run", "--rm", "--pull=never", ref, "version"); !strings.HasPrefix(out, "pier "+actionImageVersion+" ") {
		t.Errorf("pier version in the Dockerfile's image says %q, want the stamped %s", out, actionImageVersion)
	}
	fromDockerfile, fromPier := exportFS(t, ref), exportFS(t, img.Ref)
	// /tmp is a directory in both; the classic builder's COPY gives it 0755
	// (root, as which the action runs, writes there anyway), pier keeps 1777.
	if fromDockerfile["tmp"].mode[0] != tar.TypeDir {
		t.Errorf("/tmp in the Dockerfile's image is %q, want a directory", fromDockerfile["tmp"].mode)
	}
	for _, name := range []string{"usr/local/bin/pier", "etc/ssl/certs/ca-certificates.crt"} {
		d, p := fromDockerfile[name], fromPier[name]
		if d.mode != p.mode || !bytes.Equal(d.data, p.data) {
			t.Errorf("/%s: the Dockerfile's image has %s (%d bytes), .github/pier.yaml's %s (%d bytes); want the same", name, d.mode, len(d.data), p.mode, len(p.data))
		}
	}
	for name := range fromDockerfile {
		if _, ok := fromPier[name]; !ok {
			t.Errorf("the Dockerfile's image holds /%s, which .github/pier.yaml's does not", name)
		}
	}
}
