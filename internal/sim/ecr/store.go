package ecr

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

// image is one manifest (image or index) stored in a repository.
type image struct {
	digest            string
	mediaType         string
	raw               []byte
	pushedAt          time.Time
	lastPull          time.Time
	size              int64    // imageSizeInBytes: the compressed layers, for an index those of its children
	artifactMediaType string   // the config's media type, for an image
	children          []string // child manifest digests, for an index
	platforms         []string // os/arch[/variant] of each child, for an index
	blobs             []string // config and layer digests, for an image
	scanned           bool     // pushed while scanOnPush was on: a basic scan ran
}

// manifestProblem says why a manifest was refused; the registry and PutImage each
// turn it into their own wire error.
type manifestProblem struct {
	kind   problemKind
	msg    string
	holder string // for problemImmutableTag: the digest that holds the tag
}

type problemKind int

const (
	problemInvalid      problemKind = iota // not a manifest the registry accepts
	problemBlobUnknown                     // refers to a blob or child manifest the repository lacks
	problemImmutableTag                    // moves a tag of an immutable repository
	problemTagInvalid                      // the tag is not a valid tag
	problemDigest                          // the digest in the reference does not match the bytes
)

func (p *manifestProblem) Error() string { return p.msg }

var tagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

// digestOf returns the sha256 digest of b as "sha256:hex".
func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

var digestRE = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)

// manifestDoc is the union of the fields of image manifests and indexes the registry
// reads.
type manifestDoc struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        *descriptor  `json:"config"`
	Layers        []descriptor `json:"layers"`
	Manifests     []descriptor `json:"manifests"`
}

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
	Platform  *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Variant      string `json:"variant"`
	} `json:"platform"`
}

// storeManifest validates raw against rep and stores it, tagged with tag when tag is
// not "". wantDigest, when not "", must be raw's digest. Callers hold s.mu.
func (s *Service) storeManifest(rep *repository, raw []byte, contentType, tag, wantDigest string) (*image, *manifestProblem) {
	if len(raw) == 0 {
		return nil, &manifestProblem{kind: problemInvalid, msg: "the manifest is empty"}
	}
	digest := digestOf(raw)
	if wantDigest != "" && wantDigest != digest {
		return nil, &manifestProblem{kind: problemDigest,
			msg: fmt.Sprintf("the manifest's digest is %s, not %s as requested", digest, wantDigest)}
	}
	if tag != "" && !tagRE.MatchString(tag) {
		return nil, &manifestProblem{kind: problemTagInvalid, msg: fmt.Sprintf("invalid tag %q", tag)}
	}
	var doc manifestDoc
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&doc); err != nil {
		return nil, &manifestProblem{kind: problemInvalid, msg: "parsing the manifest: " + err.Error()}
	}
	mt := contentType
	if !knownManifestType(mt) {
		mt = doc.MediaType
	}
	if mt == "" && doc.Config != nil {
		mt = string(types.OCIManifestSchema1) // OCI allows an image manifest without mediaType
	}
	if !knownManifestType(mt) {
		return nil, &manifestProblem{kind: problemInvalid,
			msg: fmt.Sprintf("unsupported manifest media type %q (Content-Type %q)", doc.MediaType, contentType)}
	}
	if doc.SchemaVersion != 2 {
		return nil, &manifestProblem{kind: problemInvalid, msg: fmt.Sprintf("schemaVersion is %d, want 2", doc.SchemaVersion)}
	}
	img := &image{digest: digest, mediaType: mt, raw: bytes.Clone(raw), pushedAt: s.now()}
	if types.MediaType(mt).IsIndex() {
		for _, d := range doc.Manifests {
			child := rep.images[d.Digest]
			if child == nil {
				return nil, &manifestProblem{kind: problemBlobUnknown,
					msg: fmt.Sprintf("the index refers to manifest %s, which is not in repository %s", d.Digest, rep.name)}
			}
			img.children = append(img.children, d.Digest)
			img.size += child.size
			if p := d.Platform; p != nil {
				pl := p.OS + "/" + p.Architecture
				if p.Variant != "" {
					pl += "/" + p.Variant
				}
				img.platforms = append(img.platforms, pl)
			}
		}
	} else {
		if doc.Config == nil {
			return nil, &manifestProblem{kind: problemInvalid, msg: "the image manifest has no config"}
		}
		img.artifactMediaType = doc.Config.MediaType
		for i, d := range append([]descriptor{*doc.Config}, doc.Layers...) {
			if i > 0 && !types.MediaType(d.MediaType).IsDistributable() {
				continue // foreign layers live elsewhere
			}
			if _, ok := rep.blobs[d.Digest]; !ok {
				return nil, &manifestProblem{kind: problemBlobUnknown,
					msg: fmt.Sprintf("blob %s is not in repository %s; upload or mount it before the manifest", d.Digest, rep.name)}
			}
			img.blobs = append(img.blobs, d.Digest)
			if i > 0 {
				img.size += d.Size
			}
		}
	}
	if tag != "" {
		if held, ok := rep.tags[tag]; ok && held != digest && rep.immutable() {
			return nil, &manifestProblem{kind: problemImmutableTag, holder: held,
				msg: fmt.Sprintf("The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable (the tag holds %s)", tag, rep.name, held)}
		}
	}
	if old := rep.images[digest]; old != nil {
		// Pushing the same manifest again keeps its history; ECR does not reset
		// imagePushedAt when a tag is added to an existing image.
		img = old
	} else {
		// Basic scanning looks at images, not at indexes.
		img.scanned = rep.scanOnPush && img.children == nil && !types.MediaType(mt).IsIndex()
		rep.images[digest] = img
	}
	if tag != "" {
		rep.tags[tag] = digest
	}
	return img, nil
}

