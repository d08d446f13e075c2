package adopt

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ExistsError is Write refusing to overwrite files; nothing was written.
type ExistsError struct{ Paths []string }

func (e *ExistsError) Error() string {
	return fmt.Sprintf("%s already exist(s); nothing was written", strings.Join(e.Paths, ", "))
}

// Write writes files. Without force it first checks that none of them
// exists and writes nothing when one does, so a refused init leaves no
// half-adopted directory behind; each file is then created exclusively,
// so a file that appears in between is not overwritten either.
func Write(files []File, force bool) error {
	if !force {
		var exist []string
		for _, f := range files {
			if _, err := os.Lstat(f.Path); err == nil {
				exist = append(exist, f.Path)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("checking %s: %w", f.Path, err)
			}
		}
		if len(exist) > 0 {
			return &ExistsError{Paths: exist}
		}
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
			return fmt.Errorf("creating the directory of %s: %w", f.Path, err)
		}
		out, err := os.OpenFile(f.Path, flags, 0o644)
		if err != nil {
			return fmt.Errorf("writing %s: %w", f.Path, err)
		}
		_, err = out.Write(f.Data)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("writing %s: %w", f.Path, err)
		}
	}
	return nil
}
