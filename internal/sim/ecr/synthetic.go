package ecr

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand"
	"path"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// syntheticLayers and syntheticLayerSize shape every synthetic image: enough layers
// for layer reuse and mounts to be visible in counters, small enough to cost nothing.
const (
	syntheticLayers    = 3
	syntheticLayerSize = 4 << 10
)

// baseConfigs gives synthetic stand-ins of well-known public images the parts of their
// config a builder keeps (entrypoint, cmd, env, ports, user, workdir), keyed by the
// repository path on Docker Hub.
var baseConfigs = map[string]v1.Config{
	"library/nginx": {
		Entrypoint:   []string{"/docker-entrypoint.sh"},
		Cmd:          []string{"nginx", "-g", "daemon off;"},
		Env:          []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		ExposedPorts: map[string]struct{}{"80/tcp": {}},
		StopSignal:   "SIGQUIT",
	},
	"library/node": {
		Entrypoint: []string{"docker-entrypoint.sh"},
		Cmd:        []string{"node"},
		Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NODE_VERSION=22.11.0"},
	},
	"library/eclipse-temurin": {
		Entrypoint: []string{"/__cacert_entrypoint.sh"},
		Cmd:        []string{"jshell"},
		Env:        []string{"JAVA_HOME=/opt/java/openjdk", "PATH=/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=en_US.UTF-8"},
	},
	"sonatype/nexus3": {
		Cmd:          []string{"/opt/sonatype/nexus/bin/nexus", "run"},
		Env:          []string{"SONATYPE_DIR=/opt/sonatype", "NEXUS_HOME=/opt/sonatype/nexus", "NEXUS_DATA=/nexus-data", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		ExposedPorts: map[string]struct{}{"8081/tcp": {}},
		User:         "nexus",
		Volumes:      map[string]struct{}{"/nexus-data": {}},
	},
}

// baseConfig finds the config of a well-known base by its Docker Hub path, or by its
// last path element for copies elsewhere (public.ecr.aws/nginx/nginx,
// ghcr.io/x/node); other images get an empty config.
func baseConfig(repo string) v1.Config {
	if c, ok := baseConfigs[repo]; ok {
		return c
	}
	last := path.Base(repo)
	for k, c := range baseConfigs {
		if path.Base(k) == last {
			return c
		}
	}
	return v1.Config{}
}

// SyntheticImage returns a deterministic multi-platform image index standing in for
// the public image ref (e.g. "nginx:1.27", "sonatype/nexus3:3.70.1"): the same ref
// and platforms always give the same digests, a different ref a different image.
// platforms are "os/arch[/variant]"; none means linux/amd64. Well-known bases carry a
// plausible config (nginx keeps its entrypoint and port 80, nexus3 runs as nexus).
func SyntheticImage(ref string, platforms []string) (v1.ImageIndex, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("building a synthetic image for %q: %w", ref, err)
	}
	if len(platforms) == 0 {
		platforms = []string{"linux/amd64"}
	}
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range platforms {
		plat, err := v1.ParsePlatform(p)
		if err != nil || plat.OS == "" || plat.Architecture == "" {
			return nil, fmt.Errorf("building a synthetic image for %q: platform %q is not os/arch[/variant]", ref, p)
		}
		img, err := syntheticPlatformImage(r, *plat)
		if err != nil {
			return nil, fmt.Errorf("building a synthetic image for %q (%s): %w", ref, p, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: plat},
		})
	}
	return idx, nil
}

func syntheticPlatformImage(r name.Reference, plat v1.Platform) (v1.Image, error) {
	seed := sha256.Sum256([]byte(r.Name() + "|" + plat.String()))
	src := rand.NewSource(int64(binary.BigEndian.Uint64(seed[:8])))
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for i := range syntheticLayers {
		l, err := random.Layer(syntheticLayerSize, types.OCILayer, random.WithSource(src))
		if err != nil {
			return nil, err
		}
		img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: v1.History{
			Created:   v1.Time{Time: time.Unix(0, 0).UTC()},
			CreatedBy: fmt.Sprintf("synthetic layer %d of %s", i+1, r.Name()),
		}})
		if err != nil {
			return nil, err
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = plat.OS, plat.Architecture, plat.Variant
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config = baseConfig(r.Context().RepositoryStr())
	cf.Config.Labels = map[string]string{"org.pier.synthetic": r.Name()}
	return mutate.ConfigFile(img, cf)
}

// MirrorRepository is the repository under which the registry keeps a stand-in for
// a public image: its registry and path, e.g. "nginx:1.27" →
// "index.docker.io/library/nginx" (a valid ECR repository name).
func MirrorRepository(ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("parsing image reference %q: %w", ref, err)
	}
	return r.Context().RegistryStr() + "/" + r.Context().RepositoryStr(), nil
}

// MirrorRef returns where a client of this registry pulls the stand-in for the public
// image ref, e.g. "nginx:1.27" → "127.0.0.1:PORT/index.docker.io/library/nginx:1.27".
func (s *Service) MirrorRef(ref string) (string, error) {
	repo, err := MirrorRepository(ref)
	if err != nil {
		return "", err
	}
	r, _ := name.ParseReference(ref)
	sep := ":"
	if _, ok := r.(name.Digest); ok {
		sep = "@"
	}
	return s.RegistryHost() + "/" + repo + sep + r.Identifier(), nil
}

