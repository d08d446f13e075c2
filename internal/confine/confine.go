// Package confine keeps the files a build reads inside one directory: the
// directory of pier.yaml, or the context: directory below it. pier runs in
// CI on pull requests with cloud credentials, so a pier.yaml that names
// /etc/shadow, ../../secrets or a symlink to / must not put those files in an
// image that gets pushed.
//
// Two checks, one rule:
//
//   - Clean is lexical (no file system): a path written in pier.yaml must be
//     relative and must not climb out with "..". config uses it while parsing,
//     so lint and build refuse such paths with file:line:col.
//
//   - Root.Resolve follows every symlink of a path, one component at a time,
//     through an os.Root, and refuses a path whose resolution leaves the
//     directory. lint and the image builders use it before reading anything.
//
//     root, err := confine.Open(dir)        // dir: where pier.yaml is
//     real, err := root.Resolve(path)       // path as config joined it: dir/rel
//     f, err := root.Open(path)             // opened through os.Root
package confine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// maxLinks bounds the symlinks one resolution follows, as Linux's ELOOP
// limit does, so a cycle is an error and not a hang.
const maxLinks = 40

// EscapeError says that a path leaves the directory builds may read from.
type EscapeError struct {
	Path   string // the path as given
	Target string // where it leads (a symlink's target, or the absolute path)
	Dir    string // the directory it had to stay in
	Why    string // "is an absolute path", "climbs out with ..", "goes through symlink …"; "" when it lies elsewhere
}

func (e *EscapeError) Error() string {
	const fix = "pier reads only files below the directory of pier.yaml (builds only below its context:, when set); move or copy the file there and name it with a path relative to pier.yaml"
	if e.Why == "" {
		return fmt.Sprintf("%s is outside %s: %s", e.Path, e.Dir, fix)
	}
	return fmt.Sprintf("%s %s, so it is outside %s: %s", e.Path, e.Why, e.Dir, fix)
}

// IsEscape reports whether err is (or wraps) an EscapeError.
func IsEscape(err error) bool {
	var e *EscapeError
	return errors.As(err, &e)
}

// Clean checks a path as written in pier.yaml, without touching the file
// system: it must be relative and stay below its directory after "."
// and ".." are applied. It returns the cleaned slash-separated path ("." for
// the directory itself). dir is only used in the error message.
func Clean(p, dir string) (string, error) {
	slash := filepath.ToSlash(p)
	if p == "" {
		return "", errors.New("the path is empty")
	}
	if filepath.IsAbs(p) || path.IsAbs(slash) || filepath.VolumeName(p) != "" {
		return "", &EscapeError{Path: p, Target: p, Dir: dirName(dir), Why: "is an absolute path"}
	}
	c := path.Clean(slash)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", &EscapeError{Path: p, Target: c, Dir: dirName(dir), Why: "climbs out with .."}
	}
	return c, nil
}

func dirName(dir string) string {
	if dir == "" {
		return "."
	}
	return dir
}

// Root is a directory that reads are confined to.
type Root struct {
	dir  string   // the directory as given, made absolute: paths are made relative to it lexically
	real string   // dir with its own symlinks evaluated, for absolute link targets
	name string   // the directory as given, for messages
	root *os.Root // every read goes through it, so no symlink can lead out
}

// Open opens dir as a confinement root. dir itself may be reached through
// symlinks; only what lies below it is confined.
func Open(dir string) (*Root, error) {
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("opening build directory %s: %w", dir, err)
	}
	r, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("opening build directory %s: %w", dir, err)
	}
	return &Root{dir: abs, real: realDir(abs), name: dir, root: r}, nil
}

func realDir(abs string) string {
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	return abs
}

// inside returns the absolute path target relative to the root when it
// lies below it, by the root's path as given or its real path.
func (r *Root) inside(target string) (string, bool) {
	for _, d := range []string{r.dir, r.real} {
		in, err := filepath.Rel(d, filepath.Clean(target))
		if err == nil && in != ".." && !strings.HasPrefix(filepath.ToSlash(in), "../") {
			return in, true
		}
	}
	return "", false
}

// Close releases the directory.
func (r *Root) Close() error { return r.root.Close() }

// Dir is the directory as given to Open.
func (r *Root) Dir() string { return r.name }

// Sub opens the directory p (as Resolve takes it), which must resolve
// inside r, as a root of its own: the context: directory below pier.yaml.
// Paths given to the new root are still made relative to p as written.
func (r *Root) Sub(p string) (*Root, error) {
	real, err := r.Resolve(p)
	if err != nil {
		return nil, err
	}
	fr, err := os.OpenRoot(real)
	if err != nil {
		return nil, fmt.Errorf("opening build directory %s: %w", p, err)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		fr.Close()
		return nil, err
	}
	return &Root{dir: abs, real: real, name: p, root: fr}, nil
}

// Rel returns p relative to the root, slash-separated, after a lexical
// check only: p is absolute or relative to the working directory, as
// config joins pier.yaml's directory and the path written there.
func (r *Root) Rel(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", p, err)
	}
	rel, err := filepath.Rel(r.dir, abs)
	if err != nil {
		return "", &EscapeError{Path: p, Target: abs, Dir: r.name, Why: ""}
	}
	rel = filepath.ToSlash(rel)
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return "", &EscapeError{Path: p, Target: abs, Dir: r.name, Why: ""}
	}
	return rel, nil
}

