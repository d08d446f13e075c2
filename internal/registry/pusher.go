package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"
)

// Job is one image to push: Ref is repository:tag, or a bare repository to
// push by digest only.
type Job struct {
	Name  string
	Ref   name.Reference
	Image remote.Taggable
}

// Result is what a push did, for people (the text line) and for reports (JSON).
type Result struct {
	Name       string `json:"name"`
	Repository string `json:"repository"` // host/repository
	Tag        string `json:"tag,omitempty"`
	Digest     string `json:"digest"`    // sha256:…
	Reference  string `json:"reference"` // host/repository@sha256:…, what a task definition should use
	Blobs      int    `json:"blobsUploaded"`
	Bytes      int64  `json:"bytesUploaded"`
	Mounted    int    `json:"blobsMounted"`
	Created    bool   `json:"repositoryCreated,omitempty"`
}

// String is the line `pier push` prints.
func (r *Result) String() string {
	return fmt.Sprintf("%s %s (%d blobs, %d bytes uploaded)", r.Name, r.Reference, r.Blobs, r.Bytes)
}

// Event reports progress: Phase is "push" when an image starts, "upload"
// every progress interval while it uploads (Result holds the counts so far),
// and "done" (with Result) or "failed" (with Err) when it ends.
type Event struct {
	Name   string
	Phase  string
	Result *Result
	Err    error
}

// Option configures NewPusher.
type Option func(*options) error

type options struct {
	ecr       ECRAPI
	keychain  authn.Keychain
	kcOpts    []KeychainOption
	transport http.RoundTripper
	jobs      int
	create    bool
	ecrHosts  map[string]bool
	progress  func(Event)
	interval  time.Duration
}

// WithECR sets the ECR API used for authorization tokens and repositories.
// Without it, ECR registries are treated like any other registry.
func WithECR(api ECRAPI) Option { return func(o *options) error { o.ecr = api; return nil } }

// WithKeychain replaces the credentials entirely (default: an ECRKeychain
// over WithECR's API, falling back to the Docker config).
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) error { o.keychain = k; return nil }
}

// WithKeychainOptions passes options (token observer, fallback) to the
// default ECR keychain.
func WithKeychainOptions(opts ...KeychainOption) Option {
	return func(o *options) error { o.kcOpts = append(o.kcOpts, opts...); return nil }
}

// WithTransport sets the HTTP transport (default remote.DefaultTransport).
func WithTransport(t http.RoundTripper) Option {
	return func(o *options) error { o.transport = t; return nil }
}

// WithJobs sets how many blobs one image uploads at once (default 4).
func WithJobs(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("jobs must be at least 1, not %d", n)
		}
		o.jobs = n
		return nil
	}
}

// WithCreateRepositories creates missing ECR repositories (pier.yaml's createRepositories).
func WithCreateRepositories(create bool) Option {
	return func(o *options) error { o.create = create; return nil }
}

// WithRegistryHost treats host as an ECR registry: tokens from WithECR's API
// and repositories ensured. For the sandbox, whose registry is 127.0.0.1:PORT.
func WithRegistryHost(host string) Option {
	return func(o *options) error {
		o.ecrHosts[host] = true
		o.kcOpts = append(o.kcOpts, WithECRHost(host))
		return nil
	}
}

// WithProgress receives an Event as each image starts and ends, and every
// interval (when positive) while it uploads. Calls never overlap.
func WithProgress(f func(Event), interval time.Duration) Option {
	return func(o *options) error { o.progress, o.interval = f, interval; return nil }
}

// Pusher pushes the images of one run through one go-containerregistry
// pusher: a blob the registry has is skipped after a HEAD, a base layer from
// the same registry is mounted, a blob shared by several images is uploaded
// once. It is safe for concurrent use.
type Pusher struct {
	o  *options
	rp *remote.Pusher
	kc authn.Keychain

	mu      sync.Mutex
	ensured map[string]*ensureOnce

	progressMu sync.Mutex // serializes calls of o.progress
}

type ensureOnce struct {
	once sync.Once
	info repoInfo
	err  error
}

