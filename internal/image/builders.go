package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/confine"
)

// Default bases, from the Docker official images mirrored on ECR Public, so
// a build does not depend on Docker Hub's pull limits.
const (
	DefaultNginxBase      = "public.ecr.aws/docker/library/nginx:1.27-alpine"
	DefaultNodeBase       = "public.ecr.aws/docker/library/node:22-alpine"
	DefaultSpringBootBase = "public.ecr.aws/docker/library/eclipse-temurin:21-jre"
)

// NextUser is the user a Next.js image runs as: the node images' "node"
// user, given as numbers so that it works on a base whose /etc/passwd does
// not name it. It owns /app/.next (nextUID, nextGID).
const NextUser = "1000:1000"

// The numbers of NextUser, for the tar headers of what it owns.
const (
	nextUID = 1000
	nextGID = 1000
)

func recipeFor(img *config.Image, root *confine.Root) (*recipe, error) {
	switch {
	case img.Nginx != nil:
		return nginxRecipe(img.Nginx, root)
	case img.Next != nil:
		return nextRecipe(img.Next, root)
	case img.SpringBoot != nil:
		return springBootRecipe(img.SpringBoot, root)
	case img.Files != nil:
		return filesRecipe(img.Files, root)
	}
	return nil, errors.New("no builder is set (one of nginx, next, springboot, files, copy, oci)")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// nginxRecipe is the base plus one layer with nginx.conf and the extra files;
// the base's entrypoint and command are kept.
func nginxRecipe(b *config.NginxBuild, root *confine.Root) (*recipe, error) {
	spec := &layerSpec{comment: "nginx: configuration"}
	if b.Config == "" {
		return nil, errors.New("nginx: config is required (the path of nginx.conf)")
	}
	if err := addSource(root, spec, "/etc/nginx/nginx.conf", b.Config); err != nil {
		return nil, err
	}
	if err := addFiles(root, spec, b.Files); err != nil {
		return nil, err
	}
	return &recipe{base: orDefault(b.Base, DefaultNginxBase), layers: []*layerSpec{spec}}, nil
}

// filesRecipe is any base (or scratch) plus one layer of files, then one
// layer of each platform's own files, with config overrides.
func filesRecipe(b *config.FilesBuild, root *confine.Root) (*recipe, error) {
	if b.Base == "" {
		return nil, errors.New("files: base is required: an image reference, or scratch for an empty image")
	}
	r := &recipe{base: b.Base}
	spec := &layerSpec{comment: "files"}
	if err := addFiles(root, spec, b.Files); err != nil {
		return nil, err
	}
	if !spec.empty() {
		r.layers = append(r.layers, spec)
	}
	plats := make([]string, 0, len(b.PlatformFiles))
	for p := range b.PlatformFiles {
		plats = append(plats, p)
	}
	sort.Strings(plats)
	for _, plat := range plats {
		files := b.PlatformFiles[plat]
		ps := &layerSpec{comment: "files: " + plat}
		if err := addFiles(root, ps, files); err != nil {
			return nil, fmt.Errorf("platformFiles %s: %w", plat, err)
		}
		if !ps.empty() {
			if r.platformLayers == nil {
				r.platformLayers = map[string]*layerSpec{}
			}
			r.platformLayers[plat] = ps
		}
	}
	r.configure = func(c *v1.Config) {
		if b.Entrypoint != nil {
			c.Entrypoint = append([]string(nil), b.Entrypoint...)
			c.Cmd = nil // a new entrypoint must not run with the base's arguments
		}
		if b.Cmd != nil {
			c.Cmd = append([]string(nil), b.Cmd...)
		}
		keys := make([]string, 0, len(b.Env))
		for k := range b.Env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			setEnv(c, k, b.Env[k])
		}
		for k, v := range b.Labels {
			if c.Labels == nil {
				c.Labels = map[string]string{}
			}
			c.Labels[k] = v
		}
		if b.User != "" {
			c.User = b.User
		}
		if b.Workdir != "" {
			c.WorkingDir = b.Workdir
		}
	}
	return r, nil
}

