// Package registrytest runs go-containerregistry's in-memory registry on
// 127.0.0.1 for tests, counting what clients upload, and writes small
// deterministic base images into it. Optionally it behaves like an ECR
// repository with immutable tags (TAG_INVALID on overwriting a tag).
package registrytest

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Counts is what clients did to the registry, seen from the server side.
type Counts struct {
	BlobUploads  int      // blob uploads completed (PUT …/blobs/uploads/…?digest= answered 201)
	BlobBytes    int64    // request body bytes of PATCH and PUT on uploads
	Mounts       int      // cross-repository mounts that succeeded (POST ?mount= answered 201)
	MountTries   int      // POSTs that asked for a mount
	Manifests    int      // manifests written (PUT …/manifests/… answered 201)
	ManifestHead int      // HEAD requests on manifests (tag resolutions)
	ManifestGets int      // GET requests on manifests
	BlobGets     int      // GET requests on blobs (downloads)
	UploadedRepo []string // "repo@digest" of each uploaded blob, in order
}

// Server is a running test registry.
type Server struct {
	*httptest.Server
	Host string // 127.0.0.1:PORT

	inner     http.Handler
	immutable bool

	mu     sync.Mutex
	counts Counts
}

// Option configures New.
type Option func(*Server)

// Immutable makes every repository refuse to move an existing tag, like an
// ECR repository with imageTagMutability IMMUTABLE.
func Immutable() Option { return func(s *Server) { s.immutable = true } }

// New starts a registry and stops it when the test ends.
func New(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	return start(tb, ggcrregistry.New(ggcrregistry.Logger(nopLogger())), opts)
}

// start serves inner behind a counting Server on 127.0.0.1 until the test ends.
func start(tb testing.TB, inner http.Handler, opts []Option) *Server {
	s := &Server{inner: inner}
	for _, o := range opts {
		o(s)
	}
	s.Server = httptest.NewServer(s)
	s.Host = strings.TrimPrefix(s.URL, "http://")
	tb.Cleanup(s.Close)
	return s
}

// Counts returns a snapshot of the counters.
func (s *Server) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counts
	c.UploadedRepo = append([]string(nil), c.UploadedRepo...)
	return c
}

