package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/confine"
)

// DefaultPlatform is what an image is built for when pier.yaml has no platforms:.
const DefaultPlatform = config.DefaultPlatform

// Artifact is one built image: everything a push or a task definition needs,
// known before anything is uploaded.
type Artifact struct {
	Name       string          // the key under images:
	Repository string          // the repository to push to (config Repository, else Name)
	Digest     v1.Hash         // digest of the manifest (or index)
	MediaType  types.MediaType // of the manifest (or index)
	Image      v1.Image        // set when one platform was built
	Index      v1.ImageIndex   // set for several platforms, and for copies of an index
	Layers     []LayerInfo     // the layers pier built (not the base's), in order
}

// LayerInfo describes one layer pier built.
type LayerInfo struct {
	Comment string  // what the layer holds, e.g. "springboot: application"
	Digest  v1.Hash // compressed digest
	Size    int64   // compressed bytes
	Cached  bool    // taken from the build cache without compressing
}

// Platforms lists the os/arch[/variant] the artifact runs on, from its
// index or its config.
func (a *Artifact) Platforms() ([]string, error) {
	if a.Index != nil {
		im, err := a.Index.IndexManifest()
		if err != nil {
			return nil, err
		}
		var out []string
		for _, d := range im.Manifests {
			if d.Platform != nil {
				out = append(out, d.Platform.String())
			}
		}
		return out, nil
	}
	cf, err := a.Image.ConfigFile()
	if err != nil {
		return nil, err
	}
	p := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
	return []string{p.String()}, nil
}

// Taggable is what remote.Write / a pusher accepts.
func (a *Artifact) Taggable() remote.Taggable {
	if a.Index != nil {
		return a.Index
	}
	return a.Image
}

// Option configures Build.
type Option func(*options) error

type options struct {
	cache     *Cache
	cacheDir  string
	keychain  authn.Keychain
	transport http.RoundTripper
	epoch     *time.Time
	getenv    func(string) string
	bases     *bases
	built     func(*Artifact)
}

// WithCacheDir puts the build cache in dir instead of $PIER_CACHE or the user cache directory.
func WithCacheDir(dir string) Option {
	return func(o *options) error { o.cacheDir = dir; return nil }
}

// WithCache shares one opened cache between builds.
func WithCache(c *Cache) Option {
	return func(o *options) error { o.cache = c; return nil }
}

// WithKeychain sets the credentials used to read base and source images
// (default authn.DefaultKeychain: the Docker config).
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) error { o.keychain = k; return nil }
}

// WithTransport sets the HTTP transport used to talk to registries.
func WithTransport(t http.RoundTripper) Option {
	return func(o *options) error { o.transport = t; return nil }
}

// WithEpoch fixes the timestamp of every file and of the image config,
// overriding SOURCE_DATE_EPOCH.
func WithEpoch(t time.Time) Option {
	return func(o *options) error { t = t.UTC(); o.epoch = &t; return nil }
}

// WithProgress calls built after each image of BuildAll is built.
func WithProgress(built func(*Artifact)) Option {
	return func(o *options) error { o.built = built; return nil }
}

// WithGetenv sets how SOURCE_DATE_EPOCH and PIER_CACHE are read (default os.Getenv).
func WithGetenv(getenv func(string) string) Option {
	return func(o *options) error { o.getenv = getenv; return nil }
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{getenv: os.Getenv, keychain: authn.DefaultKeychain, transport: remote.DefaultTransport}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if o.epoch == nil {
		t, err := SourceDateEpoch(o.getenv)
		if err != nil {
			return nil, err
		}
		o.epoch = &t
	}
	if o.cache == nil {
		dir := o.cacheDir
		if dir == "" {
			d, err := DefaultCacheDir(o.getenv)
			if err != nil {
				return nil, err
			}
			dir = d
		}
		c, err := OpenCache(dir)
		if err != nil {
			return nil, err
		}
		o.cache = c
	}
	o.bases = &bases{cache: o.cache, tags: map[string]*tagResolution{},
		ropts: []remote.Option{remote.WithAuthFromKeychain(o.keychain), remote.WithTransport(o.transport)}}
	return o, nil
}

