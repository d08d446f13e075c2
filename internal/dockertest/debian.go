package dockertest

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Suite is the Debian release every base is made of.
const Suite = "bookworm"

// recipeVersion changes whenever the way a base is made changes, so that a
// machine's cache is not reused for a different recipe.
const recipeVersion = "3"

// baseDiskNeed is the free space making one base may take: the debootstrap
// tree, its tar and the gzipped OCI layer side by side, with a JRE inside.
const baseDiskNeed = 3 << 30

// DefaultPath is the PATH of every base, Debian's default for root.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Spec says what a base holds.
type Spec struct {
	Name     string            // short name, part of the cache key and the tag: "nginx"
	Packages []string          // Debian packages installed on top of minbase
	Dirs     map[string]string // host directory → absolute path in the image, copied in
	Env      []string          // KEY=VALUE added to the image's config after PATH
	Cmd      []string          // the image's command; default ["bash"]
	// Script is run by sh in the finished tree (chroot) after the packages
	// are installed and Dirs copied: for what a stand-in base must add that
	// no package does, such as the user an official image creates.
	Script string
}

// Base is a Debian bookworm root filesystem made by debootstrap, cached once
// per machine under CacheDir, in the three forms a test may need.
type Base struct {
	Key     string // <name>-<hash of the spec>: the cache entry and the tag
	Dir     string // the cache entry
	RootTar string // the root filesystem as one uncompressed tar
	Layout  string // an OCI image layout holding the base as one image
	Tag     string // the base imported into the engine (`docker import`)
	Env     []string
	Cmd     []string
}

