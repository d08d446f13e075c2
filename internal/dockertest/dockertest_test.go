package dockertest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder stands in for the test that calls a Require function, keeping how
// it would have ended instead of ending the real test.
type recorder struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(f string, a ...any) {
	r.skipped = true
	r.msg = strings.TrimSpace(strings.ReplaceAll(fmt.Sprintf(f, a...), "\n", " "))
}
func (r *recorder) Fatalf(f string, a ...any) {
	r.failed = true
	r.msg = fmt.Sprintf(f, a...)
}

func TestRequireDisk(t *testing.T) {
	dir := t.TempDir()
	free, err := FreeBytes(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		need       uint64
		env        string
		skip, fail bool
	}{
		{name: "enough space passes", need: 1},
		{name: "too little skips", need: free + 1<<40, skip: true},
		{name: "too little fails under PIER_DOCKER=1", need: free + 1<<40, env: "1", fail: true},
		{name: "enough passes under PIER_DOCKER=1", need: 1, env: "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(Env, tt.env)
			rec := &recorder{TB: t}
			RequireDisk(rec, dir, tt.need, "making a test base")
			if rec.skipped != tt.skip || rec.failed != tt.fail {
				t.Fatalf("skipped %v, failed %v; want %v, %v (%s)", rec.skipped, rec.failed, tt.skip, tt.fail, rec.msg)
			}
			if tt.skip || tt.fail {
				// The message names what needs the space, how much, and where.
				for _, want := range []string{"making a test base", humanBytes(tt.need), dir} {
					if !strings.Contains(rec.msg, want) {
						t.Errorf("message %q does not name %q", rec.msg, want)
					}
				}
			}
		})
	}
}

func TestMirrorIn(t *testing.T) {
	tests := []struct {
		file, want string
	}{
		{"debian.sources", "http://deb.debian.org/debian"},
		{"sources.list", "http://ftp.jp.debian.org/debian"},
		{"other.list", ""},
		{"missing.list", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			if got := mirrorIn(filepath.Join("testdata", tt.file)); got != tt.want {
				t.Errorf("mirrorIn(%s) = %q, want %q", tt.file, got, tt.want)
			}
		})
	}
}

func TestSpecKey(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	const mirror = "http://deb.debian.org/debian"
	key := func(s Spec) string {
		t.Helper()
		k, err := s.key(mirror)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	base := key(Spec{Name: "web", Packages: []string{"nginx", "curl"}})
	if !strings.HasPrefix(base, "web-") {
		t.Errorf("key %q does not start with the name", base)
	}
	if k := key(Spec{Name: "web", Packages: []string{"curl", "nginx"}}); k != base {
		t.Errorf("package order changed the key: %s vs %s", k, base)
	}
	withDir := key(Spec{Name: "web", Packages: []string{"nginx", "curl"}, Dirs: map[string]string{dir: "/opt/x"}})
	differ := map[string]string{
		"other packages": key(Spec{Name: "web", Packages: []string{"nginx"}}),
		"other env":      key(Spec{Name: "web", Packages: []string{"nginx", "curl"}, Env: []string{"A=1"}}),
		"a directory":    withDir,
	}
	for what, k := range differ {
		if k == base {
			t.Errorf("%s gave the same key %s", what, k)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if k := key(Spec{Name: "web", Packages: []string{"nginx", "curl"}, Dirs: map[string]string{dir: "/opt/x"}}); k == withDir {
		t.Errorf("changing a copied file kept the key %s", k)
	}
	for _, bad := range []string{"", "Web", "a/b", "a:b"} {
		if _, err := (Spec{Name: bad}).key(mirror); err == nil {
			t.Errorf("name %q was accepted", bad)
		}
	}
}

// TestDebianBase runs a base: the engine starts a bookworm container from the
// imported tag, and the OCI layout holds the same root filesystem, with the
// same command, for this machine's platform. It takes the nginx base, which
// the image tests need anyway, rather than make one more.
func TestDebianBase(t *testing.T) {
	b := NginxBase(t)
	out := Docker(t, "run", "--rm", "--network=none", b.Tag, "cat", "/etc/debian_version")
	if !strings.HasPrefix(out, "12.") {
		t.Errorf("/etc/debian_version in %s = %q, want bookworm's 12.x", b.Tag, out)
	}
	img, err := b.Image()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || len(cf.RootFS.DiffIDs) != 1 {
		t.Errorf("layout image is %s with %d layers, want linux with 1", cf.OS, len(cf.RootFS.DiffIDs))
	}
	tagCmd := Docker(t, "image", "inspect", "--format", "{{json .Config.Cmd}}", b.Tag)
	if want := `["nginx","-g","daemon off;"]`; tagCmd != want || strings.Join(cf.Config.Cmd, " ") != "nginx -g daemon off;" {
		t.Errorf("command: tag %s, layout %q; want %s in both", tagCmd, cf.Config.Cmd, want)
	}
	// A second call finds the cache entry and the tag: same base.
	again := NginxBase(t)
	if again.Tag != b.Tag || again.Dir != b.Dir {
		t.Errorf("second call gave %+v, want %+v", again, b)
	}
	if _, err := os.Stat(filepath.Join(b.Dir, "done")); err != nil {
		t.Errorf("cache entry %s is not marked done: %v", b.Dir, err)
	}
}

// TestStandInBases makes the builders' stand-in bases and runs the program
// each is for.
func TestStandInBases(t *testing.T) {
	tests := []struct {
		name string
		base func(testing.TB) *Base
		cmd  []string
		want string
	}{
		{"nginx", NginxBase, []string{"sh", "-c", "nginx -v 2>&1; id nginx"}, "nginx version: nginx/1.22"},
		{"node", NodeBase, []string{"sh", "-c", "node --version; id -u node"}, "\n1000"},
		{"jre", JREBase, []string{"sh", "-c", "java -version 2>&1"}, `openjdk version "17.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.base(t)
			out := Docker(t, append([]string{"run", "--rm", "--network=none", b.Tag}, tt.cmd...)...)
			if !strings.Contains(out, tt.want) {
				t.Errorf("%s in %s printed %q, want it to contain %q", strings.Join(tt.cmd, " "), b.Tag, out, tt.want)
			}
		})
	}
}
