package lint

import (
	"errors"

	"github.com/pier-deploy/pier/internal/config"
)

// checkInputsConfined reports build inputs that resolve, through symlinks,
// outside the build directory (the directory of pier.yaml, or context:),
// with the same resolver the build uses (config.CheckInputs), so lint
// fails exactly where pier build would. Absolute paths and ".." are already
// refused when pier.yaml is parsed.
func checkInputsConfined(out *findings, f *config.File) {
	root, err := f.OpenBuildDir()
	if err != nil {
		var pe *config.Error
		if errors.As(err, &pe) {
			out.add(pe.Pos, Error, "build-input-outside", "%s", pe.Msg)
		}
		return
	}
	defer root.Close()
	for _, img := range f.Images {
		for _, e := range config.CheckInputs(root, img) {
			out.add(e.Pos, Error, "build-input-outside", "%s", e.Msg)
		}
	}
}