// Image opens the base's image in its OCI layout.
func (b *Base) Image() (v1.Image, error) {
	p, err := layout.FromPath(b.Layout)
	if err != nil {
		return nil, fmt.Errorf("opening the OCI layout of base %s: %w", b.Key, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("reading the OCI layout of base %s: %w", b.Key, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading the index of base %s: %w", b.Key, err)
	}
	if len(m.Manifests) != 1 {
		return nil, fmt.Errorf("the OCI layout of base %s holds %d images, want 1; remove %s to rebuild it", b.Key, len(m.Manifests), b.Dir)
	}
	return idx.Image(m.Manifests[0].Digest)
}

// DebianBase returns the bookworm base named name with packages installed
// (see DebianBaseWith).
func DebianBase(tb testing.TB, name string, packages ...string) *Base {
	tb.Helper()
	return DebianBaseWith(tb, Spec{Name: name, Packages: packages})
}

// DebianBaseWith returns the base spec describes, making it the first time
// this machine asks for it: debootstrap --variant=minbase from the Debian
// mirror apt is configured with, the packages installed, the directories
// copied in; then a tar, an OCI layout and an image in the engine. It is made
// in a temporary directory beside the cache entry and renamed into place, so
// an interrupted build leaves nothing that looks finished; an exclusive flock
// per entry makes concurrent test processes wait for one builder.
// Without an engine or debootstrap it skips (fails under PIER_DOCKER=1).
func DebianBaseWith(tb testing.TB, spec Spec) *Base {
	tb.Helper()
	Require(tb)
	debootstrap := "/usr/sbin/debootstrap"
	if _, err := os.Stat(debootstrap); err != nil {
		if debootstrap, err = exec.LookPath("debootstrap"); err != nil {
			skipOrFail(tb, "debootstrap is not installed (apt-get install debootstrap)")
			return nil
		}
	}
	mirror := aptMirror()
	key, err := spec.key(mirror)
	if err != nil {
		tb.Fatal(err)
	}
	cache := filepath.Join(CacheDir(), "bases")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		tb.Fatalf("making the base cache %s: %v", cache, err)
	}
	if len(spec.Cmd) == 0 {
		spec.Cmd = []string{"bash"}
	}
	b := &Base{
		Key:     key,
		Dir:     filepath.Join(cache, key),
		Tag:     "pier-test/base-" + spec.Name + ":" + strings.TrimPrefix(key, spec.Name+"-"),
		Env:     append([]string{DefaultPath}, spec.Env...),
		Cmd:     spec.Cmd,
		RootTar: filepath.Join(cache, key, "rootfs.tar"),
		Layout:  filepath.Join(cache, key, "oci"),
	}
	start := time.Now()
	made, err := entry(tb, cache, key, baseDiskNeed, "making the Debian base "+key, func(tmp string) error {
		return b.build(tb, spec, debootstrap, mirror, tmp)
	})
	if err != nil {
		tb.Fatalf("making the Debian base %s in %s: %v", key, cache, err)
	}
	if made {
		tb.Logf("made the Debian base %s in %s (cached in %s)", key, time.Since(start).Round(time.Second), b.Dir)
	}
	// One importer per tag at a time, too.
	unlock := lock(tb, filepath.Join(cache, key+".lock"))
	defer unlock()
	if _, err := Output("image", "inspect", "--format", "{{.Id}}", b.Tag); err != nil {
		if fi, err := os.Stat(b.RootTar); err == nil && engine.rootDir != "" {
			RequireDisk(tb, engine.rootDir, 2*uint64(fi.Size()), "importing the Debian base "+key+" into the engine")
		}
		start := time.Now()
		args := []string{"import"}
		for _, e := range b.Env {
			args = append(args, "--change", "ENV "+e)
		}
		cmd, err := json.Marshal(b.Cmd)
		if err != nil {
			tb.Fatal(err)
		}
		args = append(args, "--change", "CMD "+string(cmd), b.RootTar, b.Tag)
		if _, err := Output(args...); err != nil {
			tb.Fatalf("importing the Debian base %s into the engine: %v", key, err)
		}
		tb.Logf("imported %s as %s in %s", b.RootTar, b.Tag, time.Since(start).Round(time.Second))
	}
	return b
}

// key is <name>-<hash> of everything that decides what the base holds.
func (s Spec) key(mirror string) (string, error) {
	if s.Name == "" || strings.ContainsAny(s.Name, "/:. ") || strings.ToLower(s.Name) != s.Name {
		return "", fmt.Errorf("base name %q: use lower-case letters, digits and hyphens", s.Name)
	}
	h := sha256.New()
	pkgs := append([]string(nil), s.Packages...)
	sort.Strings(pkgs)
	fmt.Fprintf(h, "recipe %s\nsuite %s\nmirror %s\narch %s\npackages %s\nenv %q\ncmd %q\nscript %q\n",
		recipeVersion, Suite, mirror, runtime.GOARCH, strings.Join(pkgs, ","), s.Env, s.Cmd, s.Script)
	hosts := make([]string, 0, len(s.Dirs))
	for host := range s.Dirs {
		hosts = append(hosts, host)
	}
	sort.Strings(hosts)
	for _, host := range hosts {
		fmt.Fprintf(h, "dir %s -> %s\n", host, s.Dirs[host])
		// What the directory holds, by name, size, mode and time: cheap, and
		// a toolchain upgraded in place gives a new key.
		err := filepath.WalkDir(host, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(host, p)
			fmt.Fprintf(h, "%s %o %d %d\n", rel, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("reading %s to copy into base %s: %w", host, s.Name, err)
		}
	}
	return s.Name + "-" + hex.EncodeToString(h.Sum(nil))[:12], nil
}

// build fills tmp, the cache entry to be, from scratch.
func (b *Base) build(tb testing.TB, spec Spec, debootstrap, mirror, tmp string) error {
	root := filepath.Join(tmp, "rootfs")
	args := []string{"--variant=minbase", "--cache-dir=" + filepath.Join(CacheDir(), "debs")}
	if len(spec.Packages) > 0 {
		args = append(args, "--include="+strings.Join(spec.Packages, ","))
	}
	args = append(args, Suite, root, mirror)
	if err := os.MkdirAll(filepath.Join(CacheDir(), "debs"), 0o755); err != nil {
		return err
	}
	// debootstrap's .deb cache is shared by every base.
	unlock := lock(tb, filepath.Join(CacheDir(), "debs.lock"))
	err := run(tmp, debootstrap, args...)
	unlock()
	if err != nil {
		return err
	}
	// What only the build needed: the package lists and downloaded .debs.
	for _, glob := range []string{"var/lib/apt/lists/*", "var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/log/*.log"} {
		matches, _ := filepath.Glob(filepath.Join(root, glob))
		for _, m := range matches {
			if err := os.RemoveAll(m); err != nil {
				return err
			}
		}
	}
	for host, in := range spec.Dirs {
		dst := filepath.Join(root, in)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return err
		}
		if err := run(tmp, "cp", "-a", host+"/.", dst); err != nil {
			return fmt.Errorf("copying %s into the base at %s: %w", host, in, err)
		}
	}
	if spec.Script != "" {
		if err := run(tmp, "chroot", root, "/bin/sh", "-ec", spec.Script); err != nil {
			return fmt.Errorf("running the base's script: %w", err)
		}
	}
	rootTar := filepath.Join(tmp, "rootfs.tar")
	// /dev, /proc and /sys are the engine's to provide; their contents would be
	// device nodes that an unprivileged layer apply cannot make.
	if err := run(tmp, "tar", "--numeric-owner", "--one-file-system", "-C", root,
		"--exclude=./dev/*", "--exclude=./proc/*", "--exclude=./sys/*", "-cf", rootTar, "."); err != nil {
		return err
	}
	if err := os.RemoveAll(root); err != nil {
		return err
	}
	if err := writeLayout(filepath.Join(tmp, "oci"), rootTar, b, spec.Name); err != nil {
		return fmt.Errorf("writing the OCI layout: %w", err)
	}
	return nil
}

// writeLayout writes an OCI layout at dir holding one image: rootTar as its
// only layer, for this machine's platform.
func writeLayout(dir, rootTar string, b *Base, name string) error {
	layer, err := tarball.LayerFromFile(rootTar, tarball.WithCompressionLevel(gzip.BestSpeed))
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config.Env = append([]string(nil), b.Env...)
	cf.Config.Cmd = append([]string(nil), b.Cmd...)
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": Suite + "-" + name,
	}))
}

