package image

import (
	"archive/tar"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/registry/registrytest"
)

// TestNextRuntimeUserOwnsDotNext: the server runs as the config's user and
// Next writes under /app/.next at run time (ISR rewrites .next/server, the
// image optimizer and fetch cache write .next/cache), so every .next entry
// of every layer belongs to that user, .next/cache exists and the user can
// write it; the code beside it stays root's.
func TestNextRuntimeUserOwnsDotNext(t *testing.T) {
	reg := registrytest.New(t)
	base := reg.PushBase(t, "library/node:22-alpine")
	a, err := buildOne(t, &config.Image{Name: "frontend", Next: &config.NextBuild{Base: base, Dir: filepath.Join(testdata, "frontend")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := a.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	uid, gid := numericUser(t, cf.Config.User)
	if uid == 0 {
		t.Fatalf("config user %q is root; the next builder must run the server as a non-root user", cf.Config.User)
	}

	// Every .next header of every own layer, and the image as the container
	// sees it (a later layer's header for a path wins).
	layers, err := a.Image.Layers()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]*tar.Header{}
	dotNext := 0
	for i, l := range layers[len(layers)-len(a.Layers):] {
		for _, h := range tarHeaders(t, l) {
			name := strings.TrimSuffix(h.Name, "/")
			seen[name] = h
			if name == "app/.next" || strings.HasPrefix(name, "app/.next/") {
				dotNext++
				if h.Uid != uid || h.Gid != gid {
					t.Errorf("layer %q: %s is %d:%d, want the runtime user %d:%d", a.Layers[i].Comment, h.Name, h.Uid, h.Gid, uid, gid)
				}
			}
		}
	}
	if dotNext == 0 {
		t.Fatal("no app/.next entries in the built layers")
	}

	for _, tc := range []struct {
		path     string
		dir      bool
		writable bool // by the runtime user
	}{
		{"app/.next/cache", true, true},
		{"app/.next", true, true},
		{"app/.next/server/app", true, true},
		{"app/.next/server/app/page.js", false, true},
		{"app/.next/static/css/app-7a8b9c.css", false, true},
		{"app", true, false},
		{"app/server.js", false, false},
		{"app/node_modules/next/package.json", false, false},
		{"app/public/robots.txt", false, false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			h := seen[tc.path]
			if h == nil {
				t.Fatalf("%s is not in the image", tc.path)
			}
			if got := h.Typeflag == tar.TypeDir; got != tc.dir {
				t.Errorf("%s: directory = %v, want %v", tc.path, got, tc.dir)
			}
			for dir := path.Dir(tc.path); dir != "."; dir = path.Dir(dir) {
				if p := seen[dir]; p == nil || !allowed(p, uid, gid, 0o1) {
					t.Errorf("%s: the runtime user cannot enter %s", tc.path, dir)
				}
			}
			if !allowed(h, uid, gid, 0o4) {
				t.Errorf("%s (%04o %d:%d): the runtime user %d:%d cannot read it", tc.path, h.Mode, h.Uid, h.Gid, uid, gid)
			}
			if got := allowed(h, uid, gid, 0o2); got != tc.writable {
				t.Errorf("%s (%04o %d:%d): writable by %d:%d = %v, want %v", tc.path, h.Mode, h.Uid, h.Gid, uid, gid, got, tc.writable)
			}
		})
	}
}

// numericUser parses a config User of the form uid:gid, the only form that
// works on a base without /etc/passwd.
func numericUser(t *testing.T, user string) (uid, gid int) {
	t.Helper()
	u, g, ok := strings.Cut(user, ":")
	uid, err1 := strconv.Atoi(u)
	gid, err2 := strconv.Atoi(g)
	if !ok || err1 != nil || err2 != nil {
		t.Fatalf("config user %q is not uid:gid in numbers", user)
	}
	return uid, gid
}

// allowed applies Unix permission bits (perm: 4 read, 2 write, 1 execute or
// search) for uid:gid, who is not root, to a tar entry.
func allowed(h *tar.Header, uid, gid int, perm int64) bool {
	switch {
	case h.Uid == uid:
		return h.Mode>>6&perm == perm
	case h.Gid == gid:
		return h.Mode>>3&perm == perm
	}
	return h.Mode&perm == perm
}
