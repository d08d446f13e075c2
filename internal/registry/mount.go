package registry

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
)

// hintKey names a blob in one registry: "host@sha256:…".
func hintKey(registry string, d v1.Hash) string { return registry + "@" + d.String() }

// seedShared uploads each blob that several repositories of one registry
// need exactly once, into the first repository (in job order) that needs
// it, and returns where each such blob can be mounted from. Base layers that
// already live in the same registry are left to the normal mount.
func (p *Pusher) seedShared(ctx context.Context, jobs []Job, tallies []*tally, errs []error) map[string]name.Repository {
	type use struct {
		job   int
		layer v1.Layer
	}
	users := map[string][]use{}
	seen := map[string]bool{} // key + repo
	var order []string
	for i, j := range jobs {
		if errs[i] != nil {
			continue
		}
		repo := j.Ref.Context()
		layers, err := allLayers(j.Image)
		if err != nil {
			errs[i] = fmt.Errorf("pushing %s: listing its layers: %w", j.Name, err)
			continue
		}
		for _, l := range layers {
			if ml, ok := l.(*remote.MountableLayer); ok && ml.Reference.Context().RegistryStr() == repo.RegistryStr() {
				continue
			}
			d, err := l.Digest()
			if err != nil {
				continue // a streaming layer: its digest is known only after upload
			}
			key := hintKey(repo.RegistryStr(), d)
			if seen[key+" "+repo.String()] {
				continue
			}
			seen[key+" "+repo.String()] = true
			if users[key] == nil {
				order = append(order, key)
			}
			users[key] = append(users[key], use{job: i, layer: l})
		}
	}
	hints := map[string]name.Repository{}
	results := make([]error, len(order))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.o.jobs)
	for k, key := range order {
		us := users[key]
		if len(us) < 2 {
			continue
		}
		first := us[0]
		hints[key] = jobs[first.job].Ref.Context()
		g.Go(func() error {
			tctx := context.WithValue(gctx, tallyKey{}, tallies[first.job])
			results[k] = p.rp.Upload(tctx, jobs[first.job].Ref.Context(), first.layer)
			return nil
		})
	}
	_ = g.Wait()
	for k, key := range order {
		if results[k] != nil {
			delete(hints, key) // each image then uploads it itself, and reports its own error
		}
	}
	return hints
}

// allLayers lists the layers of an image or of every image of an index.
func allLayers(t remote.Taggable) ([]v1.Layer, error) {
	switch t := t.(type) {
	case v1.Image:
		return t.Layers()
	case v1.ImageIndex:
		children, err := partial.Manifests(t)
		if err != nil {
			return nil, err
		}
		var out []v1.Layer
		for _, c := range children {
			if ct, ok := c.(remote.Taggable); ok {
				ls, err := allLayers(ct)
				if err != nil {
					return nil, err
				}
				out = append(out, ls...)
			}
		}
		return out, nil
	}
	return nil, nil
}

// withMountHints marks layers that another repository of the same registry
// received in this run as mountable from there.
func withMountHints(t remote.Taggable, hints map[string]name.Repository, repo name.Repository) remote.Taggable {
	if len(hints) == 0 {
		return t
	}
	switch t := t.(type) {
	case v1.Image:
		return &hintedImage{Image: t, hints: hints, repo: repo}
	case v1.ImageIndex:
		return &hintedIndex{inner: t, hints: hints, repo: repo}
	}
	return t
}

type hintedImage struct {
	v1.Image
	hints map[string]name.Repository
	repo  name.Repository
}

func (h *hintedImage) wrap(l v1.Layer) v1.Layer {
	d, err := l.Digest()
	if err != nil {
		return l
	}
	from, ok := h.hints[hintKey(h.repo.RegistryStr(), d)]
	if !ok || from.String() == h.repo.String() {
		return l
	}
	return &remote.MountableLayer{Layer: l, Reference: from.Digest(d.String())}
}

func (h *hintedImage) Layers() ([]v1.Layer, error) {
	ls, err := h.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for i, l := range ls {
		out[i] = h.wrap(l)
	}
	return out, nil
}

func (h *hintedImage) LayerByDigest(d v1.Hash) (v1.Layer, error) {
	l, err := h.Image.LayerByDigest(d)
	if err != nil {
		return nil, err
	}
	return h.wrap(l), nil
}

// inner names the embedded index without clashing with its ImageIndex method.
type inner = v1.ImageIndex

type hintedIndex struct {
	inner
	hints map[string]name.Repository
	repo  name.Repository
}

func (h *hintedIndex) Image(d v1.Hash) (v1.Image, error) {
	img, err := h.inner.Image(d)
	if err != nil {
		return nil, err
	}
	return &hintedImage{Image: img, hints: h.hints, repo: h.repo}, nil
}

func (h *hintedIndex) ImageIndex(d v1.Hash) (v1.ImageIndex, error) {
	idx, err := h.inner.ImageIndex(d)
	if err != nil {
		return nil, err
	}
	return &hintedIndex{inner: idx, hints: h.hints, repo: h.repo}, nil
}

// Manifests lets the pusher walk the children through the wrappers.
func (h *hintedIndex) Manifests() ([]partial.Describable, error) {
	children, err := partial.Manifests(h.inner)
	if err != nil {
		return nil, err
	}
	out := make([]partial.Describable, len(children))
	for i, c := range children {
		out[i] = c
		if t, ok := c.(remote.Taggable); ok {
			if w, ok := withMountHints(t, h.hints, h.repo).(partial.Describable); ok {
				out[i] = w
			}
		}
	}
	return out, nil
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}