// SeedPublic stores a synthetic stand-in for the public image ref (built by
// SyntheticImage for platforms) under MirrorRepository(ref), tagged with ref's tag,
// and returns the index digest. Seeding the same ref twice is harmless.
func (s *Service) SeedPublic(ref string, platforms []string) (string, error) {
	idx, err := SyntheticImage(ref, platforms)
	if err != nil {
		return "", err
	}
	repo, err := MirrorRepository(ref)
	if err != nil {
		return "", err
	}
	tag := ""
	if r, _ := name.ParseReference(ref); r != nil {
		if t, ok := r.(name.Tag); ok {
			tag = t.TagStr()
		}
	}
	s.mu.Lock()
	if s.repos[repo] == nil {
		rep := newRepository(repo, s.now())
		rep.mirror = true
		s.repos[repo] = rep
	}
	s.mu.Unlock()
	return s.Seed(repo, idx, tag)
}

// Seed stores an image or image index (all its blobs and manifests) in repo without
// going through the registry and without counting, tagged with tag unless tag is "".
// The repository is created (MUTABLE) when it does not exist. It returns the digest.
func (s *Service) Seed(repo string, artifact any, tag string) (string, error) {
	if err := validRepoName(repo); err != nil {
		return "", fmt.Errorf("seeding repository %q: %w", repo, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rep := s.repos[repo]
	if rep == nil {
		rep = newRepository(repo, s.now())
		s.repos[repo] = rep
	}
	var d string
	var err error
	switch a := artifact.(type) {
	case v1.ImageIndex:
		d, err = s.seedIndex(rep, a, tag)
	case v1.Image:
		d, err = s.seedImage(rep, a, tag)
	default:
		err = fmt.Errorf("%T is neither a v1.Image nor a v1.ImageIndex", artifact)
	}
	if err != nil {
		return "", fmt.Errorf("seeding repository %q: %w", repo, err)
	}
	return d, nil
}

func (s *Service) seedIndex(rep *repository, idx v1.ImageIndex, tag string) (string, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return "", err
	}
	for _, desc := range im.Manifests {
		switch {
		case desc.MediaType.IsIndex():
			child, err := idx.ImageIndex(desc.Digest)
			if err == nil {
				_, err = s.seedIndex(rep, child, "")
			}
			if err != nil {
				return "", err
			}
		case desc.MediaType.IsImage():
			child, err := idx.Image(desc.Digest)
			if err == nil {
				_, err = s.seedImage(rep, child, "")
			}
			if err != nil {
				return "", err
			}
		}
	}
	raw, err := idx.RawManifest()
	if err != nil {
		return "", err
	}
	mt, err := idx.MediaType()
	if err != nil {
		return "", err
	}
	return s.seedManifest(rep, raw, string(mt), tag)
}

func (s *Service) seedImage(rep *repository, img v1.Image, tag string) (string, error) {
	cfg, err := img.RawConfigFile()
	if err != nil {
		return "", err
	}
	cd, err := img.ConfigName()
	if err != nil {
		return "", err
	}
	s.content[cd.String()] = cfg
	rep.blobs[cd.String()] = int64(len(cfg))
	layers, err := img.Layers()
	if err != nil {
		return "", err
	}
	for _, l := range layers {
		if err := s.seedLayer(rep, l); err != nil {
			return "", err
		}
	}
	raw, err := img.RawManifest()
	if err != nil {
		return "", err
	}
	mt, err := img.MediaType()
	if err != nil {
		return "", err
	}
	return s.seedManifest(rep, raw, string(mt), tag)
}

func (s *Service) seedLayer(rep *repository, l v1.Layer) error {
	if mt, err := l.MediaType(); err == nil && !mt.IsDistributable() {
		return nil
	}
	d, err := l.Digest()
	if err != nil {
		return err
	}
	if data, ok := s.content[d.String()]; ok {
		rep.blobs[d.String()] = int64(len(data))
		return nil
	}
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("reading layer %s: %w", d, err)
	}
	s.content[d.String()] = data
	rep.blobs[d.String()] = int64(len(data))
	return nil
}

func (s *Service) seedManifest(rep *repository, raw []byte, mt, tag string) (string, error) {
	img, p := s.storeManifest(rep, raw, mt, tag, "")
	if p != nil {
		return "", p
	}
	return img.digest, nil
}

// HasImage reports whether the image uri (host/repo:tag or host/repo@sha256:…) can be
// pulled, and its manifest digest (for a multi-platform image, the index's). The host
// may be this registry's, ECR's name for it, or any other registry, whose images
// exist only as seeded mirrors (SeedPublic).
func (s *Service) HasImage(uri string) (string, bool) {
	img := s.findImage(uri)
	if img == nil {
		return "", false
	}
	return img.digest, true
}

// ImagePlatforms returns the os/arch[/variant] platforms the image uri provides: those
// of an index's children, or nil for a single-platform image. ok is false when the
// image cannot be pulled.
func (s *Service) ImagePlatforms(uri string) (platforms []string, ok bool) {
	img := s.findImage(uri)
	if img == nil {
		return nil, false
	}
	return append([]string(nil), img.platforms...), true
}

// findImage resolves uri to a stored image, or nil. Images of other registries are
// looked up among the mirrors (MirrorRepository).
func (s *Service) findImage(uri string) *image {
	r, err := name.ParseReference(uri, name.Insecure)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	reg := r.Context().RegistryStr()
	repo := r.Context().RepositoryStr()
	if reg != s.hostLocked() && reg != s.ecrHost() {
		repo = reg + "/" + repo
	}
	return s.repos[repo].resolve(r.Identifier())
}