// nextRecipe lays out a Next.js standalone build under /app in four layers,
// from least to most volatile.
func nextRecipe(b *config.NextBuild, root *confine.Root) (*recipe, error) {
	standalone := filepath.Join(b.Dir, ".next", "standalone")
	if fi, err := root.Stat(filepath.Join(standalone, "server.js")); err != nil || !fi.Mode().IsRegular() {
		if confine.IsEscape(err) {
			return nil, fmt.Errorf("next: %w", err)
		}
		return nil, fmt.Errorf("next: %s has no server.js; set output: 'standalone' in next.config.js and run `next build` first", standalone)
	}
	r := &recipe{base: orDefault(b.Base, DefaultNodeBase)}
	// The server's user owns /app/.next, as in Next's own Dockerfile
	// (examples/with-docker: "Set the correct permission for prerender
	// cache"): at run time ISR rewrites pages under .next/server and the
	// image optimizer and fetch cache write .next/cache. The rest of /app
	// (server.js, node_modules, public, /app itself) stays root's and
	// read-only to the server, which writes nothing there, so a compromised
	// server cannot rewrite its own code; that Dockerfile's user owning
	// those too only follows from copying standalone/ with one --chown.
	owners := []treeOwner{{dir: "app/.next", uid: nextUID, gid: nextGID}}
	add := func(comment, dest, src string, filter func(string, bool) bool, dirs []string) error {
		if _, err := root.Stat(src); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		spec := &layerSpec{comment: comment, owners: owners}
		if err := spec.addPath(root, dest, src, filter); err != nil {
			return err
		}
		for _, d := range dirs {
			spec.add(entry{name: d, kind: tar.TypeDir})
		}
		if !spec.empty() {
			r.layers = append(r.layers, spec)
		}
		return nil
	}
	rest := func(rel string, _ bool) bool {
		return rel != "node_modules" && rel != "public" && rel != ".next/static"
	}
	for _, l := range []struct {
		comment, dest, src string
		filter             func(string, bool) bool
		dirs               []string // empty directories the layer creates
	}{
		{"next: node_modules", "app/node_modules", filepath.Join(standalone, "node_modules"), nil, nil},
		{"next: public", "app/public", filepath.Join(b.Dir, "public"), nil, nil},
		{"next: .next/static", "app/.next/static", filepath.Join(b.Dir, ".next", "static"), nil, nil},
		// .next/cache is made here, not left to Next's first write, so a
		// Docker volume mounted there is created owned by the server's user.
		{"next: server", "app", standalone, rest, []string{"app/.next/cache"}},
	} {
		if err := add(l.comment, l.dest, l.src, l.filter, l.dirs); err != nil {
			return nil, fmt.Errorf("next: %w", err)
		}
	}
	r.configure = func(c *v1.Config) {
		c.WorkingDir = "/app"
		c.Entrypoint = nil
		c.Cmd = []string{"node", "server.js"}
		setEnv(c, "NODE_ENV", "production")
		setEnv(c, "PORT", "3000")
		setEnv(c, "HOSTNAME", "0.0.0.0")
		c.User = NextUser
		c.ExposedPorts = map[string]struct{}{"3000/tcp": {}}
	}
	return r, nil
}

// addFiles adds destination → source pairs; a source directory is copied whole.
func addFiles(root *confine.Root, spec *layerSpec, files map[string]string) error {
	dests := make([]string, 0, len(files))
	for d := range files {
		dests = append(dests, d)
	}
	sort.Strings(dests)
	for _, d := range dests {
		if err := addSource(root, spec, d, files[d]); err != nil {
			return err
		}
	}
	return nil
}

func addSource(root *confine.Root, spec *layerSpec, dest, src string) error {
	if !strings.HasPrefix(dest, "/") || slices.Contains(strings.Split(dest, "/"), "..") {
		return fmt.Errorf("destination %q must be an absolute path in the image without ..", dest)
	}
	if _, err := root.Stat(src); err != nil {
		return fmt.Errorf("reading %s for %s: %w", src, dest, err)
	}
	return spec.addPath(root, dest, src, nil)
}

func setEnv(c *v1.Config, key, value string) {
	kv := key + "=" + value
	for i, e := range c.Env {
		if strings.HasPrefix(e, key+"=") {
			c.Env[i] = kv
			return
		}
	}
	c.Env = append(c.Env, kv)
}

// closeAll is used by builders that keep an archive open while layers are written.
func closeAll(cs []io.Closer) {
	for _, c := range cs {
		c.Close()
	}
}
