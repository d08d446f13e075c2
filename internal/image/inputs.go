package image

import (
	"errors"
	"fmt"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/confine"
)

// openInputs is config.File.OpenBuildDir and config.CheckInputs for one build: the root, or the
// positioned errors of inputs that leave it.
func openInputs(f *config.File, img *config.Image) (*confine.Root, error) {
	root, err := f.OpenBuildDir()
	if err != nil {
		var pe *config.Error
		if errors.As(err, &pe) {
			return nil, err // context: leads out; its own position says where
		}
		return nil, fmt.Errorf("building image %q (%s): %w", img.Name, posString(img.Pos), err)
	}
	if errs := config.CheckInputs(root, img); len(errs) > 0 {
		root.Close()
		if len(errs) == 1 {
			return nil, errs[0]
		}
		return nil, errs
	}
	return root, nil
}