// Resolve follows every symlink in p and returns the real path on the
// host (for tools that want a path), below the root's directory. A path that
// leaves the root, directly or through any symlink of a chain, is an
// *EscapeError naming the link and where it points; a path that does not
// exist is an fs.ErrNotExist error.
func (r *Root) Resolve(p string) (string, error) {
	rel, err := r.Rel(p)
	if err != nil {
		return "", err
	}
	res, err := r.resolve(p, rel)
	if err != nil {
		return "", err
	}
	return filepath.Join(r.dir, filepath.FromSlash(res)), nil
}

// ResolveRel is Resolve for a path relative to the root (slash-separated,
// as Rel returns it); it returns the resolved path, relative to the root.
func (r *Root) ResolveRel(rel string) (string, error) {
	c, err := Clean(filepath.FromSlash(rel), r.name)
	if err != nil {
		return "", err
	}
	return r.resolve(rel, c)
}

// resolve walks rel one component at a time; done never holds a symlink,
// so every Lstat through os.Root sees exactly one new name.
func (r *Root) resolve(orig, rel string) (string, error) {
	var done []string
	todo := comps(rel, "", "")
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c.name {
		case ".", "":
			continue
		case "..":
			if len(done) == 0 {
				if c.link != "" {
					return "", &EscapeError{Path: orig, Target: c.target, Dir: r.name, Why: fmt.Sprintf("goes through symlink %s, which points to %s", c.link, c.target)}
				}
				return "", &EscapeError{Path: orig, Target: "..", Dir: r.name, Why: "climbs out with .."}
			}
			done = done[:len(done)-1]
			continue
		}
		cur := path.Join(append(append([]string{}, done...), c.name)...)
		fi, err := r.root.Lstat(filepath.FromSlash(cur))
		if err != nil {
			return "", fmt.Errorf("resolving %s: %w", orig, pathErr(err, filepath.Join(r.name, filepath.FromSlash(cur))))
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = append(done, c.name)
			continue
		}
		if links++; links > maxLinks {
			return "", fmt.Errorf("resolving %s: more than %d symlinks (a loop?)", orig, maxLinks)
		}
		target, err := r.root.Readlink(filepath.FromSlash(cur))
		if err != nil {
			return "", fmt.Errorf("resolving %s: %w", orig, err)
		}
		link := filepath.Join(r.name, filepath.FromSlash(cur))
		if filepath.IsAbs(target) || path.IsAbs(filepath.ToSlash(target)) {
			// An absolute target is fine when it points back inside (a tool
			// that writes absolute links into the checkout).
			in, ok := r.inside(target)
			if !ok {
				return "", &EscapeError{Path: orig, Target: target, Dir: r.name, Why: fmt.Sprintf("goes through symlink %s, which points to %s", link, target)}
			}
			done = nil
			todo = append(comps(filepath.ToSlash(in), link, target), todo...)
			continue
		}
		// A relative target replaces the link's own name; ".." in it is
		// checked against the root as the walk goes on, after any symlink
		// before it is followed (as the kernel does). Each component
		// remembers its link, for the message when one climbs out.
		todo = append(comps(filepath.ToSlash(target), link, target), todo...)
	}
	if len(done) == 0 {
		return ".", nil
	}
	return path.Join(done...), nil
}

// comp is one path component still to walk, with the symlink whose
// target it came from (none for the path as given).
type comp struct{ name, link, target string }

func comps(p, link, target string) []comp {
	var out []comp
	for _, n := range splitPath(p) {
		out = append(out, comp{n, link, target})
	}
	return out
}

func splitPath(p string) []string {
	if p == "" || p == "." {
		return nil
	}
	return strings.Split(p, "/")
}

// pathErr restates an os.Root error with the path as the user knows it.
func pathErr(err error, p string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		// os.Root names its calls statat, openat…; the user ran stat and open.
		op := pe.Op
		switch op {
		case "statat", "fstatat", "lstatat":
			op = "stat"
		case "openat":
			op = "open"
		case "readlinkat":
			op = "readlink"
		}
		return &fs.PathError{Op: op, Path: p, Err: pe.Err}
	}
	return err
}

// Open opens the file p (as Resolve takes it) for reading, through the root.
func (r *Root) Open(p string) (*os.File, error) {
	rel, err := r.Rel(p)
	if err != nil {
		return nil, err
	}
	res, err := r.resolve(p, rel)
	if err != nil {
		return nil, err
	}
	f, err := r.root.Open(filepath.FromSlash(res))
	if err != nil {
		return nil, pathErr(err, p)
	}
	return f, nil
}

// Stat is os.Stat of p through the root.
func (r *Root) Stat(p string) (fs.FileInfo, error) {
	rel, err := r.Rel(p)
	if err != nil {
		return nil, err
	}
	res, err := r.resolve(p, rel)
	if err != nil {
		return nil, err
	}
	fi, err := r.root.Stat(filepath.FromSlash(res))
	if err != nil {
		return nil, pathErr(err, p)
	}
	return fi, nil
}

// CheckTree refuses a directory tree (p as Resolve takes it) in which any
// symlink resolves outside the root: for inputs that other code reads by
// path and follows links in, such as an OCI layout directory.
func (r *Root) CheckTree(p string) error {
	rel, err := r.Rel(p)
	if err != nil {
		return err
	}
	res, err := r.resolve(p, rel)
	if err != nil {
		return err
	}
	return fs.WalkDir(r.root.FS(), res, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if _, err := r.resolve(filepath.Join(r.name, filepath.FromSlash(q)), q); err != nil {
				return err
			}
		}
		return nil
	})
}
