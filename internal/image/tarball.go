package image

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// PlatformImage returns the artifact's image for plat: the image itself
// when one platform was built, else the index's entry for plat.
func (a *Artifact) PlatformImage(plat v1.Platform) (v1.Image, error) {
	if a.Index == nil {
		return a.Image, nil
	}
	im, err := a.Index.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range im.Manifests {
		if d.Platform != nil && d.Platform.Satisfies(plat) && d.MediaType.IsImage() {
			return a.Index.Image(d.Digest)
		}
	}
	have, _ := a.Platforms()
	return nil, fmt.Errorf("image %q has no %s image (it has %s)", a.Name, plat.String(), strings.Join(have, ", "))
}

// Loadable is one image of a `docker load` archive.
type Loadable struct {
	Name     string // the key under images:
	Ref      name.Tag
	Platform string  // of the image written
	ImageID  v1.Hash // the config digest: the ID `docker load` gives the image
	Image    v1.Image
}

// Loadables picks, for each artifact, the image of plat and the tag it is
// loaded under (refs[i] for arts[i]). An index cannot be loaded by `docker
// load`, whose archive format holds images only, so one platform is chosen.
func Loadables(arts []*Artifact, refs []name.Tag, plat v1.Platform) ([]Loadable, error) {
	out := make([]Loadable, 0, len(arts))
	for i, a := range arts {
		img, err := a.PlatformImage(plat)
		if err != nil {
			return nil, err
		}
		id, err := img.ConfigName()
		if err != nil {
			return nil, fmt.Errorf("image %q: reading its config: %w", a.Name, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("image %q: reading its config: %w", a.Name, err)
		}
		p := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
		out = append(out, Loadable{Name: a.Name, Ref: refs[i], Platform: p.String(), ImageID: id, Image: img})
	}
	return out, nil
}

// WriteTarball writes ls as one `docker load` archive at path, each image
// tagged with its Ref. It writes a temporary file next to path and renames
// it, so a full disk or an interruption never leaves a truncated archive.
func WriteTarball(path string, ls []Loadable) error {
	refs := make(map[name.Reference]v1.Image, len(ls))
	for _, l := range ls {
		refs[l.Ref] = l.Image
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing the image archive %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if err := tarball.MultiRefWrite(refs, tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the image archive %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil { // CreateTemp's 0600 would keep it from other users
		tmp.Close()
		return fmt.Errorf("writing the image archive %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the image archive %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing the image archive %s: %w", path, err)
	}
	return nil
}
