package ecr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"sort"
	"strconv"
	"strings"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// maxManifestSize is the largest manifest ECR accepts (4 MiB).
const maxManifestSize = 4 << 20

// Registry returns the OCI distribution handler to mount at /v2/.
func (s *Service) Registry() http.Handler { return s.registry }

// newRegistry wraps go-containerregistry's registry, which handles blob uploads and
// downloads, with ECR's rules; manifests and tags are served from the Service's
// store so the control plane sees every push.
func (s *Service) newRegistry() http.Handler {
	inner := ggcrregistry.New(
		ggcrregistry.Logger(log.New(io.Discard, "", 0)),
		ggcrregistry.WithBlobHandler(&blobStore{s: s}),
	)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serveRegistry(w, r, inner)
	})
}

// route is a parsed /v2/ path.
type route struct {
	kind string // "ping", "catalog", "manifest", "blob", "upload-start", "upload", "tags"
	name string // repository
	ref  string // tag, digest or upload id
}

func parseRoute(path string) (route, bool) {
	if path == "/v2" || path == "/v2/" {
		return route{kind: "ping"}, true
	}
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return route{}, false
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "_catalog" {
		return route{kind: "catalog"}, true
	}
	el := strings.Split(rest, "/")
	n := len(el)
	for _, e := range el {
		if e == "" {
			return route{}, false // no repository name or reference has an empty part
		}
	}
	name := func(k int) string { return strings.Join(el[:n-k], "/") }
	switch {
	case n >= 4 && el[n-3] == "blobs" && el[n-2] == "uploads":
		return route{kind: "upload", name: name(3), ref: el[n-1]}, true
	case n >= 3 && el[n-2] == "blobs" && el[n-1] == "uploads":
		return route{kind: "upload-start", name: name(2)}, true
	case n >= 3 && el[n-2] == "blobs":
		return route{kind: "blob", name: name(2), ref: el[n-1]}, true
	case n >= 3 && el[n-2] == "manifests":
		return route{kind: "manifest", name: name(2), ref: el[n-1]}, true
	case n >= 3 && el[n-2] == "tags" && el[n-1] == "list":
		return route{kind: "tags", name: name(2)}, true
	}
	return route{}, false
}

// regError writes an OCI distribution error reply.
func regError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]string{{"code": code, "message": msg}},
	})
}

type repoKey struct{}

func (s *Service) serveRegistry(w http.ResponseWriter, r *http.Request, inner http.Handler) {
	w.Header().Set("Docker-Distribution-Api-Version", "registry/2.0")
	rt, ok := parseRoute(r.URL.Path)
	if !ok {
		regError(w, http.StatusNotFound, "NAME_INVALID", fmt.Sprintf("invalid registry path %q", r.URL.Path))
		return
	}
	state := s.authenticate(r)
	if state != authOK && !s.anonymousRead(r, rt) {
		s.challenge(w, state)
		return
	}
	switch rt.kind {
	case "ping":
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = io.WriteString(w, "{}")
		return
	case "catalog":
		s.serveCatalog(w)
		return
	}
	s.mu.Lock()
	rep := s.repos[rt.name]
	s.mu.Unlock()
	if rep == nil {
		s.nameUnknown(w, rt.name)
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), repoKey{}, rt.name))
	switch rt.kind {
	case "manifest":
		s.serveManifest(w, r, rt)
	case "tags":
		s.serveTags(w, r, rt)
	case "blob":
		switch r.Method {
		case http.MethodHead:
			s.count(rt.name, func(c *Counters) { c.BlobHeads++ })
		case http.MethodGet:
			s.count(rt.name, func(c *Counters) { c.BlobGets++ })
		case http.MethodDelete:
			regError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "ECR does not delete blobs through the registry API")
			return
		}
		inner.ServeHTTP(w, r)
	case "upload-start":
		if r.Method == http.MethodPost && s.mount(w, r, rt) {
			return
		}
		inner.ServeHTTP(w, r)
	default:
		inner.ServeHTTP(w, r)
	}
}

