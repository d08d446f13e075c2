package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/pier-deploy/pier/internal/config"
)

// bases resolves base images. A tag costs one HEAD per run (tags move);
// manifests and configs are content-addressed and come from the cache, and
// base layers are never downloaded by a build: they stay remote, and a push
// to the same registry mounts them.
type bases struct {
	cache *Cache
	ropts []remote.Option

	mu   sync.Mutex
	tags map[string]*tagResolution // tag reference → what it resolved to in this run
}

// tagResolution is one HEAD of a tag, shared by every build that asks at once.
type tagResolution struct {
	once sync.Once
	desc v1.Descriptor
	err  error
}

func (b *bases) remoteOpts(ctx context.Context) []remote.Option {
	return append([]remote.Option{remote.WithContext(ctx)}, b.ropts...)
}

// image returns the base image ref for one platform, with lazy, mountable
// layers; scratch is the empty image of that platform.
func (b *bases) image(ctx context.Context, ref string, plat v1.Platform) (v1.Image, error) {
	if ref == config.Scratch {
		return scratch(plat)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("parsing base image reference %q: %w", ref, err)
	}
	raw, mt, digest, err := b.manifest(ctx, r)
	if err != nil {
		return nil, err
	}
	if mt.IsIndex() {
		idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("parsing the index of base image %s: %w", ref, err)
		}
		var child *v1.Descriptor
		for i := range idx.Manifests {
			d := &idx.Manifests[i]
			if d.Platform != nil && d.Platform.Satisfies(plat) && d.MediaType.IsImage() {
				child = d
				break
			}
		}
		if child == nil {
			return nil, fmt.Errorf("base image %s has no image for platform %s; pick a base that supports it, or change platforms in pier.yaml", ref, plat.String())
		}
		raw, mt, digest, err = b.manifest(ctx, r.Context().Digest(child.Digest.String()))
		if err != nil {
			return nil, err
		}
	}
	if !mt.IsImage() {
		return nil, fmt.Errorf("base image %s is a %s, not an image", ref, mt)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing the manifest of base image %s: %w", ref, err)
	}
	cfg, ok := b.cache.blob(m.Config.Digest)
	if !ok {
		cfg, err = b.fetchBlob(ctx, r.Context().Digest(m.Config.Digest.String()))
		if err != nil {
			return nil, fmt.Errorf("fetching the config of base image %s: %w", ref, err)
		}
		if err := b.cache.putBlob(m.Config.Digest, cfg); err != nil {
			return nil, err
		}
	}
	var cf v1.ConfigFile
	if err := json.Unmarshal(cfg, &cf); err != nil {
		return nil, fmt.Errorf("parsing the config of base image %s: %w", ref, err)
	}
	if !mt.IsIndex() && (cf.OS != plat.OS || cf.Architecture != plat.Architecture) && cf.Architecture != "" {
		return nil, fmt.Errorf("base image %s is %s/%s, not %s; use a multi-platform base, or change platforms in pier.yaml", ref, cf.OS, cf.Architecture, plat.String())
	}
	pinned := r.Context().Digest(digest.String())
	core := &remoteCore{ref: pinned, raw: raw, mt: mt, cfg: cfg, m: m, ropts: b.remoteOpts(ctx)}
	img, err := partial.CompressedToImage(core)
	if err != nil {
		return nil, err
	}
	return &mountableImage{Image: img, ref: pinned}, nil
}

// scratch is an image with no layers whose config names plat, as Docker's
// FROM scratch; OCI media types, since there is no base schema to follow.
func scratch(plat v1.Platform) (v1.Image, error) {
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant, cf.OSVersion = plat.OS, plat.Architecture, plat.Variant, plat.OSVersion
	return mutate.ConfigFile(img, cf)
}

