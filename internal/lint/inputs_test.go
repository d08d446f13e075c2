package lint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/config"
)

// TestInputsConfined: every way a build input can lead out of the
// directory of pier.yaml is an error at the line that names it, and a
// symlink that stays inside is fine.
func TestInputsConfined(t *testing.T) {
	outside := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600))
	for _, tc := range []struct {
		name  string
		links map[string]string // name in the directory → target ("$OUT" is outside)
		files string            // the files: mapping of a files image
		want  string            // a finding "line:col: rule" and a part of its message, or ""
	}{
		{name: "symlink to /etc", links: map[string]string{"etc": "/etc"}, files: "{ /x: etc/passwd }",
			want: "pier.yaml:3:67: error: build-input-outside: image \"tool\" files source for /x: etc/passwd goes through symlink etc, which points to /etc"},
		{name: "symlink to /etc/shadow", links: map[string]string{"shadow": "/etc/shadow"}, files: "{ /x: shadow }",
			want: "which points to /etc/shadow"},
		{name: "chain out", links: map[string]string{"a": "b", "b": "c/../..", "c": "."}, files: "{ /x: a }",
			want: "pier.yaml:3:67: error: build-input-outside"},
		{name: "relative out", links: map[string]string{"s": "$OUT/secret"}, files: "{ /x: s }",
			want: "which points to "},
		// sub is x/y, so sub/.. is x (as the kernel resolves it), and x/c
		// leads back to nginx.conf: inside all the way.
		{name: "chain inside", links: map[string]string{"a": "b", "b": "sub/../c", "sub": "x/y", "x/c": "../nginx.conf"}, files: "{ /x: a }"},
		// sub is the directory itself, so sub/.. is its parent.
		{name: "dot dot after a link", links: map[string]string{"a": "sub/../secret", "sub": "."}, files: "{ /x: a }",
			want: "which points to sub/../secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			must(os.MkdirAll(filepath.Join(dir, "x", "y"), 0o755))
			for name, target := range tc.links {
				must(os.Symlink(strings.ReplaceAll(target, "$OUT", outside), filepath.Join(dir, name)))
			}
			pier := basePier + "" // the images go first in the mapping
			pier = strings.Replace(pier, "images:\n", "images:\n  tool: { files: { base: docker.io/library/alpine:3, files: "+tc.files+" } }\n", 1)
			files := map[string]string{"pier.yaml": pier, "task.json": baseTask, "nginx.conf": baseNginx}
			got := relative(Check(loadFiles(t, dir, files)), dir)
			var lines []string
			for _, f := range got {
				if f.Rule == "build-input-outside" {
					lines = append(lines, f.String())
				}
			}
			text := strings.Join(lines, "\n")
			if tc.want == "" {
				if text != "" {
					t.Errorf("findings:\n%s\nwant none", text)
				}
				return
			}
			if len(lines) != 1 || !strings.Contains(text, tc.want) {
				t.Errorf("findings:\n%s\nwant one with %q", text, tc.want)
			}
		})
	}
}

// TestNginxConfigOutsideIsNotRead: lint reads nginx.conf to check it, but
// never through a symlink out of the directory: the rule reports it instead.
func TestNginxConfigOutsideIsNotRead(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "nginx.conf")); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"pier.yaml": basePier, "task.json": baseTask}
	in := loadFiles(t, dir, files)
	if in.Nginx["web-nginx"] != nil {
		t.Fatal("lint read nginx.conf through a symlink to /etc/passwd")
	}
	var found bool
	for _, f := range relative(Check(in), dir) {
		found = found || f.Rule == "build-input-outside" && strings.HasPrefix(f.Pos.String(), "pier.yaml:4:33")
	}
	if !found {
		t.Error("no build-input-outside finding at the config: line")
	}
}

// TestTaskDefinitionOutside: a task definition that is a symlink out of the
// directory is an input error, and is not read.
func TestTaskDefinitionOutside(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pier.yaml"), []byte(basePier), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "task.json")); err != nil {
		t.Fatal(err)
	}
	_, err := config.Load(filepath.Join(dir, "pier.yaml"), func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "pier.yaml:7:21: service \"web\" taskDefinition: ") || !strings.Contains(err.Error(), "points to /etc/passwd") {
		t.Errorf("err = %v, want the taskDefinition line and the link", err)
	}
}
