package lint

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/confine"
	"github.com/pier-deploy/pier/internal/nginxconf"
	"github.com/pier-deploy/pier/internal/taskdef"
)

// Input is everything lint reads: the parsed pier.yaml, the task definition
// of each service and the nginx.conf of each nginx image.
type Input struct {
	Config *config.File
	Tasks  map[string]*taskdef.TaskDef  // by service name
	Nginx  map[string]*nginxconf.Config // by image name, for nginx images
}

// Load reads every task definition and nginx configuration f refers to.
// Files that cannot be read or parsed are input errors, reported all at once
// with positions: the file's own problem position, or the pier.yaml line
// that names a missing file.
func Load(f *config.File) (*Input, error) {
	in := &Input{Config: f, Tasks: map[string]*taskdef.TaskDef{}, Nginx: map[string]*nginxconf.Config{}}
	var errs []error
	byPath := map[string]*taskdef.TaskDef{}
	failed := map[string]bool{}
	for _, e := range f.CheckTaskDefinitions() {
		errs = append(errs, e) // leads out of the directory: never read
		for _, s := range f.Services {
			if s.TaskDefinitionPos == e.Pos {
				failed[s.TaskDefinition] = true
			}
		}
	}
	for _, s := range f.Services {
		if td, ok := byPath[s.TaskDefinition]; ok {
			in.Tasks[s.Name] = td
			continue
		}
		if failed[s.TaskDefinition] {
			continue
		}
		td, err := taskdef.Load(s.TaskDefinition)
		if err != nil {
			failed[s.TaskDefinition] = true
			errs = append(errs, inputError(s.Pos, fmt.Sprintf("service %q", s.Name), "task definition", "taskDefinition", err))
			continue
		}
		byPath[s.TaskDefinition] = td
		in.Tasks[s.Name] = td
	}
	root, err := f.OpenBuildDir()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	for _, img := range f.Images {
		if img.Nginx == nil || img.Nginx.Config == "" {
			continue
		}
		data, err := readInput(root, img.Nginx.Config)
		if confine.IsEscape(err) {
			continue // the build-input-outside rule reports it, at its line
		}
		if err != nil {
			errs = append(errs, inputError(img.Nginx.Pos, fmt.Sprintf("image %q", img.Name), "nginx config", "config", err))
			continue
		}
		cfg, err := nginxconf.Parse(img.Nginx.Config, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		in.Nginx[img.Name] = cfg
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return in, nil
}

// inputError gives an unreadable file the position of the pier.yaml entry
// that names it, and says which key to fix; parse errors already carry
// their own position.
func inputError(at config.Pos, who, what, key string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return &config.Error{Pos: at, Msg: fmt.Sprintf("%s: reading %s %s: %v; check its %s: (a relative path starts at the directory of %s)",
			who, what, pe.Path, pe.Err, key, filepath.Base(at.File))}
	}
	return err
}

// Check runs every rule and returns the findings sorted.
func Check(in *Input) []Finding {
	var out findings
	checked := map[*taskdef.TaskDef]bool{}
	for _, s := range in.Config.Services {
		td := in.Tasks[s.Name]
		if td == nil {
			continue
		}
		if !checked[td] {
			checked[td] = true
			checkTask(&out, td)
		}
		checkService(&out, in.Config, s, td)
	}
	checkNginx(&out, in)
	checkBuildInputs(&out, in.Config)
	checkInputsConfined(&out, in.Config)
	Sort(out)
	return dedupe(out)
}

// dedupe drops repeated findings: a task definition or nginx.conf shared
// by two services would otherwise report the same line twice.
func dedupe(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if len(out) > 0 && f == out[len(out)-1] {
			continue
		}
		out = append(out, f)
	}
	return out
}

// readInput reads a build input through the build directory's root, so a
// symlink out of it is an error and not a read.
func readInput(root *confine.Root, p string) ([]byte, error) {
	f, err := root.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