// manifest returns the raw manifest behind r, its media type and digest.
func (b *bases) manifest(ctx context.Context, r name.Reference) ([]byte, types.MediaType, v1.Hash, error) {
	var digest v1.Hash
	if d, ok := r.(name.Digest); ok {
		h, err := v1.NewHash(d.DigestStr())
		if err != nil {
			return nil, "", v1.Hash{}, fmt.Errorf("parsing %s: %w", r, err)
		}
		digest = h
	} else {
		b.mu.Lock()
		res := b.tags[r.String()]
		if res == nil {
			res = &tagResolution{}
			b.tags[r.String()] = res
		}
		b.mu.Unlock()
		res.once.Do(func() {
			d, err := remote.Head(r, b.remoteOpts(ctx)...)
			if err != nil {
				res.err = fmt.Errorf("resolving base image %s: %w", r, err)
				return
			}
			res.desc = *d
		})
		if res.err != nil {
			return nil, "", v1.Hash{}, res.err
		}
		digest = res.desc.Digest
	}
	if raw, ok := b.cache.blob(digest); ok {
		return raw, sniffMediaType(raw), digest, nil
	}
	d, err := remote.Get(r.Context().Digest(digest.String()), b.remoteOpts(ctx)...)
	if err != nil {
		return nil, "", v1.Hash{}, fmt.Errorf("fetching base image %s: %w", r, err)
	}
	if err := b.cache.putBlob(digest, d.Manifest); err != nil {
		return nil, "", v1.Hash{}, err
	}
	return d.Manifest, d.MediaType, digest, nil
}

func (b *bases) fetchBlob(ctx context.Context, d name.Digest) ([]byte, error) {
	l, err := remote.Layer(d, b.remoteOpts(ctx)...)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc) // Compressed verifies the digest at EOF
}

// sniffMediaType reads the media type of a stored manifest; OCI allows it to
// be absent, in which case the shape decides.
func sniffMediaType(raw []byte) types.MediaType {
	var probe struct {
		MediaType types.MediaType `json:"mediaType"`
		Manifests json.RawMessage `json:"manifests"`
	}
	_ = json.Unmarshal(raw, &probe)
	switch {
	case probe.MediaType != "":
		return probe.MediaType
	case probe.Manifests != nil:
		return types.OCIImageIndex
	default:
		return types.OCIManifestSchema1
	}
}

// remoteCore is a base image whose manifest and config are in memory and
// whose layers are fetched only if something reads them.
type remoteCore struct {
	ref   name.Digest
	raw   []byte
	mt    types.MediaType
	cfg   []byte
	m     *v1.Manifest
	ropts []remote.Option
}

func (c *remoteCore) RawConfigFile() ([]byte, error)      { return c.cfg, nil }
func (c *remoteCore) MediaType() (types.MediaType, error) { return c.mt, nil }
func (c *remoteCore) RawManifest() ([]byte, error)        { return c.raw, nil }

func (c *remoteCore) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	for _, d := range c.m.Layers {
		if d.Digest == h {
			return &lazyBlob{desc: d, ref: c.ref.Context().Digest(h.String()), ropts: c.ropts}, nil
		}
	}
	return nil, fmt.Errorf("base image %s has no layer %s", c.ref, h)
}

// lazyBlob is a base layer known by its descriptor; reading it is a GET.
type lazyBlob struct {
	desc  v1.Descriptor
	ref   name.Digest
	ropts []remote.Option
}

func (l *lazyBlob) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *lazyBlob) Size() (int64, error)                { return l.desc.Size, nil }
func (l *lazyBlob) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }
func (l *lazyBlob) Descriptor() (*v1.Descriptor, error) { d := l.desc; return &d, nil }

func (l *lazyBlob) Compressed() (io.ReadCloser, error) {
	rl, err := remote.Layer(l.ref, l.ropts...)
	if err != nil {
		return nil, fmt.Errorf("fetching base layer %s: %w", l.ref, err)
	}
	return rl.Compressed()
}

// mountableImage marks base layers with where they come from, so a push to
// the same registry mounts them instead of copying.
type mountableImage struct {
	v1.Image
	ref name.Reference
}

func (m *mountableImage) Layers() ([]v1.Layer, error) {
	ls, err := m.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for i, l := range ls {
		out[i] = &remote.MountableLayer{Layer: l, Reference: m.ref}
	}
	return out, nil
}

func (m *mountableImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := m.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return &remote.MountableLayer{Layer: l, Reference: m.ref}, nil
}

func (m *mountableImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	l, err := m.Image.LayerByDiffID(h)
	if err != nil {
		return nil, err
	}
	return &remote.MountableLayer{Layer: l, Reference: m.ref}, nil
}
