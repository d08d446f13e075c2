package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/ghaction"
	"github.com/pier-deploy/pier/internal/image"
	"github.com/pier-deploy/pier/internal/registry"
	"github.com/pier-deploy/pier/internal/target"
)

func init() {
	register(&command{
		name:  "build",
		usage: "[image…]",
		short: "build images into the local cache and print their digests",
		long: `Builds the images of pier.yaml (all, or the ones named) without a Docker daemon and
prints each image's digest; nothing is pushed. Layers go to the build cache ($PIER_CACHE,
else pier/ under the user cache directory), so a later push or build reuses them. Builds are
reproducible: files and the image config carry SOURCE_DATE_EPOCH (default 0).

Base images are read with the Docker config's credentials, and with an ECR token (from the
usual AWS credentials) for bases in ECR. With --sandbox they come from the stand-ins of a
private simulator instead: no internet, no AWS account.

With --tarball FILE, the images are also written to FILE as one archive for
` + "`docker load`" + `, each tagged REGISTRY/REPOSITORY:TAG as push would push it (without
registry: in pier.yaml, REPOSITORY:TAG; without tag:, :latest). docker load takes images, not
indexes: of an image built for several platforms the archive holds the one for this machine's
linux/ARCH. The image ID docker load reports is the config digest printed for it.

Prints NAME sha256:… per image; with --output json, {"images": [{name, repository, digest,
mediaType, layers: [{comment, digest, size, cached}]}]} and, with --tarball,
"tarball": {path, images: [{name, reference, platform, imageID}]}. Progress goes to stderr.`,
		flags: func(fs *flag.FlagSet, env *Env) func(context.Context, []string) int {
			sb := bindSandbox(fs)
			tarballPath := fs.String("tarball", "", "also write the images to `FILE`, an archive for docker load")
			return func(ctx context.Context, args []string) int { return runBuild(ctx, env, sb, *tarballPath, args) }
		},
	})
}

func runBuild(ctx context.Context, env *Env, sb *sandboxFlags, tarballPath string, args []string) int {
	run, closeRun, code := startImageRun(ctx, env, "build", sb, args)
	if code != ExitOK {
		return code
	}
	defer closeRun()
	arts, err := run.build(ctx, args)
	if err != nil {
		fmt.Fprintf(env.Stderr, "pier build: %v\n", err)
		return ExitFailed
	}
	var loaded *tarballJSON
	if tarballPath != "" {
		if loaded, err = writeTarball(env, run.file, arts, tarballPath); err != nil {
			fmt.Fprintf(env.Stderr, "pier build: %v\n", err)
			return ExitFailed
		}
	}
	if env.Output == "json" {
		out := map[string]any{"images": builtJSON(arts)}
		if loaded != nil {
			out["tarball"] = loaded
		}
		return printImagesJSON(env, "build", out)
	}
	for _, a := range arts {
		fmt.Fprintf(env.Stdout, "%s %s\n", a.Name, a.Digest)
	}
	return ExitOK
}

// startImageRun checks what build and push are given (the file, the image
// names, SOURCE_DATE_EPOCH) before anything starts, then makes the run; with
// --sandbox it points the run at a fresh sandbox (bases from its stand-ins,
// pushes to its registry). Without the flag it opens nothing: AWS is
// configured lazily, only if an ECR registry is used, so a build on public
// bases needs no credentials.
func startImageRun(ctx context.Context, env *Env, cmd string, sb *sandboxFlags, names []string) (run *imageRun, closeFn func(), code int) {
	if code := sb.check(env, cmd); code != ExitOK {
		return nil, nil, code
	}
	f, err := config.Load(env.File, env.Getenv)
	if err != nil {
		printInputError(env, cmd, err)
		return nil, nil, ExitUsage
	}
	if _, err = image.Select(f, names); err == nil {
		_, err = image.SourceDateEpoch(env.Getenv)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "pier %s: %v\n", cmd, err)
		return nil, nil, ExitUsage
	}
	run = newImageRun(env, f)
	if !target.Wanted(sb.options(env)) {
		return run, func() {}, ExitOK
	}
	t, err := sb.open(ctx, env, f)
	if err != nil {
		return nil, nil, openFailed(env, cmd, err)
	}
	run.use(t.Images)
	return run, t.Close, ExitOK
}

