package cli

import (
	"fmt"
	"runtime"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/image"
)

// tarballJSON is what build --tarball --output json says of the archive.
type tarballJSON struct {
	Path   string          `json:"path"`
	Images []tarballedJSON `json:"images"`
}

type tarballedJSON struct {
	Name      string `json:"name"`
	Reference string `json:"reference"`
	Platform  string `json:"platform"`
	ImageID   string `json:"imageID"` // the config digest, which docker load reports
}

// tarballPlatform is the platform whose images go into a docker load
// archive: Linux on this machine's architecture, which is what a Docker
// Engine here runs (Docker Desktop included).
func tarballPlatform() v1.Platform { return v1.Platform{OS: "linux", Architecture: runtime.GOARCH} }

// writeTarball writes arts to path for docker load, tagged as push would
// tag them, and prints one line per image with the ID docker load gives it.
func writeTarball(env *Env, f *config.File, arts []*image.Artifact, path string) (*tarballJSON, error) {
	tag := f.Tag
	if tag == "" {
		tag = "latest"
	}
	refs := make([]name.Tag, len(arts))
	for i, a := range arts {
		s := a.Repository + ":" + tag
		if f.Registry != "" {
			s = f.Registry + "/" + s
		}
		ref, err := name.NewTag(s)
		if err != nil {
			return nil, fmt.Errorf("image %q: %q is not a valid image reference for the archive: %w", a.Name, s, err)
		}
		refs[i] = ref
	}
	ls, err := image.Loadables(arts, refs, tarballPlatform())
	if err != nil {
		return nil, fmt.Errorf("writing the image archive %s: %w", path, err)
	}
	if err := image.WriteTarball(path, ls); err != nil {
		return nil, err
	}
	out := &tarballJSON{Path: path, Images: make([]tarballedJSON, 0, len(ls))}
	for _, l := range ls {
		ref := l.Ref.String()
		fmt.Fprintf(env.Stderr, "%s: wrote %s to %s (%s, image ID %s)\n", l.Name, ref, path, l.Platform, l.ImageID)
		out.Images = append(out.Images, tarballedJSON{Name: l.Name, Reference: ref, Platform: l.Platform, ImageID: l.ImageID.String()})
	}
	return out, nil
}
