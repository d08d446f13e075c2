package config

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/pier-deploy/pier/internal/confine"
)

// Input is one file or directory on the host that an image's build reads,
// with the place in pier.yaml that names it. Builds and lint check every
// input against the build directory (File.BuildDir) before reading it.
type Input struct {
	Path string // joined with File.Dir, as the builder reads it
	Pos  Pos    // the value in pier.yaml
	What string // what it is for, e.g. "nginx config" or "files source for /etc/x"
}

// BuildDir is the directory image builds may read from: context: when
// given, else the directory of pier.yaml.
func (f *File) BuildDir() string {
	if f.Context != "" {
		return f.Context
	}
	return f.Dir
}

// addInput records the path value of key in builder mapping fields as an
// input of img. The value is already read (and its errors reported).
func (d *decoder) addInput(img *Image, fields map[string]entry, key, what, value string) {
	e, ok := fields[key]
	if !ok || value == "" {
		return
	}
	img.Inputs = append(img.Inputs, Input{Path: value, Pos: d.pos(resolveValue(e.v)), What: what})
}

// addScalarInput is addInput for a builder given as a scalar or as a
// mapping with one key (oci: path or oci: {path: path}).
func (d *decoder) addScalarInput(img *Image, b entry, key, what, value string) {
	if value == "" {
		return
	}
	n := resolve(b.v)
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				n = n.Content[i+1]
				break
			}
		}
	}
	img.Inputs = append(img.Inputs, Input{Path: value, Pos: d.pos(resolveValue(n)), What: what})
}

// resolveValue is the node an error about a value points at: the value
// itself, or for an alias the anchor's text, where the path is written.
func resolveValue(n *yaml.Node) *yaml.Node {
	if r := resolve(n); r != nil {
		return r
	}
	return n
}

// imageFiles reads `files: {/dest/in/image: source/path}`: destinations are
// clean absolute paths, sources are inputs of img.
func (d *decoder) imageFiles(img *Image, f map[string]entry, what string) map[string]string {
	e, ok := f["files"]
	if !ok {
		return nil
	}
	es, ok := d.entries(e.v, what+" files", true)
	if !ok {
		return nil
	}
	files := make(map[string]string, len(es))
	for _, fe := range es {
		dst := fe.key
		src, good := d.str(fe.v, fmt.Sprintf("%s files %q", what, dst))
		if !good {
			continue
		}
		files[dst] = src
		if msg := checkDest(dst); msg != "" {
			d.errs = append(d.errs, &Error{Pos: d.pos(fe.k), Msg: fmt.Sprintf("%s files: destination %q %s", what, dst, msg)})
		}
		if src != "" {
			img.Inputs = append(img.Inputs, Input{Path: src, Pos: d.pos(resolveValue(fe.v)), What: "files source for " + dst})
		}
	}
	return files
}

// checkDest says what is wrong with a destination in the image, or "".
func checkDest(dst string) string {
	if !strings.HasPrefix(dst, "/") {
		return fmt.Sprintf("must be an absolute path in the image, such as /etc/nginx/%s", strings.TrimLeft(dst, "./"))
	}
	for _, c := range strings.Split(dst, "/") {
		if c == ".." {
			return fmt.Sprintf("must not contain ..: write the path it means, %s", path.Clean(dst))
		}
	}
	if strings.ContainsRune(dst, 0) {
		return "must not contain a NUL character"
	}
	return ""
}

// contextDir reads context:, the directory below pier.yaml's that image
// builds may read from.
func (d *decoder) contextDir(f *File, m map[string]entry) {
	e, ok := m["context"]
	if !ok {
		return
	}
	s, ok := d.str(e.v, "context")
	if !ok {
		return
	}
	if _, err := confine.Clean(s, d.dirName()); err != nil {
		d.errorf(e.v, "context: %v", err)
		return
	}
	f.Context = s
	f.ContextPos = d.pos(e.v)
}

