package image

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
)

// Cache is the on-disk, content-addressed store of pier's builds:
//
//	blobs/sha256/<hex>   compressed layers, base manifests and configs
//	layers/<diffid-hex>  {"digest","size"} of the compressed blob of an uncompressed tar
//
// A layer is keyed by the sha256 of its deterministic tar (its DiffID), so an
// unchanged layer costs one read of its inputs and no compression. Writers
// rename finished files into place, so concurrent builds share a cache safely.
type Cache struct {
	dir string
}

// OpenCache returns the cache rooted at dir, creating it when missing.
func OpenCache(dir string) (*Cache, error) {
	for _, sub := range []string{"blobs/sha256", "layers", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("creating the build cache in %s: %w (set PIER_CACHE to a writable directory)", dir, err)
		}
	}
	return &Cache{dir: dir}, nil
}

// DefaultCacheDir is $PIER_CACHE, else pier/ under the user cache directory.
func DefaultCacheDir(getenv func(string) string) (string, error) {
	if d := getenv("PIER_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the user cache directory: %w (set PIER_CACHE)", err)
	}
	return filepath.Join(d, "pier"), nil
}

// Dir is the cache's root directory.
func (c *Cache) Dir() string { return c.dir }

func (c *Cache) blobPath(h v1.Hash) string { return filepath.Join(c.dir, "blobs", h.Algorithm, h.Hex) }

// blob returns a small stored blob (a manifest or config), verified.
func (c *Cache) blob(h v1.Hash) ([]byte, bool) {
	data, err := os.ReadFile(c.blobPath(h))
	if err != nil {
		return nil, false
	}
	sum := sha256.Sum256(data)
	if h.Algorithm != "sha256" || hex.EncodeToString(sum[:]) != h.Hex {
		return nil, false // corrupt or foreign; the caller fetches again
	}
	return data, true
}

// putBlob stores a small blob under its digest.
func (c *Cache) putBlob(h v1.Hash, data []byte) error {
	return c.writeAtomic(c.blobPath(h), func(w io.Writer) error { _, err := w.Write(data); return err })
}

func (c *Cache) writeAtomic(dst string, fill func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Join(c.dir, "tmp"), "w-*")
	if err != nil {
		return fmt.Errorf("writing to the build cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := fill(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing to the build cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("writing to the build cache: %w", err)
	}
	return nil
}

type layerRecord struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

// layer returns the gzip layer for spec, compressing it only on a cache miss.
// hit reports whether the compressed blob came from the cache.
func (c *Cache) layer(spec *layerSpec, epoch time.Time, mt types.MediaType) (l v1.Layer, hit bool, err error) {
	entries, err := spec.normalize()
	if err != nil {
		return nil, false, err
	}
	h := sha256.New()
	if err := writeTar(h, entries, epoch); err != nil {
		return nil, false, err
	}
	diffID := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	recPath := filepath.Join(c.dir, "layers", diffID.Hex)
	if data, err := os.ReadFile(recPath); err == nil {
		var rec layerRecord
		if json.Unmarshal(data, &rec) == nil {
			if d, err := v1.NewHash(rec.Digest); err == nil {
				if fi, err := os.Stat(c.blobPath(d)); err == nil && fi.Size() == rec.Size {
					return &fileLayer{path: c.blobPath(d), digest: d, diffID: diffID, size: rec.Size, mt: mt}, true, nil
				}
			}
		}
	}

	// Miss: tar again, this time through gzip into a temporary file.
	tmp, err := os.CreateTemp(filepath.Join(c.dir, "tmp"), "layer-*")
	if err != nil {
		return nil, false, fmt.Errorf("writing a layer to the build cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	zh, uh := sha256.New(), sha256.New()
	counter := &countWriter{w: io.MultiWriter(tmp, zh)}
	zw, err := gzip.NewWriterLevel(counter, gzip.DefaultCompression)
	if err != nil {
		tmp.Close()
		return nil, false, err
	}
	if err := writeTar(io.MultiWriter(zw, uh), entries, epoch); err != nil {
		tmp.Close()
		return nil, false, err
	}
	if err := zw.Close(); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("compressing a layer: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, false, fmt.Errorf("writing a layer to the build cache: %w", err)
	}
	if got := hex.EncodeToString(uh.Sum(nil)); got != diffID.Hex {
		return nil, false, fmt.Errorf("building a layer: its inputs changed while pier was reading them; build again")
	}
	digest := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(zh.Sum(nil))}
	if err := os.Rename(tmp.Name(), c.blobPath(digest)); err != nil {
		return nil, false, fmt.Errorf("writing a layer to the build cache: %w", err)
	}
	rec, _ := json.Marshal(layerRecord{Digest: digest.String(), Size: counter.n})
	if err := c.writeAtomic(recPath, func(w io.Writer) error { _, err := w.Write(rec); return err }); err != nil {
		return nil, false, err
	}
	return &fileLayer{path: c.blobPath(digest), digest: digest, diffID: diffID, size: counter.n, mt: mt}, false, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// fileLayer is a gzip layer stored in the cache whose digests are already
// known: pushing it streams the file, nothing is held in memory.
type fileLayer struct {
	path           string
	digest, diffID v1.Hash
	size           int64
	mt             types.MediaType
}

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return l.mt, nil }

func (l *fileLayer) Compressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading layer %s: it was removed from the build cache; build again", l.digest)
	}
	return f, err
}

func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading layer %s: %w", l.digest, err)
	}
	return &readCloser{Reader: zr, close: func() error { zr.Close(); return f.Close() }}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r *readCloser) Close() error { return r.close() }