// SourceDateEpoch reads SOURCE_DATE_EPOCH (seconds since 1970, default 0),
// the time every file, config and history entry of a built image carries.
// Commands check it up front, so a bad value is a usage error.
func SourceDateEpoch(getenv func(string) string) (time.Time, error) {
	s := strings.TrimSpace(getenv("SOURCE_DATE_EPOCH"))
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds since 1970; unset it or use e.g. $(git log -1 --format=%%ct)", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

// Build builds one image of f. It reads the base's manifest and config (from
// the cache when known) but never uploads anything; the result's digest is
// final. Several Builds may run at once when they share a cache (WithCache).
func Build(ctx context.Context, f *config.File, img *config.Image, opts ...Option) (*Artifact, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	return build(ctx, f, img, o)
}

// BuildAll builds the images of f named in names (all when names is empty)
// and returns them in file order. Images build in parallel, one per CPU,
// sharing one cache and one resolution of each base tag; WithProgress sees
// each image as it finishes.
func BuildAll(ctx context.Context, f *config.File, names []string, opts ...Option) ([]*Artifact, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	sel, err := Select(f, names)
	if err != nil {
		return nil, err
	}
	out := make([]*Artifact, len(sel))
	errs := make([]error, len(sel))
	var mu sync.Mutex // serializes progress
	var g errgroup.Group
	g.SetLimit(max(1, runtime.GOMAXPROCS(0)))
	for i, img := range sel {
		g.Go(func() error {
			out[i], errs[i] = build(ctx, f, img, o)
			if errs[i] == nil && o.built != nil {
				mu.Lock()
				o.built(out[i])
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// Select returns the images of f named in names, in file order; all when
// names is empty. An unknown name is an error listing the known ones.
func Select(f *config.File, names []string) ([]*config.Image, error) {
	if len(names) == 0 {
		return f.Images, nil
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []*config.Image
	for _, img := range f.Images {
		if want[img.Name] {
			out = append(out, img)
			delete(want, img.Name)
		}
	}
	if len(want) > 0 {
		var known []string
		for _, img := range f.Images {
			known = append(known, img.Name)
		}
		for _, n := range names { // the first unknown name as given, not a map's random one
			if want[n] {
				hint := ""
				if s := config.Suggest(n, known); s != "" {
					hint = fmt.Sprintf(" (did you mean %q?)", s)
				}
				return nil, fmt.Errorf("no image %q in %s%s; its images are %s", n, f.Path, hint, strings.Join(known, ", "))
			}
		}
	}
	return out, nil
}

func build(ctx context.Context, f *config.File, img *config.Image, o *options) (*Artifact, error) {
	a := &Artifact{Name: img.Name, Repository: img.Repository}
	if a.Repository == "" {
		a.Repository = img.Name
	}
	var err error
	if img.Copy != nil {
		err = buildCopy(ctx, img.Copy, o, a)
	} else {
		var root *confine.Root
		if root, err = openInputs(f, img); err != nil {
			return nil, err
		}
		defer root.Close()
		if img.OCI != nil {
			err = buildOCI(root, img.OCI, o, a)
		} else {
			var r *recipe
			r, err = recipeFor(img, root)
			if err == nil {
				err = r.assemble(ctx, f.Platforms, o, a)
				closeAll(r.closers)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("building image %q (%s): %w", img.Name, posString(img.Pos), err)
	}
	if a.Index != nil {
		a.Digest, err = a.Index.Digest()
		if err == nil {
			a.MediaType, err = a.Index.MediaType()
		}
	} else {
		a.Digest, err = a.Image.Digest()
		if err == nil {
			a.MediaType, err = a.Image.MediaType()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("building image %q: computing its digest: %w", img.Name, err)
	}
	return a, nil
}

func posString(p config.Pos) string {
	if p.File == "" {
		return "pier.yaml"
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// recipe is a builder's output before any base is known: the layers to put
// on top and the config changes. It is applied to each platform's base.
type recipe struct {
	base   string
	layers []*layerSpec
	// platformLayers go on top of layers in the image of their platform
	// only (the key as written in platforms:), e.g. a binary per architecture.
	platformLayers map[string]*layerSpec
	configure      func(*v1.Config)
	closers        []io.Closer // archives the layer entries read from
}

func (r *recipe) assemble(ctx context.Context, platforms []string, o *options, a *Artifact) error {
	if len(platforms) == 0 {
		platforms = []string{DefaultPlatform}
	}
	var imgs []v1.Image
	var plats []*v1.Platform
	for i, p := range platforms {
		plat, err := v1.ParsePlatform(p)
		if err != nil {
			return fmt.Errorf("parsing platform %q: %w", p, err)
		}
		base, err := o.bases.image(ctx, r.base, *plat)
		if err != nil {
			return err
		}
		mt, err := base.MediaType()
		if err != nil {
			return err
		}
		layerType := types.OCILayer
		if mt == types.DockerManifestSchema2 {
			layerType = types.DockerLayer
		}
		specs := r.layers
		if ps := r.platformLayers[p]; ps != nil {
			specs = append(specs[:len(specs):len(specs)], ps)
		}
		adds := make([]mutate.Addendum, 0, len(specs))
		for j, spec := range specs {
			l, hit, err := o.cache.layer(spec, *o.epoch, layerType)
			if err != nil {
				return fmt.Errorf("building layer %q: %w", spec.comment, err)
			}
			// The shared layers are listed once, each platform's own ones each.
			if i == 0 || j >= len(r.layers) {
				d, _ := l.Digest()
				sz, _ := l.Size()
				a.Layers = append(a.Layers, LayerInfo{Comment: spec.comment, Digest: d, Size: sz, Cached: hit})
			}
			adds = append(adds, mutate.Addendum{Layer: l, History: v1.History{
				Created: v1.Time{Time: *o.epoch}, CreatedBy: "pier " + spec.comment, Comment: "built by pier"}})
		}
		out, err := mutate.Append(base, adds...)
		if err != nil {
			return err
		}
		cf, err := out.ConfigFile()
		if err != nil {
			return err
		}
		cf = cf.DeepCopy()
		cf.Created = v1.Time{Time: *o.epoch}
		if r.configure != nil {
			r.configure(&cf.Config)
		}
		out, err = mutate.ConfigFile(out, cf)
		if err != nil {
			return err
		}
		imgs = append(imgs, out)
		if cf.Architecture != "" {
			// The base's own words, variant included (arm64/v8).
			plat = &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant, OSVersion: cf.OSVersion}
		}
		plats = append(plats, plat)
	}
	if len(imgs) == 1 {
		a.Image = imgs[0]
		return nil
	}
	return a.setIndex(imgs, plats)
}

// setIndex makes the index of per-platform images; its media type follows
// the children so Docker-schema bases give a Docker manifest list.
func (a *Artifact) setIndex(imgs []v1.Image, plats []*v1.Platform) error {
	allDocker := true
	adds := make([]mutate.IndexAddendum, len(imgs))
	for i, img := range imgs {
		mt, err := img.MediaType()
		if err != nil {
			return err
		}
		allDocker = allDocker && mt == types.DockerManifestSchema2
		adds[i] = mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{MediaType: mt, Platform: plats[i]}}
	}
	idxType := types.OCIImageIndex
	if allDocker {
		idxType = types.DockerManifestList
	}
	a.Index = mutate.AppendManifests(mutate.IndexMediaType(empty.Index, idxType), adds...)
	return nil
}