// Reset zeroes the counters.
func (s *Server) Reset() {
	s.mu.Lock()
	s.counts = Counts{}
	s.mu.Unlock()
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

type countingBody struct {
	io.ReadCloser
	n *int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	*b.n += int64(n)
	return n, err
}

// ServeHTTP counts the request and passes it to the registry.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	isUpload := strings.Contains(path, "/blobs/uploads/")
	isManifest := strings.Contains(path, "/manifests/")
	if s.immutable && isManifest && r.Method == http.MethodPut && s.refuseTag(w, r) {
		return
	}
	var body int64
	if isUpload && (r.Method == http.MethodPatch || r.Method == http.MethodPut) && r.Body != nil {
		r.Body = &countingBody{ReadCloser: r.Body, n: &body}
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	s.inner.ServeHTTP(sw, r)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.BlobBytes += body
	switch {
	case isUpload && r.Method == http.MethodPost && r.URL.Query().Get("mount") != "":
		s.counts.MountTries++
		if sw.status == http.StatusCreated {
			s.counts.Mounts++
		}
	case isUpload && r.Method == http.MethodPut && sw.status == http.StatusCreated:
		s.counts.BlobUploads++
		repo := strings.TrimPrefix(path[:strings.Index(path, "/blobs/")], "/v2/")
		s.counts.UploadedRepo = append(s.counts.UploadedRepo, repo+"@"+r.URL.Query().Get("digest"))
	case isManifest && r.Method == http.MethodPut && sw.status == http.StatusCreated:
		s.counts.Manifests++
	case isManifest && r.Method == http.MethodHead:
		s.counts.ManifestHead++
	case isManifest && r.Method == http.MethodGet:
		s.counts.ManifestGets++
	case strings.Contains(path, "/blobs/") && !isUpload && r.Method == http.MethodGet:
		s.counts.BlobGets++
	}
}

// refuseTag answers TAG_INVALID, as ECR does, when a PUT would move an
// existing tag to a different manifest.
func (s *Server) refuseTag(w http.ResponseWriter, r *http.Request) bool {
	i := strings.Index(r.URL.Path, "/manifests/")
	ref := r.URL.Path[i+len("/manifests/"):]
	if strings.HasPrefix(ref, "sha256:") {
		return false
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return true
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	sum := sha256.Sum256(data)
	head := httptest.NewRecorder()
	hr := httptest.NewRequest(http.MethodHead, r.URL.Path, nil)
	hr.Header.Set("Accept", strings.Join([]string{string(types.OCIManifestSchema1), string(types.OCIImageIndex),
		string(types.DockerManifestSchema2), string(types.DockerManifestList)}, ","))
	s.inner.ServeHTTP(head, hr)
	existing := head.Header().Get("Docker-Content-Digest")
	if head.Code != http.StatusOK || existing == "sha256:"+hex.EncodeToString(sum[:]) {
		return false
	}
	repo := strings.TrimPrefix(r.URL.Path[:i], "/v2/")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, `{"errors":[{"code":"TAG_INVALID","message":"The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable."}]}`, ref, repo)
	return true
}

// Layer returns a deterministic gzip layer holding one file of size seeded
// pseudo-random bytes at path.
func Layer(tb testing.TB, path string, size int, seed uint64) v1.Layer {
	tb.Helper()
	data := make([]byte, size+8)
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := 0; i+8 <= len(data); i += 8 {
		binary.LittleEndian.PutUint64(data[i:], rng.Uint64())
	}
	data = data[:size]
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Name: path, Mode: 0o644, Size: int64(size), Typeflag: tar.TypeReg}); err != nil {
		tb.Fatal(err)
	}
	if _, err := tw.Write(data); err != nil {
		tb.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	tarBytes := b.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tarBytes)), nil })
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// BaseImage returns a small Docker-schema image for plat with two layers,
// an entrypoint, a command and an env, deterministic for a given seed.
func BaseImage(tb testing.TB, plat v1.Platform, seed uint64) v1.Image {
	tb.Helper()
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.DockerManifestSchema2),
		Layer(tb, "usr/lib/base-"+plat.Architecture+".so", 4096, seed), Layer(tb, "etc/base-release", 512, seed+1))
	if err != nil {
		tb.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		tb.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = plat.OS, plat.Architecture, plat.Variant
	cf.Config.Entrypoint = []string{"/docker-entrypoint.sh"}
	cf.Config.Cmd = []string{"nginx", "-g", "daemon off;"} // an nginx-like command: builders keep it or replace it on purpose
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

// PushBase writes a base image for each platform under ref (an index when
// there are several) and returns the reference string.
func (s *Server) PushBase(tb testing.TB, repoTag string, platforms ...string) string {
	tb.Helper()
	ref, err := name.ParseReference(s.Host + "/" + repoTag)
	if err != nil {
		tb.Fatal(err)
	}
	if len(platforms) == 0 {
		platforms = []string{"linux/amd64"}
	}
	var adds []mutate.IndexAddendum
	for i, p := range platforms {
		plat, err := v1.ParsePlatform(p)
		if err != nil {
			tb.Fatal(err)
		}
		img := BaseImage(tb, *plat, uint64(100*i+1))
		if len(platforms) == 1 {
			if err := remote.Write(ref, img); err != nil {
				tb.Fatal(err)
			}
			return ref.String()
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: plat}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.DockerManifestList), adds...)
	if err := remote.WriteIndex(ref, idx); err != nil {
		tb.Fatal(err)
	}
	return ref.String()
}

func nopLogger() *log.Logger { return log.New(io.Discard, "", 0) }