// imageRun is what build, push and deploy share for one run: one ECR
// keychain (one GetAuthorizationToken), one pusher, one build cache.
// The deploy command fills ecr and pushOpts for --sandbox.
type imageRun struct {
	env       *Env
	file      *config.File
	ecr       registry.ECRAPI   // nil: the real ECR, configured on first use
	pushOpts  []registry.Option // extra pusher options, e.g. registry.WithRegistryHost
	buildOpts []image.Option    // extra build options

	once     sync.Once
	pusher   *registry.Pusher
	err      error
	progress *pushProgress
	sandbox  bool // bases come from the sandbox's stand-ins
}

func newImageRun(env *Env, f *config.File) *imageRun { return &imageRun{env: env, file: f} }

// use points the run at a target's registry.
func (r *imageRun) use(im target.Images) {
	r.ecr = im.ECR
	r.pushOpts = append(r.pushOpts, im.Push...)
	r.buildOpts = append(r.buildOpts, im.Build...)
	r.sandbox = im.Sandbox
}

// getPusher makes the run's pusher; its keychain also reads base images.
func (r *imageRun) getPusher() (*registry.Pusher, error) {
	r.once.Do(func() {
		api := r.ecr
		if api == nil {
			api = &target.LazyECR{Region: r.file.Region}
		}
		var kcOpts []registry.KeychainOption
		if r.env.Getenv("GITHUB_ACTIONS") == "true" {
			kcOpts = append(kcOpts, registry.WithTokenObserver(ghaction.Mask(r.env.Stdout)))
		}
		r.progress = &pushProgress{w: r.env.Stderr, tty: isTerminal(r.env.Stderr, r.env.Getenv), live: map[string]int64{}}
		interval := time.Duration(0)
		if r.progress.tty {
			interval = 200 * time.Millisecond
		}
		opts := []registry.Option{
			registry.WithECR(api),
			registry.WithCreateRepositories(r.file.CreateRepositories),
			registry.WithKeychainOptions(kcOpts...),
			registry.WithProgress(r.progress.event, interval),
		}
		r.pusher, r.err = registry.NewPusher(append(opts, r.pushOpts...)...)
	})
	return r.pusher, r.err
}

// build builds the named images (all when names is empty), one progress line each.
func (r *imageRun) build(ctx context.Context, names []string) ([]*image.Artifact, error) {
	p, err := r.getPusher()
	if err != nil {
		return nil, err
	}
	if _, err := image.Select(r.file, names); err != nil {
		return nil, err
	}
	fmt.Fprintln(r.env.Stderr, "==> build")
	cache, err := r.cache()
	if err != nil {
		return nil, err
	}
	opts := append([]image.Option{image.WithKeychain(p.Keychain()), image.WithGetenv(r.env.Getenv), image.WithCache(cache),
		image.WithProgress(func(a *image.Artifact) {
			// copy: and oci: take an image as it is: no layers to count.
			if img := r.file.Image(a.Name); img != nil && img.Copy != nil {
				fmt.Fprintf(r.env.Stderr, "%s: built %s (copy of %s, unchanged)\n", a.Name, a.Digest, img.Copy.Source)
				return
			} else if img != nil && img.OCI != nil {
				fmt.Fprintf(r.env.Stderr, "%s: built %s (read from %s, unchanged)\n", a.Name, a.Digest, img.OCI.Path)
				return
			}
			built, cached, size := 0, 0, int64(0)
			for _, l := range a.Layers {
				if l.Cached {
					cached++
				} else {
					built++
				}
				size += l.Size
			}
			layers := "layers"
			if len(a.Layers) == 1 {
				layers = "layer"
			}
			fmt.Fprintf(r.env.Stderr, "%s: built %s (%d %s: %d from cache, %d built; %d bytes)\n", a.Name, a.Digest, len(a.Layers), layers, cached, built, size)
		})}, r.buildOpts...)
	// One BuildAll: each base tag is resolved once for the whole run.
	arts, err := image.BuildAll(ctx, r.file, names, opts...)
	if err != nil && !r.sandbox && unreachable(err) {
		err = fmt.Errorf("%w\n(a base image's registry could not be reached: check the network, or use --sandbox, whose stand-in bases need no internet)", err)
	}
	return arts, err
}

// unreachable reports a network failure (no DNS, refused, timed out), the
// usual reason a build on a laptop or in a locked-down runner cannot start.
func unreachable(err error) bool {
	var ne net.Error
	var dns *net.DNSError
	var op *net.OpError
	return errors.As(err, &dns) || errors.As(err, &op) || (errors.As(err, &ne) && ne.Timeout())
}

