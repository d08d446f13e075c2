package image

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/config"
)

// fileFor is the pier.yaml an image built by a test belongs to: its
// directory is the deepest one holding every input of img, so the build
// confines the inputs there as it does for a real pier.yaml.
func fileFor(t testing.TB, img *config.Image, platforms []string) *config.File {
	t.Helper()
	var paths []string
	switch {
	case img.Nginx != nil:
		paths = append(paths, img.Nginx.Config)
		for _, p := range img.Nginx.Files {
			paths = append(paths, p)
		}
	case img.Next != nil:
		paths = append(paths, img.Next.Dir)
	case img.SpringBoot != nil:
		paths = append(paths, img.SpringBoot.Jar)
	case img.Files != nil:
		for _, p := range img.Files.Files {
			paths = append(paths, p)
		}
	case img.OCI != nil:
		paths = append(paths, img.OCI.Path)
	}
	dir := ""
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		d := filepath.Dir(abs)
		for dir != "" && d != dir && !strings.HasPrefix(d, dir+string(filepath.Separator)) {
			dir = filepath.Dir(dir)
		}
		if dir == "" {
			dir = d
		}
	}
	return &config.File{Path: filepath.Join(dir, "pier.yaml"), Dir: dir, Platforms: platforms}
}
