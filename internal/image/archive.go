package image

import (
	"archive/tar"
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// Archives in build inputs (a jar, an OCI archive, a docker save tarball)
// come from the pull request like pier.yaml does. Before pier reads one it
// checks the entry names, the links and the sizes the headers claim, so
// that no entry lands outside where it belongs and the work of reading the
// archive stays proportional to its size: a header cannot make pier
// decompress or write more than the archive could hold.

// maxDeflateRatio is more than DEFLATE can expand (1032:1); a zip entry
// claiming more is lying about its size.
const maxDeflateRatio = 1100

// maxJarBytes bounds what a jar may unpack to: larger than any real
// Spring Boot application, small enough that a crafted jar cannot fill the
// runner's disk with layers.
const maxJarBytes = 8 << 30

// entryProblem says what is wrong with an archive entry name, or "": it
// must be relative, without ".." and without NUL or backslashes (which
// another tool could read as a separator).
func entryProblem(name string) string {
	switch {
	case name == "":
		return "has an empty name"
	case strings.HasPrefix(name, "/"):
		return "has an absolute name"
	case strings.ContainsAny(name, "\\\x00"):
		return "has a backslash or NUL in its name"
	case len(name) > 1 && name[1] == ':':
		return "has a drive letter in its name"
	}
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return "climbs out with .."
		}
	}
	return ""
}

// checkJar refuses a jar whose entries escape /app, are links, overlap
// or claim more bytes than their compressed data can give.
func checkJar(zr *zip.Reader, size int64) error {
	var compressed, total uint64
	for _, f := range zr.File {
		if p := entryProblem(f.Name); p != "" {
			return fmt.Errorf("entry %q %s: rebuild the jar with the Spring Boot plugin", f.Name, p)
		}
		if f.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("entry %q is a symlink, which a Spring Boot jar never holds: rebuild the jar", f.Name)
		}
		compressed += f.CompressedSize64
		total += f.UncompressedSize64
		limit := f.CompressedSize64 * maxDeflateRatio
		if f.Method == zip.Store {
			limit = f.CompressedSize64
		}
		if f.UncompressedSize64 > limit+64 {
			return fmt.Errorf("entry %q claims %d bytes from %d compressed bytes, more than its method can give: the jar is corrupt or a zip bomb", f.Name, f.UncompressedSize64, f.CompressedSize64)
		}
	}
	if compressed > uint64(size) {
		return fmt.Errorf("its entries claim %d compressed bytes in a %d-byte file: entries overlap (a zip bomb) or the jar is corrupt", compressed, size)
	}
	if total > maxJarBytes {
		return fmt.Errorf("it unpacks to %d bytes, more than pier's limit of %d: is this the application jar?", total, int64(maxJarBytes))
	}
	return nil
}

// tarInfo is what a scan of a tar archive found.
type tarInfo struct {
	layout bool // holds an oci-layout file: an OCI archive, else a docker save
}

// scanTar reads every header of the tar r (file, size bytes) and refuses
// entry names that escape, symlinks (to the file system: absolute or
// climbing out; in an OCI archive: any) and headers whose sizes add up to
// more than the archive holds (sparse entries and lies), so that no later
// read can expand it. tar.Reader skips an entry's data by its physical size,
// so the scan costs at most one read of the file.
func scanTar(r io.Reader, file string, size int64) (tarInfo, error) {
	var info tarInfo
	tr := tar.NewReader(r)
	var claimed int64
	var links []*tar.Header
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return info, fmt.Errorf("reading %s as a tar archive: %w", file, err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		if name == "" || name == "." {
			continue
		}
		if p := entryProblem(name); p != "" {
			return info, fmt.Errorf("reading %s: entry %q %s, outside the archive", file, h.Name, p)
		}
		if path.Clean(name) == "oci-layout" {
			info.layout = true
		}
		switch h.Typeflag {
		case tar.TypeSymlink, tar.TypeLink:
			if p := linkProblem(name, h.Linkname, h.Typeflag == tar.TypeLink); p != "" {
				return info, fmt.Errorf("reading %s: entry %q links to %q, which %s", file, h.Name, h.Linkname, p)
			}
			links = append(links, h)
		case tar.TypeReg, tar.TypeDir, tar.TypeXGlobalHeader:
		default:
			return info, fmt.Errorf("reading %s: entry %q is of tar type %q; image archives hold only files, directories and links", file, h.Name, h.Typeflag)
		}
		if h.Size < 0 || h.Size > size-claimed {
			return info, fmt.Errorf("reading %s: entry %q claims %d bytes, more than the %d-byte archive holds (a sparse or corrupt entry)", file, h.Name, h.Size, size)
		}
		claimed += h.Size
	}
	if info.layout {
		for _, h := range links {
			if h.Typeflag == tar.TypeSymlink {
				return info, fmt.Errorf("reading %s: entry %q is a symlink; an OCI archive is extracted as files only: make it again without links (tar --dereference)", file, h.Name)
			}
		}
	}
	return info, nil
}

// linkProblem says why a link entry called name may not point to target,
// or "". A hard link names another entry; a symlink is relative to the
// link's directory and must stay inside the archive.
func linkProblem(name, target string, hard bool) string {
	if target == "" {
		return "is empty"
	}
	if hard {
		if p := entryProblem(strings.TrimPrefix(target, "./")); p != "" {
			return p
		}
		return ""
	}
	if strings.HasPrefix(target, "/") {
		return "is an absolute path, outside the archive"
	}
	depth := strings.Count(path.Clean(name), "/")
	for _, c := range strings.Split(target, "/") {
		switch c {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return "climbs out of the archive"
			}
		default:
			depth++
		}
	}
	return ""
}