func (r *imageRun) cache() (*image.Cache, error) {
	dir, err := image.DefaultCacheDir(r.env.Getenv)
	if err != nil {
		return nil, err
	}
	return image.OpenCache(dir)
}

// push builds and pushes the named images.
func (r *imageRun) push(ctx context.Context, names []string) ([]*image.Artifact, []*registry.Result, error) {
	arts, err := r.build(ctx, names)
	if err != nil {
		return nil, nil, err
	}
	p, _ := r.getPusher()
	host, err := p.Registry(ctx, r.file.Registry)
	if err != nil {
		return arts, nil, err
	}
	jobs, err := registry.JobsFor(host, r.file.Tag, arts)
	if err != nil {
		return arts, nil, err
	}
	fmt.Fprintln(r.env.Stderr, "==> push")
	results, err := p.PushAll(ctx, jobs)
	return arts, results, err
}

// pushProgress prints push events: one line per image and phase (what a CI
// log wants), and on a terminal also a status line with the bytes each
// running image has sent so far, redrawn in place.
type pushProgress struct {
	w     io.Writer
	tty   bool
	live  map[string]int64
	order []string
	shown bool
}

func (pp *pushProgress) event(e registry.Event) {
	switch e.Phase {
	case "push":
		pp.live[e.Name] = 0
		pp.order = append(pp.order, e.Name)
		pp.line("%s: pushing", e.Name)
	case "upload":
		pp.live[e.Name] = e.Result.Bytes
		pp.status()
	case "done":
		delete(pp.live, e.Name)
		pp.line("%s: pushed %s (%d blobs, %d bytes uploaded, %d mounted)", e.Name, e.Result.Reference, e.Result.Blobs, e.Result.Bytes, e.Result.Mounted)
	case "failed":
		delete(pp.live, e.Name)
		pp.line("%s: push failed: %v", e.Name, e.Err)
	}
}

func (pp *pushProgress) line(format string, args ...any) {
	if pp.shown {
		fmt.Fprint(pp.w, "\r\033[K")
		pp.shown = false
	}
	fmt.Fprintf(pp.w, format+"\n", args...)
	pp.status()
}

func (pp *pushProgress) status() {
	if !pp.tty || len(pp.live) == 0 {
		return
	}
	var parts []string
	for _, n := range pp.order {
		if b, ok := pp.live[n]; ok {
			parts = append(parts, fmt.Sprintf("%s %.1f MB", n, float64(b)/1e6))
		}
	}
	fmt.Fprintf(pp.w, "\r\033[K%s", strings.Join(parts, " · "))
	pp.shown = true
}

// isTerminal: progress redraws a status line only for a person watching.
func isTerminal(w io.Writer, getenv func(string) string) bool {
	f, ok := w.(*os.File)
	if !ok || getenv("TERM") == "dumb" || getenv("GITHUB_ACTIONS") == "true" || getenv("CI") != "" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// builtImage is the JSON shape of one built image.
type builtImage struct {
	Name       string       `json:"name"`
	Repository string       `json:"repository"`
	Digest     string       `json:"digest"`
	MediaType  string       `json:"mediaType"`
	Layers     []builtLayer `json:"layers"`
}

type builtLayer struct {
	Comment string `json:"comment"`
	Digest  string `json:"digest"`
	Size    int64  `json:"size"`
	Cached  bool   `json:"cached"`
}

func builtJSON(arts []*image.Artifact) []builtImage {
	out := make([]builtImage, 0, len(arts))
	for _, a := range arts {
		b := builtImage{Name: a.Name, Repository: a.Repository, Digest: a.Digest.String(), MediaType: string(a.MediaType), Layers: []builtLayer{}}
		for _, l := range a.Layers {
			b.Layers = append(b.Layers, builtLayer{Comment: l.Comment, Digest: l.Digest.String(), Size: l.Size, Cached: l.Cached})
		}
		out = append(out, b)
	}
	return out
}

func printImagesJSON(env *Env, cmd string, v any) int {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		fmt.Fprintf(env.Stderr, "pier %s: %v\n", cmd, err)
		return ExitFailed
	}
	if _, err := env.Stdout.Write(append(data, '\n')); err != nil {
		return ExitFailed
	}
	return ExitOK
}
