package cli

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/pier-deploy/pier/internal/dockertest"
)

// actionImageVersion is the version .github/prepare-image stamps into the
// test's action image, so `pier version` in the container proves the stamp.
const actionImageVersion = "v0.0.0-dockertest"

// builtActionImage is pier's action image as the release makes it:
// .github/prepare-image cross-compiles, pier builds .github/pier.yaml, and
// `docker load` takes the archive of build --tarball.
type builtActionImage struct {
	Ref     string // as loaded: ghcr.io/pier-test/action:<tag>
	ImageID string // what pier printed, and docker reported
	Dir     string // the copy of .github/pier.yaml and its dist/
	Index   string // the digest of the two-platform index pier built
	Loaded  string // docker load's output
}

// loadedRefs are the images this process loaded into the engine, removed
// by TestMain when the tests end.
var loadedRefs []string

var actionImage struct {
	once sync.Once
	img  *builtActionImage
	err  error
}

// actionImageFor builds and loads the action image once per test process.
func actionImageFor(t *testing.T) *builtActionImage {
	t.Helper()
	dockertest.Require(t)
	dockertest.RequireDisk(t, os.TempDir(), 512<<20, "building pier's action image (two pier binaries, the archive and the loaded image)")
	actionImage.once.Do(func() { actionImage.img, actionImage.err = makeActionImage(t) })
	if actionImage.err != nil {
		t.Fatal(actionImage.err)
	}
	return actionImage.img
}