// run runs a program of the base build, with its output in the error.
func run(dir, prog string, args ...string) error {
	cmd := exec.Command(prog, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		tail := string(out)
		if len(tail) > 4000 {
			tail = "…" + tail[len(tail)-4000:]
		}
		return fmt.Errorf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, tail)
	}
	return nil
}

// CacheDir is where bases are kept between runs, outside any repository:
// $PIER_TEST_CACHE, else /var/cache/pier-test when it can be written, else
// the user's cache directory.
func CacheDir() string {
	if d := os.Getenv("PIER_TEST_CACHE"); d != "" {
		return d
	}
	const system = "/var/cache/pier-test"
	if err := os.MkdirAll(system, 0o755); err == nil {
		if f, err := os.CreateTemp(system, ".probe-"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return system
		}
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "pier-test")
	}
	return filepath.Join(os.TempDir(), "pier-test")
}

// aptMirror is the Debian mirror of apt's sources for the Suite, so a base
// comes from where this machine's packages come from.
func aptMirror() string {
	const fallback = "http://deb.debian.org/debian"
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	files = append([]string{"/etc/apt/sources.list"}, files...)
	more, _ := filepath.Glob("/etc/apt/sources.list.d/*.list")
	files = append(files, more...)
	for _, f := range files {
		if m := mirrorIn(f); m != "" {
			return m
		}
	}
	return fallback
}

// mirrorIn finds, in one apt sources file (one-line or deb822 form), the URI
// that serves the Suite itself (not -security or -updates).
func mirrorIn(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var uris, suites []string
	flush := func() string {
		for _, s := range suites {
			if s == Suite {
				for _, u := range uris {
					if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
						return strings.TrimSuffix(u, "/")
					}
				}
			}
		}
		uris, suites = nil, nil
		return ""
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			if m := flush(); m != "" {
				return m
			}
		case strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "deb "):
			// deb [options] URI suite components…
			fields := strings.Fields(line)[1:]
			if len(fields) > 0 && strings.HasPrefix(fields[0], "[") {
				for len(fields) > 0 && !strings.HasSuffix(fields[0], "]") {
					fields = fields[1:]
				}
				fields = fields[1:]
			}
			if len(fields) >= 2 {
				uris, suites = []string{fields[0]}, []string{fields[1]}
				if m := flush(); m != "" {
					return m
				}
			}
		case strings.HasPrefix(line, "URIs:"):
			uris = strings.Fields(strings.TrimPrefix(line, "URIs:"))
		case strings.HasPrefix(line, "Suites:"):
			suites = strings.Fields(strings.TrimPrefix(line, "Suites:"))
		}
	}
	return flush()
}