// NewPusher returns a pusher for one run.
func NewPusher(opts ...Option) (*Pusher, error) {
	o := &options{jobs: 4, transport: remote.DefaultTransport, ecrHosts: map[string]bool{}}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	kc := o.keychain
	if kc == nil {
		kc = authn.DefaultKeychain
		if o.ecr != nil {
			kc = NewECRKeychain(o.ecr, o.kcOpts...)
		}
	}
	rp, err := remote.NewPusher(remote.WithAuthFromKeychain(kc), remote.WithTransport(&countingTransport{inner: o.transport}),
		remote.WithJobs(o.jobs), remote.WithUserAgent("pier"))
	if err != nil {
		return nil, err
	}
	return &Pusher{o: o, rp: rp, kc: kc, ensured: map[string]*ensureOnce{}}, nil
}

// Keychain is the pusher's credentials, to read base images with the same ones.
func (p *Pusher) Keychain() authn.Keychain { return p.kc }

// isECR: a host is ECR when it looks like one, was declared one, or is the
// proxy endpoint ECR itself named for the caller's registry (an ECR behind
// AWS_ENDPOINT_URL_ECR, such as `pier sandbox`, has no ECR-looking name).
func (p *Pusher) isECR(host string) bool {
	if p.o.ecr == nil {
		return false
	}
	if p.o.ecrHosts[host] || IsECRHost(host) {
		return true
	}
	kc, ok := p.kc.(*ECRKeychain)
	return ok && kc.isECR(host)
}

// ensure checks (and maybe creates) each ECR repository once per run.
func (p *Pusher) ensure(ctx context.Context, repo name.Repository) (repoInfo, error) {
	if !p.isECR(repo.RegistryStr()) {
		return repoInfo{}, nil
	}
	p.mu.Lock()
	e := p.ensured[repo.String()]
	if e == nil {
		e = &ensureOnce{}
		p.ensured[repo.String()] = e
	}
	p.mu.Unlock()
	e.once.Do(func() { e.info, e.err = ensureRepository(ctx, p.o.ecr, repo, p.o.create) })
	return e.info, e.err
}

// Push pushes one image.
func (p *Pusher) Push(ctx context.Context, job Job) (*Result, error) {
	return p.push(ctx, job, nil, &tally{})
}

// PushAll pushes jobs concurrently and returns their results in job order.
// Blobs needed by several repositories of one registry are uploaded to the
// first and mounted into the others. Every job runs even if one fails; the
// error joins all failures, and the results of failed jobs are nil.
func (p *Pusher) PushAll(ctx context.Context, jobs []Job) ([]*Result, error) {
	results := make([]*Result, len(jobs))
	errs := make([]error, len(jobs))
	tallies := make([]*tally, len(jobs))
	for i, j := range jobs {
		tallies[i] = &tally{}
		if _, err := p.ensure(ctx, j.Ref.Context()); err != nil {
			errs[i] = fmt.Errorf("pushing %s: %w", j.Name, err)
		}
	}
	hints := p.seedShared(ctx, jobs, tallies, errs)
	var g errgroup.Group
	g.SetLimit(4)
	for i, j := range jobs {
		if errs[i] != nil {
			continue
		}
		g.Go(func() error {
			results[i], errs[i] = p.push(ctx, j, hints, tallies[i])
			return nil
		})
	}
	_ = g.Wait()
	return results, errors.Join(errs...)
}

type tallyKey struct{}

// tally counts one image's uploads; the transport finds it in the request context.
type tally struct {
	blobs, mounted atomic.Int64
	bytes          atomic.Int64
}

func (p *Pusher) push(ctx context.Context, job Job, hints map[string]name.Repository, t *tally) (*Result, error) {
	p.report(Event{Name: job.Name, Phase: "push"})
	stop := p.ticker(job.Name, t)
	res, err := p.pushOne(ctx, job, hints, t)
	stop()
	if err != nil {
		p.report(Event{Name: job.Name, Phase: "failed", Err: err})
	} else {
		p.report(Event{Name: job.Name, Phase: "done", Result: res})
	}
	return res, err
}