func knownManifestType(mt string) bool {
	switch types.MediaType(mt) {
	case types.DockerManifestSchema2, types.DockerManifestList, types.OCIManifestSchema1, types.OCIImageIndex:
		return true
	}
	return false
}

// resolve finds an image by tag or digest; a nil repository (deleted while a request
// was on its way) has none. Callers hold s.mu.
func (rep *repository) resolve(ref string) *image {
	if rep == nil {
		return nil
	}
	if d, ok := rep.tags[ref]; ok {
		return rep.images[d]
	}
	return rep.images[ref]
}

// tagsOf returns the tags pointing at digest, sorted.
func (rep *repository) tagsOf(digest string) []string {
	var tags []string
	for t, d := range rep.tags {
		if d == digest {
			tags = append(tags, t)
		}
	}
	sort.Strings(tags)
	return tags
}

// parentsOf returns the digests of the indexes in rep that list digest, sorted.
func (rep *repository) parentsOf(digest string) []string {
	var parents []string
	for d, img := range rep.images {
		for _, c := range img.children {
			if c == digest {
				parents = append(parents, d)
				break
			}
		}
	}
	sort.Strings(parents)
	return parents
}

// deleteImage removes an image and its tags. Callers hold s.mu.
func (rep *repository) deleteImage(digest string) {
	for t, d := range rep.tags {
		if d == digest {
			delete(rep.tags, t)
		}
	}
	delete(rep.images, digest)
}

// sortedImages returns rep's images, oldest push first, then by digest.
func (rep *repository) sortedImages() []*image {
	imgs := make([]*image, 0, len(rep.images))
	for _, img := range rep.images {
		imgs = append(imgs, img)
	}
	sort.Slice(imgs, func(i, j int) bool {
		if !imgs[i].pushedAt.Equal(imgs[j].pushedAt) {
			return imgs[i].pushedAt.Before(imgs[j].pushedAt)
		}
		return imgs[i].digest < imgs[j].digest
	})
	return imgs
}