// nameUnknown answers for a repository that was not created (or was just deleted).
func (s *Service) nameUnknown(w http.ResponseWriter, name string) {
	regError(w, http.StatusNotFound, "NAME_UNKNOWN",
		fmt.Sprintf("The repository with name '%s' does not exist in the registry with id '%s'", name, s.account))
}

// anonymousRead allows pulls from mirrors of public repositories without credentials,
// as Docker Hub does.
func (s *Service) anonymousRead(r *http.Request, rt route) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	switch rt.kind {
	case "manifest", "blob", "tags":
	default:
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rep := s.repos[rt.name]
	return rep != nil && rep.mirror
}

func (s *Service) challenge(w http.ResponseWriter, state authState) {
	if state == authExpired {
		regError(w, http.StatusForbidden, "DENIED", "Your authorization token has expired. Reauthenticate and try again.")
		return
	}
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Basic realm="http://%s/",service="ecr.amazonaws.com"`, s.RegistryHost()))
	regError(w, http.StatusUnauthorized, "UNAUTHORIZED",
		"Not Authorized: use HTTP basic auth with user AWS and a password from ecr:GetAuthorizationToken")
}

// mount makes a blob of another repository visible in rt.name without an upload.
// It reports false when it cannot, and the caller starts an ordinary upload session,
// which is what clients expect from a registry that declines a mount.
func (s *Service) mount(w http.ResponseWriter, r *http.Request, rt route) bool {
	q := r.URL.Query()
	digest, from := q.Get("mount"), q.Get("from")
	if digest == "" || from == "" {
		return false
	}
	s.mu.Lock()
	src, dst := s.repos[from], s.repos[rt.name]
	size, ok := int64(0), false
	if s.mountsOn && src != nil && dst != nil {
		size, ok = src.blobs[digest]
		if _, stored := s.content[digest]; !stored {
			ok = false
		}
	}
	if ok {
		dst.blobs[digest] = size
	}
	s.mu.Unlock()
	if !ok {
		return false
	}
	s.count(rt.name, func(c *Counters) { c.Mounts++ })
	w.Header().Set("Location", "/v2/"+rt.name+"/blobs/"+digest)
	w.Header().Set("Docker-Content-Digest", digest)
	w.WriteHeader(http.StatusCreated)
	return true
}

func (s *Service) serveManifest(w http.ResponseWriter, r *http.Request, rt route) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.mu.Lock()
		img := s.repos[rt.name].resolve(rt.ref)
		if img != nil && r.Method == http.MethodGet {
			img.lastPull = s.now()
		}
		s.mu.Unlock()
		if r.Method == http.MethodHead {
			s.count(rt.name, func(c *Counters) { c.ManifestHeads++ })
		} else {
			s.count(rt.name, func(c *Counters) { c.ManifestGets++ })
		}
		if img == nil {
			regError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "Requested image not found")
			return
		}
		w.Header().Set("Content-Type", img.mediaType)
		w.Header().Set("Docker-Content-Digest", img.digest)
		w.Header().Set("Content-Length", strconv.Itoa(len(img.raw)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(img.raw)
		}
	case http.MethodPut:
		body, err := io.ReadAll(io.LimitReader(r.Body, maxManifestSize+1))
		if err != nil {
			regError(w, http.StatusBadRequest, "MANIFEST_INVALID", "reading the manifest: "+err.Error())
			return
		}
		if len(body) > maxManifestSize {
			regError(w, http.StatusBadRequest, "MANIFEST_INVALID", "the manifest is larger than 4 MiB")
			return
		}
		tag, want := rt.ref, ""
		if strings.Contains(rt.ref, ":") {
			tag, want = "", rt.ref
		}
		s.mu.Lock()
		rep := s.repos[rt.name]
		var img *image
		var p *manifestProblem
		if rep != nil {
			img, p = s.storeManifest(rep, body, r.Header.Get("Content-Type"), tag, want)
		}
		s.mu.Unlock()
		if rep == nil {
			s.nameUnknown(w, rt.name)
			return
		}
		if p != nil {
			code := map[problemKind]string{
				problemInvalid:      "MANIFEST_INVALID",
				problemBlobUnknown:  "MANIFEST_BLOB_UNKNOWN",
				problemImmutableTag: "TAG_INVALID",
				problemTagInvalid:   "TAG_INVALID",
				problemDigest:       "DIGEST_INVALID",
			}[p.kind]
			regError(w, http.StatusBadRequest, code, p.msg)
			return
		}
		s.count(rt.name, func(c *Counters) { c.ManifestPuts++ })
		w.Header().Set("Location", "/v2/"+rt.name+"/manifests/"+img.digest)
		w.Header().Set("Docker-Content-Digest", img.digest)
		w.WriteHeader(http.StatusCreated)
	case http.MethodDelete:
		s.mu.Lock()
		rep := s.repos[rt.name]
		img := rep.resolve(rt.ref)
		switch {
		case rep == nil:
		case img == nil:
		case strings.Contains(rt.ref, ":"):
			rep.deleteImage(img.digest)
		default:
			delete(rep.tags, rt.ref)
		}
		s.mu.Unlock()
		if img == nil {
			regError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "Requested image not found")
			return
		}
		w.WriteHeader(http.StatusAccepted)
	default:
		regError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", r.Method+" is not supported on manifests")
	}
}

func (s *Service) serveTags(w http.ResponseWriter, r *http.Request, rt route) {
	s.mu.Lock()
	rep := s.repos[rt.name]
	var tags []string
	if rep != nil {
		for t := range rep.tags {
			tags = append(tags, t)
		}
	}
	s.mu.Unlock()
	if rep == nil {
		s.nameUnknown(w, rt.name)
		return
	}
	sort.Strings(tags)
	if last := r.URL.Query().Get("last"); last != "" {
		i := sort.SearchStrings(tags, last)
		for i < len(tags) && tags[i] <= last {
			i++
		}
		tags = tags[i:]
	}
	if ns := r.URL.Query().Get("n"); ns != "" {
		n, err := strconv.Atoi(ns)
		if err != nil || n < 0 {
			regError(w, http.StatusBadRequest, "PAGINATION_NUMBER_INVALID", fmt.Sprintf("invalid n=%q", ns))
			return
		}
		tags = tags[:min(n, len(tags))]
	}
	if tags == nil {
		tags = []string{}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"name": rt.name, "tags": tags})
}

func (s *Service) serveCatalog(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"repositories": s.Repositories()})
}

// blobStore is the registry's BlobHandler: content is shared by digest, visibility
// is per repository, and completed uploads are counted.
type blobStore struct{ s *Service }

func (b *blobStore) lookup(ctx context.Context, h v1.Hash) ([]byte, error) {
	name, _ := ctx.Value(repoKey{}).(string)
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	rep := b.s.repos[name]
	if rep == nil {
		return nil, ggcrregistry.ErrNotFound
	}
	if _, ok := rep.blobs[h.String()]; !ok {
		return nil, ggcrregistry.ErrNotFound
	}
	data, ok := b.s.content[h.String()]
	if !ok {
		return nil, ggcrregistry.ErrNotFound
	}
	return data, nil
}

// Stat implements ggcr's BlobStatHandler.
func (b *blobStore) Stat(ctx context.Context, _ string, h v1.Hash) (int64, error) {
	data, err := b.lookup(ctx, h)
	return int64(len(data)), err
}

// Get implements ggcr's BlobHandler.
func (b *blobStore) Get(ctx context.Context, _ string, h v1.Hash) (io.ReadCloser, error) {
	data, err := b.lookup(ctx, h)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// Put implements ggcr's BlobPutHandler; rc verifies the digest as it is read.
func (b *blobStore) Put(ctx context.Context, _ string, h v1.Hash, rc io.ReadCloser) error {
	defer rc.Close()
	name, _ := ctx.Value(repoKey{}).(string)
	data, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	b.s.mu.Lock()
	rep := b.s.repos[name]
	if rep == nil {
		b.s.mu.Unlock()
		return errors.New("the repository was deleted during the upload")
	}
	if old, ok := b.s.content[h.String()]; ok {
		data = old // keep one copy of identical content
	}
	b.s.content[h.String()] = data
	rep.blobs[h.String()] = int64(len(data))
	b.s.mu.Unlock()
	b.s.count(name, func(c *Counters) {
		c.BlobUploads++
		c.BlobBytes += int64(len(data))
	})
	return nil
}
