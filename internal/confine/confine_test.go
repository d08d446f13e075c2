package confine

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tree makes a build directory with files, directories and symlinks of
// every kind: inside, outside, absolute, relative, chains and loops. It
// returns the directory (pier.yaml's, holding the tree) and a sibling
// directory outside it.
func tree(t testing.TB) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "repo")
	outside = filepath.Join(base, "outside")
	for _, d := range []string{root, outside, filepath.Join(root, "dir", "sub"), filepath.Join(root, "x", "y")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(root, "file"), filepath.Join(root, "dir", "file"), filepath.Join(root, "x", "file"), filepath.Join(outside, "secret")} {
		if err := os.WriteFile(f, []byte("data"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"etc":           "/etc",
		"shadow":        "/etc/shadow",
		"up":            "..",
		"sneaky":        "../outside/secret",
		"in":            "dir",
		"absin":         filepath.Join(root, "dir", "file"),
		"chain1":        "chain2",
		"chain2":        "chain3",
		"chain3":        "dir/file",
		"chainout1":     "chainout2",
		"chainout2":     "dir/../up/outside",
		"loop1":         "loop2",
		"loop2":         "loop1",
		"dir/parent":    "..",
		"dir/grand":     "../..",
		"dir/sub/deep":  "../../x/y",
		"xy":            "x/y",
		"hard":          "xy/../file", // xy is x/y, so xy/.. is x: x/file, inside
		"hardout":       "xy/../../..",
		"dangling":      "missing",
		"dir/sub/chain": "../../chain1",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	return root, outside
}

func TestClean(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		escape   bool
	}{
		{in: "app.jar", want: "app.jar"},
		{in: "./backend/../backend/app.jar", want: "backend/app.jar"},
		{in: ".", want: "."},
		{in: "a/b/../../c", want: "c"},
		{in: "/etc/shadow", escape: true},
		{in: "../../../../etc/shadow", escape: true},
		{in: "a/../../b", escape: true},
		{in: "..", escape: true},
		{in: "//etc", escape: true},
	} {
		got, err := Clean(tc.in, "deploy")
		if tc.escape {
			if !IsEscape(err) {
				t.Errorf("Clean(%q) = %q, %v; want an escape error", tc.in, got, err)
			} else if !strings.Contains(err.Error(), "outside deploy") || !strings.Contains(err.Error(), "relative to pier.yaml") {
				t.Errorf("Clean(%q): message %q does not say where and what to do", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Clean(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestResolve(t *testing.T) {
	root, outside := tree(t)
	r, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, tc := range []struct {
		in   string // relative to root unless absolute
		want string // resolved, relative to root; "" when an error is wanted
		err  string // a word of the error
	}{
		{in: "file", want: "file"},
		{in: "dir/file", want: "dir/file"},
		{in: "in/file", want: "dir/file"},
		{in: "absin", want: "dir/file"},
		{in: "chain1", want: "dir/file"},
		{in: "dir/sub/chain", want: "dir/file"},
		{in: "dir/parent/file", want: "file"},
		{in: "dir/sub/deep", want: "x/y"},
		{in: "hard", want: "x/file"},
		{in: ".", want: "."},
		{in: "/etc/shadow", err: "is outside "},
		{in: "../../../../etc/shadow", err: "is outside "},
		{in: outside + "/secret", err: "is outside "},
		{in: "etc", err: "symlink " + filepath.Join(root, "etc") + ", which points to /etc"},
		{in: "etc/passwd", err: "points to /etc"},
		{in: "shadow", err: "points to /etc/shadow"},
		{in: "up/outside/secret", err: "which points to .."},
		{in: "sneaky", err: "points to ../outside/secret"},
		{in: "dir/grand", err: "points to ../.."},
		{in: "chainout1", err: "points to .."},
		{in: "hardout", err: "points to xy/../../.."},
		{in: "loop1", err: "a loop"},
		{in: "dangling", err: "no such file"},
		{in: "missing/file", err: "no such file"},
	} {
		p := tc.in
		if !filepath.IsAbs(p) {
			p = filepath.Join(root, p)
		}
		got, err := r.Resolve(p)
		if tc.want != "" {
			want := filepath.Join(root, filepath.FromSlash(tc.want))
			if err != nil || got != want {
				t.Errorf("Resolve(%s) = %q, %v; want %q", tc.in, got, err, want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("Resolve(%s) = %q, %v; want an error with %q", tc.in, got, err, tc.err)
		}
		if tc.err != "a loop" && tc.err != "no such file" && !IsEscape(err) {
			t.Errorf("Resolve(%s): %v is not an EscapeError", tc.in, err)
		}
	}
}

func TestOpenStatSub(t *testing.T) {
	root, _ := tree(t)
	r, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := r.Open(filepath.Join(root, "chain1"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := r.Open(filepath.Join(root, "shadow")); !IsEscape(err) {
		t.Errorf("Open(shadow) = %v, want an escape", err)
	}
	if fi, err := r.Stat(filepath.Join(root, "in")); err != nil || !fi.IsDir() {
		t.Errorf("Stat(in) = %v, %v; want the directory", fi, err)
	}
	if _, err := r.Stat(filepath.Join(root, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(nope) = %v, want not-exist", err)
	}
	// context: x is below the root; from it, x/file is inside and file is not.
	sub, err := r.Sub(filepath.Join(root, "x"))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if _, err := sub.Resolve(filepath.Join(root, "x", "file")); err != nil {
		t.Errorf("context x: x/file: %v", err)
	}
	if _, err := sub.Resolve(filepath.Join(root, "file")); !IsEscape(err) {
		t.Errorf("context x: file = %v, want an escape", err)
	}
	if _, err := r.Sub(filepath.Join(root, "etc")); !IsEscape(err) {
		t.Errorf("Sub(etc) = %v, want an escape", err)
	}
}

func TestCheckTree(t *testing.T) {
	root, _ := tree(t)
	r, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.CheckTree(filepath.Join(root, "x")); err != nil {
		t.Errorf("CheckTree(x) = %v, want nil: it holds no links", err)
	}
	if err := r.CheckTree(filepath.Join(root, "dir")); !IsEscape(err) || !strings.Contains(err.Error(), "grand") {
		t.Errorf("CheckTree(dir) = %v, want the escape of dir/grand", err)
	}
}

// FuzzResolve: for any path, Resolve either refuses it or returns a path
// inside the root that is exactly where the kernel's resolution of the
// (lexically cleaned) path leads.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{"file", "in/file", "etc/passwd", "hard", "hardout", "dir/sub/chain", "up/repo/file", "loop1", "/etc/shadow", "../../../../etc/shadow", "chain1/x", "absin", "dir/sub/deep/../file"} {
		f.Add(s)
	}
	root, _ := tree(f)
	r, err := Open(root)
	if err != nil {
		f.Fatal(err)
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if strings.ContainsRune(p, 0) {
			return
		}
		full := p
		if !filepath.IsAbs(p) {
			full = filepath.Join(root, p)
		}
		got, err := r.Resolve(full)
		if err != nil {
			return
		}
		real, err := filepath.EvalSymlinks(got)
		if err != nil {
			t.Fatalf("Resolve(%q) = %q, which does not resolve: %v", p, got, err)
		}
		if real != got && !strings.HasPrefix(got, root) {
			t.Fatalf("Resolve(%q) = %q, not a path below %s", p, got, root)
		}
		if rel, err := filepath.Rel(realRoot, real); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			t.Fatalf("Resolve(%q) = %q, which is %s: outside %s", p, got, real, realRoot)
		}
		kernel, err := filepath.EvalSymlinks(full)
		if err != nil || kernel != real {
			t.Fatalf("Resolve(%q) = %q (%s), but the path leads to %q, %v", p, got, real, kernel, err)
		}
	})
}