func (d *decoder) dirName() string {
	if dir := filepath.Dir(d.file); dir != "." {
		return dir
	}
	return "the directory of " + filepath.Base(d.file)
}

// confineInputs refuses inputs that are absolute or climb out of the build
// directory, lexically (lint and build follow symlinks with confine.Root),
// and joins the rest with the file's directory.
func (d *decoder) confineInputs(f *File, img *Image) {
	ctx := ""
	if f.Context != "" {
		ctx, _ = confine.Clean(f.Context, "")
	}
	for i := range img.Inputs {
		in := &img.Inputs[i]
		c, err := confine.Clean(in.Path, d.dirName())
		if err != nil {
			d.errs = append(d.errs, &Error{Pos: in.Pos, Msg: fmt.Sprintf("image %q %s: %v", img.Name, in.What, err)})
			continue
		}
		if ctx != "" && ctx != "." && c != ctx && !strings.HasPrefix(c, ctx+"/") {
			d.errs = append(d.errs, &Error{Pos: in.Pos, Msg: fmt.Sprintf("image %q %s: %s is outside context: %s (line %d), the only directory builds may read: move it there or widen context:", img.Name, in.What, in.Path, f.Context, f.ContextPos.Line)})
			continue
		}
		in.Path = resolvePath(f.Dir, in.Path)
	}
}

// confineTaskDefinition applies the same lexical rule to a service's task
// definition: pier reads no file outside the directory of pier.yaml.
func (d *decoder) confineTaskDefinition(s *Service) bool {
	if s.TaskDefinition == "" {
		return true
	}
	if _, err := confine.Clean(s.TaskDefinition, d.dirName()); err != nil {
		d.errs = append(d.errs, &Error{Pos: s.TaskDefinitionPos, Msg: fmt.Sprintf("service %q taskDefinition: %v", s.Name, err)})
		return false
	}
	return true
}

// OpenBuildDir opens the directory f's image builds may read from (its
// context:, else the directory of pier.yaml; the working directory when
// f.Dir is empty, as for a pier.yaml there) as a confine.Root. Builders read
// every input through it, so a symlink cannot lead a build out.
func (f *File) OpenBuildDir() (*confine.Root, error) {
	root, err := confine.Open(f.Dir)
	if err != nil {
		return nil, err
	}
	if f.Context == "" || filepath.Clean(f.Context) == filepath.Clean(f.Dir) {
		return root, nil
	}
	defer root.Close()
	sub, err := root.Sub(f.Context)
	if err != nil {
		return nil, &Error{Pos: f.ContextPos, Msg: fmt.Sprintf("context: %v", err)}
	}
	return sub, nil
}

// CheckInputs resolves each input of img inside root and returns, for
// every one that leads out of it, a positioned error saying which value of
// pier.yaml to fix. Inputs that do not exist are left to the builder (and
// to lint's warning), which says what should have made them.
func CheckInputs(root *confine.Root, img *Image) Errors {
	var errs Errors
	for _, in := range img.Inputs {
		if _, err := root.Resolve(in.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, &Error{Pos: in.Pos, Msg: fmt.Sprintf("image %q %s: %v", img.Name, in.What, err)})
		}
	}
	return errs
}

// CheckTaskDefinitions resolves each service's task definition inside the
// directory of pier.yaml and returns a positioned error for every one that
// leads out through a symlink. Load runs it, so no command reads a task
// definition from outside.
func (f *File) CheckTaskDefinitions() Errors {
	root, err := confine.Open(f.Dir)
	if err != nil {
		return nil // reading the task definitions reports it
	}
	defer root.Close()
	var errs Errors
	seen := map[string]bool{}
	for _, s := range f.Services {
		if s.TaskDefinition == "" || seen[s.TaskDefinition] {
			continue
		}
		seen[s.TaskDefinition] = true
		if _, err := root.Resolve(s.TaskDefinition); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, &Error{Pos: s.TaskDefinitionPos, Msg: fmt.Sprintf("service %q taskDefinition: %v", s.Name, err)})
		}
	}
	return errs
}
