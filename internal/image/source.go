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
	"github.com/pier-deploy/pier/internal/confine"
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
// OCI archive (a tar of such a directory) or a `docker save` tarball. The
// path and every symlink in a layout resolve inside root; an archive is
// scanned (scanTar) before anything reads it.
func buildOCI(root *confine.Root, b *config.OCIBuild, o *options, a *Artifact) error {
	fi, err := root.Stat(b.Path)
	if err != nil {
		return fmt.Errorf("oci: %w", err)
	}
	real, err := root.Resolve(b.Path)
	if err != nil {
		return fmt.Errorf("oci: %w", err)
	}
	dir := real
	if fi.IsDir() {
		if err := root.CheckTree(b.Path); err != nil {
			return fmt.Errorf("oci: layout %s: %w", b.Path, err)
		}
	} else {
		// The resolved path is opened again when layers are read for a push.
		src := archiveSource{name: b.Path, size: fi.Size(), open: func() (io.ReadCloser, error) { return os.Open(real) }}
		if dir, err = o.cache.readArchive(src, a); err != nil || dir == "" {
			return err
		}
	}
	return readLayout(dir, b.Path, a)
}

// archiveSource is a tar archive given to the oci builder: its name for
// messages, its size, and how to open it (again: layers of a docker save
// tarball are read when they are pushed).
type archiveSource struct {
	name string
	size int64
	open func() (io.ReadCloser, error)
}

// readArchive checks the archive (scanTar) and reads it: a docker save
// tarball into a.Image, an OCI archive by extracting it into the cache and
// returning the layout directory.
func (c *Cache) readArchive(src archiveSource, a *Artifact) (string, error) {
	f, err := src.open()
	if err != nil {
		return "", fmt.Errorf("oci: %w", err)
	}
	info, err := scanTar(f, src.name, src.size)
	f.Close()
	if err != nil {
		return "", fmt.Errorf("oci: %w", err)
	}
	if !info.layout {
		img, err := tarball.Image(src.open, nil)
		if err != nil {
			return "", fmt.Errorf("oci: reading %s as a docker save tarball: %w (a tarball with several images is not supported; save one)", src.name, err)
		}
		a.Image = img
		return "", nil
	}
	dir, err := c.extractArchive(src)
	if err != nil {
		return "", fmt.Errorf("oci: %w", err)
	}
	return dir, nil
}

// readLayout reads the OCI layout directory dir (given as name) into a:
// one image, one index, or one image per platform made into an index.
func readLayout(dir, name string, a *Artifact) error {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return fmt.Errorf("oci: reading layout %s: %w", name, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return fmt.Errorf("oci: reading %s/index.json: %w", name, err)
	}
	switch n := len(im.Manifests); {
	case n == 0:
		return fmt.Errorf("oci: layout %s holds no image", name)
	case n == 1:
		d := im.Manifests[0]
		if d.MediaType.IsIndex() {
			a.Index, err = idx.ImageIndex(d.Digest)
		} else {
			a.Image, err = idx.Image(d.Digest)
		}
		if err != nil {
			return fmt.Errorf("oci: reading %s from %s: %w", d.Digest, name, err)
		}
		return nil
	default:
		for _, d := range im.Manifests {
			if !d.MediaType.IsImage() || d.Platform == nil {
				return fmt.Errorf("oci: layout %s holds %d manifests and %s has no platform; keep one image, or one image per platform", name, n, d.Digest)
			}
		}
		imgs := make([]v1.Image, 0, n)
		plats := make([]*v1.Platform, 0, n)
		for _, d := range im.Manifests {
			img, err := idx.Image(d.Digest)
			if err != nil {
				return fmt.Errorf("oci: reading %s (%s) from %s: %w", d.Digest, d.Platform, name, err)
			}
			imgs = append(imgs, img)
			plats = append(plats, d.Platform)
		}
		return a.setIndex(imgs, plats)
	}
}

// extractArchive unpacks an OCI archive into the cache, once per content.
func (c *Cache) extractArchive(src archiveSource) (string, error) {
	file := src.name
	f, err := src.open()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil {
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
	out, err := os.OpenRoot(tmp)
	if err != nil {
		return "", err
	}
	defer out.Close()
	if f, err = src.open(); err != nil {
		return "", err
	}
	defer f.Close()
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
		// scanTar checked names, links and sizes; writing goes through an
		// os.Root all the same, so nothing can land outside tmp.
		dst := filepath.FromSlash(rel)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := out.MkdirAll(dst, 0o755); err != nil {
				return "", err
			}
		case tar.TypeReg:
			if err := extractFile(out, dst, tr, hdr.Size); err != nil {
				return "", fmt.Errorf("extracting %s from %s: %w", rel, file, err)
			}
		case tar.TypeLink:
			// A hard link names an earlier entry: copy it.
			src := filepath.FromSlash(path.Clean(strings.TrimPrefix(hdr.Linkname, "./")))
			in, err := out.Open(src)
			if err != nil {
				return "", fmt.Errorf("extracting %s from %s: it links to %s, which comes before it in no entry: %w", rel, file, hdr.Linkname, err)
			}
			fi, err := in.Stat()
			if err == nil {
				err = extractFile(out, dst, in, fi.Size())
			}
			in.Close()
			if err != nil {
				return "", fmt.Errorf("extracting %s from %s: %w", rel, file, err)
			}
		case tar.TypeXGlobalHeader:
		default:
			return "", fmt.Errorf("extracting %s from %s: entry of tar type %q: an OCI archive holds only files and directories", rel, file, hdr.Typeflag)
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

// extractFile writes exactly size bytes of r to name under root: the size
// the header claimed, so a reader that gives more cannot grow the file.
func extractFile(root *os.Root, name string, r io.Reader, size int64) error {
	if err := root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	w, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = io.CopyN(w, r, size)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}
