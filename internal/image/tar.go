package image

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pier-deploy/pier/internal/confine"
)

// The owner of a file in a built layer unless its layer gives the tree to
// another user (layerSpec.owners). Root-owned, world-readable files run
// under any non-root user the image picks.
const (
	layerUID = 0
	layerGID = 0
)

// entry is one file, directory or symlink of a layer, independent of where
// its bytes come from (a file on disk, a zip entry, memory).
type entry struct {
	name string // path inside the image, slash-separated, without leading slash
	kind byte   // tar.TypeReg, tar.TypeDir or tar.TypeSymlink
	exec bool   // regular file with an execute bit: mode 0755 instead of 0644
	// shared marks a directory everyone may write to, with the sticky bit
	// (mode 1777, like /tmp): written so on disk, it stays so in the image.
	shared bool
	link   string // symlink target
	size   int64
	open   func() (io.ReadCloser, error)
	uid    int // set by normalize from the layer's owners
	gid    int
}

// layerSpec is the complete description of one layer: its entries and the
// history line that explains it. Two equal specs give byte-identical tars.
type layerSpec struct {
	comment string // history CreatedBy
	entries []entry
	owners  []treeOwner // trees not owned by root; the deepest match wins
}

// treeOwner gives the directory dir (slash path, no leading slash) and
// everything below it to the fixed numeric uid:gid, e.g. where the image's
// non-root user must write at run time.
type treeOwner struct {
	dir      string
	uid, gid int
}

// owner is the uid:gid of the entry called name.
func (s *layerSpec) owner(name string) (uid, gid int) {
	uid, gid, depth := layerUID, layerGID, -1
	for _, o := range s.owners {
		if (name == o.dir || strings.HasPrefix(name, o.dir+"/")) && len(o.dir) > depth {
			uid, gid, depth = o.uid, o.gid, len(o.dir)
		}
	}
	return uid, gid
}

func (s *layerSpec) add(e entry) { s.entries = append(s.entries, e) }

func (s *layerSpec) empty() bool { return len(s.entries) == 0 }

// addPath adds the file or directory tree at src under dest. filter, when
// non-nil, decides per relative slash path (of a tree) whether to take it.
func (s *layerSpec) addPath(root *confine.Root, dest, src string, filter func(rel string, dir bool) bool) error {
	// A symlink given as the source stands for what it points to, and must
	// resolve inside the build directory; symlinks inside a tree stay
	// symlinks in the image (pier does not read through them).
	src, err := root.Resolve(src)
	if err != nil {
		return err
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		name := dest
		if rel != "." {
			name = path.Join(dest, rel)
			if filter != nil && !filter(rel, d.IsDir()) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		name = cleanName(name)
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return fmt.Errorf("reading symlink %s: %w", p, err)
			}
			s.add(entry{name: name, kind: tar.TypeSymlink, link: target})
		case d.IsDir():
			if rel != "." || name != "" {
				const sharedMode = fs.ModeSticky | 0o002
				s.add(entry{name: name, kind: tar.TypeDir, shared: info.Mode()&sharedMode == sharedMode})
			}
		case info.Mode().IsRegular():
			fp := p
			s.add(entry{name: name, kind: tar.TypeReg, exec: info.Mode()&0o111 != 0, size: info.Size(),
				open: func() (io.ReadCloser, error) { return os.Open(fp) }})
		default:
			return fmt.Errorf("adding %s to the image: only regular files, directories and symlinks are supported", p)
		}
		return nil
	})
}

func cleanName(name string) string {
	return strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(name)), "/")
}

// normalize sorts the entries, adds missing parent directories, sets each
// entry's owner and rejects two different entries for one path, so the tar
// depends only on content.
func (s *layerSpec) normalize() ([]entry, error) {
	byName := map[string]entry{}
	for _, e := range s.entries {
		if e.name == "" {
			continue
		}
		if old, ok := byName[e.name]; ok {
			if old.kind == tar.TypeDir && e.kind == tar.TypeDir {
				if e.shared {
					byName[e.name] = e
				}
				continue
			}
			return nil, fmt.Errorf("two sources for %q in one layer", "/"+e.name)
		}
		byName[e.name] = e
		for dir := path.Dir(e.name); dir != "." && dir != "/"; dir = path.Dir(dir) {
			if old, ok := byName[dir]; ok {
				if old.kind != tar.TypeDir {
					return nil, fmt.Errorf("%q is a file and also the parent directory of %q", "/"+dir, "/"+e.name)
				}
				continue
			}
			byName[dir] = entry{name: dir, kind: tar.TypeDir}
		}
	}
	out := make([]entry, 0, len(byName))
	for _, e := range byName {
		e.uid, e.gid = s.owner(e.name) // parents added above included
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// writeTar writes the deterministic tar of entries: the fixed owner
// normalize chose, normalized modes and every timestamp set to epoch.
func writeTar(w io.Writer, entries []entry, epoch time.Time) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		h := &tar.Header{
			Typeflag: e.kind,
			Name:     e.name,
			Uid:      e.uid,
			Gid:      e.gid,
			ModTime:  epoch,
		}
		switch e.kind {
		case tar.TypeDir:
			h.Name += "/"
			h.Mode = 0o755
			if e.shared {
				h.Mode = 0o1777
			}
		case tar.TypeSymlink:
			h.Mode = 0o777
			h.Linkname = e.link
		default:
			h.Mode = 0o644
			if e.exec {
				h.Mode = 0o755
			}
			h.Size = e.size
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("writing tar header for %s: %w", e.name, err)
		}
		if e.kind != tar.TypeReg {
			continue
		}
		rc, err := e.open()
		if err != nil {
			return fmt.Errorf("opening %s: %w", e.name, err)
		}
		n, err := io.CopyN(tw, rc, e.size)
		rc.Close()
		if err == io.EOF {
			return fmt.Errorf("copying %s into the layer: it shrank while pier was reading it (%d → %d bytes); build again", e.name, e.size, n)
		}
		if err != nil {
			return fmt.Errorf("copying %s into the layer: %w", e.name, err)
		}
	}
	return tw.Close()
}
