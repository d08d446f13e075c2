package image

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/pier-deploy/pier/internal/config"
)

// buildCopy mirrors an image as it is, every platform of an index included;
// nothing is rebuilt, so the digest is the source's digest.
func buildCopy(ctx context.Context, b *config.CopyBuild, o *options, a *Artifact) error {
	ref, err := name.ParseReference(b.Source)
	if err != nil {
		return fmt.Errorf("copy: parsing source %q: %w", b.Source, err)
	}
	desc, err := remote.Get(ref, o.bases.remoteOpts(ctx)...)
	if err != nil {
		return fmt.Errorf("copy: fetching %s: %w", b.Source, err)
	}
	if desc.MediaType.IsIndex() {
		a.Index, err = desc.ImageIndex()
	} else {
		a.Image, err = desc.Image()
	}
	if err != nil {
		return fmt.Errorf("copy: reading %s: %w", b.Source, err)
	}
	return nil
}

// buildOCI takes an image another tool made: an OCI layout directory, an
// OCI archive (a tar of such a directory) or a `docker save` tarball.
func buildOCI(b *config.OCIBuild, o *options, a *Artifact) error {
	fi, err := os.Stat(b.Path)
	if err != nil {
		return fmt.Errorf("oci: %w", err)
	}
	dir := b.Path
	if !fi.IsDir() {
		isLayout, err := tarHas(b.Path, "oci-layout")
		if err != nil {
			return fmt.Errorf("oci: reading %s: %w", b.Path, err)
		}
		if !isLayout {
			img, err := tarball.ImageFromPath(b.Path, nil)
			if err != nil {
				return fmt.Errorf("oci: reading %s as a docker save tarball: %w (a tarball with several images is not supported; save one)", b.Path, err)
			}
			a.Image = img
			return nil
		}
		if dir, err = o.cache.extractArchive(b.Path); err != nil {
			return fmt.Errorf("oci: %w", err)
		}
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return fmt.Errorf("oci: reading layout %s: %w", b.Path, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return fmt.Errorf("oci: reading %s/index.json: %w", b.Path, err)
	}
	switch n := len(im.Manifests); {
	case n == 0:
		return fmt.Errorf("oci: layout %s holds no image", b.Path)
	case n == 1:
		d := im.Manifests[0]
		if d.MediaType.IsIndex() {
			a.Index, err = idx.ImageIndex(d.Digest)
		} else {
			a.Image, err = idx.Image(d.Digest)
		}
		if err != nil {
			return fmt.Errorf("oci: reading %s from %s: %w", d.Digest, b.Path, err)
		}
		return nil
	default:
		for _, d := range im.Manifests {
			if !d.MediaType.IsImage() || d.Platform == nil {
				return fmt.Errorf("oci: layout %s holds %d manifests and %s has no platform; keep one image, or one image per platform", b.Path, n, d.Digest)
			}
		}
		imgs := make([]v1.Image, 0, n)
		plats := make([]*v1.Platform, 0, n)
		for _, d := range im.Manifests {
			img, err := idx.Image(d.Digest)
			if err != nil {
				return fmt.Errorf("oci: reading %s (%s) from %s: %w", d.Digest, d.Platform, b.Path, err)
			}
			imgs = append(imgs, img)
			plats = append(plats, d.Platform)
		}
		return a.setIndex(imgs, plats)
	}
}

func tarHas(file, want string) (bool, error) {
	f, err := os.Open(file)
	if err != nil {
		return false, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if path.Clean(strings.TrimPrefix(h.Name, "./")) == want {
			return true, nil
		}
	}
}

// extractArchive unpacks an OCI archive into the cache, once per content.
func (c *Cache) extractArchive(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", file, err)
	}
	dir := filepath.Join(c.dir, "oci", hex.EncodeToString(h.Sum(nil)))
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err == nil {
		return dir, nil
	}
	tmp, err := os.MkdirTemp(filepath.Join(c.dir, "tmp"), "oci-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", file, err)
		}
		rel := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		if rel == "." || rel == ".." || strings.HasPrefix(rel, "../") || path.IsAbs(rel) {
			if rel == "." {
				continue
			}
			return "", fmt.Errorf("reading %s: entry %q escapes the archive", file, hdr.Name)
		}
		dst := filepath.Join(tmp, filepath.FromSlash(rel))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return "", err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return "", err
			}
			out, err := os.Create(dst)
			if err != nil {
				return "", err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return "", fmt.Errorf("extracting %s from %s: %w", rel, file, err)
			}
		}
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "index.json")); serr == nil {
			return dir, nil // another build extracted it first
		}
		return "", fmt.Errorf("extracting %s into the build cache: %w", file, err)
	}
	return dir, nil
}