func (p *Pusher) report(e Event) {
	if p.o.progress == nil {
		return
	}
	p.progressMu.Lock()
	defer p.progressMu.Unlock()
	p.o.progress(e)
}

// ticker reports an image's upload counts every interval until stopped.
func (p *Pusher) ticker(name string, t *tally) (stop func()) {
	if p.o.progress == nil || p.o.interval <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(p.o.interval)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
				p.report(Event{Name: name, Phase: "upload", Result: &Result{Name: name, Blobs: int(t.blobs.Load()), Bytes: t.bytes.Load(), Mounted: int(t.mounted.Load())}})
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func (p *Pusher) pushOne(ctx context.Context, job Job, hints map[string]name.Repository, t *tally) (*Result, error) {
	repo := job.Ref.Context()
	digest, err := partial.Digest(job.Image)
	if err != nil {
		return nil, fmt.Errorf("pushing %s: computing its digest: %w", job.Name, err)
	}
	res := &Result{Name: job.Name, Repository: repo.Name(), Digest: digest.String(), Reference: repo.Digest(digest.String()).String()}
	tag, byTag := job.Ref.(name.Tag)
	if byTag {
		res.Tag = tag.TagStr()
	}
	info, err := p.ensure(ctx, repo)
	if err != nil {
		return nil, fmt.Errorf("pushing %s: %w", job.Name, err)
	}
	res.Created = info.created
	if byTag && info.immutable {
		// Fail before uploading anything when the tag is already taken.
		if err := p.checkTag(ctx, tag, digest); err != nil {
			return nil, fmt.Errorf("pushing %s: %w", job.Name, err)
		}
	}
	ctx = context.WithValue(ctx, tallyKey{}, t)
	err = p.rp.Push(ctx, job.Ref, withMountHints(job.Image, hints, repo))
	if err != nil && byTag && isTagInvalid(err) {
		if cerr := p.checkTag(ctx, tag, digest); cerr != nil {
			err = cerr
		} else {
			err = nil // the tag already holds this very image
		}
	}
	if err != nil {
		return nil, fmt.Errorf("pushing %s to %s: %w", job.Name, job.Ref, err)
	}
	res.Blobs, res.Bytes, res.Mounted = int(t.blobs.Load()), t.bytes.Load(), int(t.mounted.Load())
	return res, nil
}

// checkTag fails when tag (in an immutable repository) holds another digest.
func (p *Pusher) checkTag(ctx context.Context, tag name.Tag, want v1.Hash) error {
	d, err := remote.Head(tag, remote.WithContext(ctx), remote.WithAuthFromKeychain(p.kc), remote.WithTransport(p.o.transport))
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking tag %s: %w", tag, err)
	}
	if d.Digest != want {
		return fmt.Errorf("tag %q of %s already holds %s and the repository's tags are immutable; this build is %s — use a new tag (e.g. the commit SHA) or delete the old image",
			tag.TagStr(), tag.Context(), d.Digest, want)
	}
	return nil
}

func isTagInvalid(err error) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	for _, d := range terr.Errors {
		if d.Code == "TAG_INVALID" {
			return true
		}
	}
	return strings.Contains(terr.Error(), "TAG_INVALID")
}

// countingTransport attributes uploads to the image whose push made them.
type countingTransport struct{ inner http.RoundTripper }

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t, _ := req.Context().Value(tallyKey{}).(*tally)
	if t == nil {
		return c.inner.RoundTrip(req)
	}
	upload := strings.Contains(req.URL.Path, "/blobs/uploads/")
	if upload && (req.Method == http.MethodPatch || req.Method == http.MethodPut) && req.Body != nil && req.Body != http.NoBody {
		req = req.Clone(req.Context())
		req.Body = &countingBody{ReadCloser: req.Body, n: &t.bytes}
	}
	resp, err := c.inner.RoundTrip(req)
	if err != nil || !upload || resp.StatusCode != http.StatusCreated {
		return resp, err
	}
	switch {
	case req.Method == http.MethodPut:
		t.blobs.Add(1)
	case req.Method == http.MethodPost && req.URL.Query().Get("mount") != "":
		t.mounted.Add(1)
	}
	return resp, nil
}