func makeActionImage(t *testing.T) (*builtActionImage, error) {
	dir, err := os.MkdirTemp("", "pier-action-image")
	if err != nil {
		return nil, err
	}
	// The image stays loaded for the process's other tests; the files go.
	t.Cleanup(func() { os.RemoveAll(dir) })
	pierYAML, err := os.ReadFile(filepath.Join(repoRoot, ".github", "pier.yaml"))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "pier.yaml"), pierYAML, 0o644); err != nil {
		return nil, err
	}
	prep := exec.Command(filepath.Join(repoRoot, ".github", "prepare-image"))
	prep.Env = append(os.Environ(), "VERSION="+actionImageVersion, "DIST="+filepath.Join(dir, "dist"))
	if out, err := prep.CombinedOutput(); err != nil {
		return nil, fmt.Errorf(".github/prepare-image: %v\n%s", err, out)
	}
	// A tag of this process: test runs of other worktrees on the machine load
	// their own images at the same time. TestMain removes it at the end.
	tag := fmt.Sprintf("t%d", os.Getpid())
	build := exec.Command(pierBinary(t), "-f", filepath.Join(dir, "pier.yaml"), "--output", "json", "build", "--tarball", filepath.Join(dir, "pier.tar"))
	build.Env = append(os.Environ(), "PIER_CACHE="+filepath.Join(dir, "cache"), "PIER_IMAGE_REPOSITORY=pier-test/action", "PIER_IMAGE_TAG="+tag)
	var stderr strings.Builder
	build.Stderr = &stderr
	out, err := build.Output()
	if err != nil {
		return nil, fmt.Errorf("pier build --tarball: %v\n%s", err, stderr.String())
	}
	var res struct {
		Images []struct {
			Digest    string `json:"digest"`
			MediaType string `json:"mediaType"`
		} `json:"images"`
		Tarball tarballJSON `json:"tarball"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("reading pier build's JSON: %v\n%s", err, out)
	}
	if len(res.Images) != 1 || len(res.Tarball.Images) != 1 {
		return nil, fmt.Errorf("pier build of .github/pier.yaml: %s", out)
	}
	ti := res.Tarball.Images[0]
	loadedRefs = append(loadedRefs, ti.Reference)
	loaded, err := exec.Command("docker", "load", "-i", filepath.Join(dir, "pier.tar")).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("docker load: %v\n%s", err, loaded)
	}
	return &builtActionImage{Ref: ti.Reference, ImageID: ti.ImageID, Dir: dir, Index: res.Images[0].Digest, Loaded: string(loaded)}, nil
}

// TestActionImageLoads: the archive of build --tarball is what docker load
// takes, under the reference pier printed and with the image ID pier printed
// (the config digest); the image holds the stamped static binary, the CA
// bundle and a 1777 /tmp, runs pier as its entrypoint, and nothing else.
func TestActionImageLoads(t *testing.T) {
	img := actionImageFor(t)
	m := regexp.MustCompile(`(?m)^Loaded image: (\S+)$`).FindStringSubmatch(img.Loaded)
	if m == nil || m[1] != img.Ref {
		t.Fatalf("docker load said %q, want \"Loaded image: %s\"", img.Loaded, img.Ref)
	}
	if id := dockertest.Docker(t, "image", "inspect", "--format", "{{.Id}}", img.Ref); id != img.ImageID {
		t.Errorf("docker's image ID of %s is %s, pier printed %s", img.Ref, id, img.ImageID)
	}
	var cfg struct {
		Entrypoint []string
		Env        []string
		Cmd        []string
	}
	js := dockertest.Docker(t, "image", "inspect", "--format", "{{json .Config}}", img.Ref)
	if err := json.Unmarshal([]byte(js), &cfg); err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Entrypoint, " ") != "/usr/local/bin/pier" || len(cfg.Cmd) != 0 || strings.Join(cfg.Env, " ") != "TMPDIR=/tmp" {
		t.Errorf("config = %+v, want entrypoint /usr/local/bin/pier, no cmd, env TMPDIR=/tmp", cfg)
	}
	if arch := dockertest.Docker(t, "image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", img.Ref); arch != tarballPlatform().String() {
		t.Errorf("the loaded image is %s, want this machine's %s", arch, tarballPlatform())
	}

	if out := dockertest.Docker(t, "run", "--rm", "--pull=never", img.Ref, "version"); !strings.HasPrefix(out, "pier "+actionImageVersion+" ") {
		t.Errorf("pier version in the image says %q, want the stamped %s", out, actionImageVersion)
	}

	files := exportFS(t, img.Ref)
	for name, want := range map[string]string{
		"usr/local/bin/pier":                "0755",
		"etc/ssl/certs/ca-certificates.crt": "0644",
		"tmp":                               "51777",
	} {
		if files[name].mode != want {
			t.Errorf("/%s is %q in the container, want %q (type, mode)", name, files[name].mode, want)
		}
	}
	for name := range files {
		if !strings.HasPrefix(name, "usr") && !strings.HasPrefix(name, "etc") && !strings.HasPrefix(name, "tmp") {
			t.Errorf("the image holds /%s, which pier.yaml does not put there", name)
		}
	}
}

// exported is one entry of a container's file system.
type exported struct {
	mode string // tar type flag and permission bits, e.g. "0755", "51777"
	data []byte // of a regular file
}

// exportFS reads the file system of a container made from ref with docker
// export, less what the engine adds to every container (/dev, /proc, /sys,
// /.dockerenv, /etc/hosts, /etc/hostname, /etc/resolv.conf, /etc/mtab).
func exportFS(t *testing.T, ref string) map[string]exported {
	t.Helper()
	id := dockertest.Docker(t, "create", "--pull=never", ref)
	dockertest.RemoveContainerOnCleanup(t, id)
	cmd := exec.Command("docker", "export", id)
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	files := map[string]exported{}
	engine := regexp.MustCompile(`^(dev|proc|sys)(/|$)|^\.dockerenv$|^etc/(hosts|hostname|resolv\.conf|mtab)$`)
	tr := tar.NewReader(pipe)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(h.Name, "/")
		if engine.MatchString(name) {
			continue
		}
		e := exported{mode: fmt.Sprintf("%c%o", h.Typeflag, h.Mode&0o7777)}
		if h.Typeflag == tar.TypeReg {
			if e.data, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
		files[name] = e
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	return files
}
