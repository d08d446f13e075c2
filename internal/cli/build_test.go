package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/image"
	"github.com/pier-deploy/pier/internal/registry"
	"github.com/pier-deploy/pier/internal/registry/registrytest"
	simecr "github.com/pier-deploy/pier/internal/sim/ecr"
)

// imagesFile writes a pier.yaml whose images use bases in reg and push to reg.
func imagesFile(t *testing.T, reg *registrytest.Server) string {
	t.Helper()
	// pier reads only below the directory of pier.yaml: the file goes
	// into a copy of the fixture and names its inputs relative to it.
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../testdata/inforum")); err != nil {
		t.Fatal(err)
	}
	abs := func(p string) string { return p }
	yaml := fmt.Sprintf(`registry: %s
cluster: inforum
tag: v1
images:
  backend:
    springboot: { base: %s, jar: %s }
  frontend:
    next: { base: %s, dir: %s }
  backend-nginx:
    nginx: { base: %s, config: %s }
services:
  backend:
    taskDefinition: %s
    containers: { springboot: backend, nginx: backend-nginx }
`, reg.Host, reg.PushBase(t, "library/temurin:21"), abs("backend/app.jar"),
		reg.PushBase(t, "library/node:22"), abs("frontend"),
		reg.PushBase(t, "library/nginx:1.27"), abs("backend/nginx.conf"), abs("backend-task.json"))
	path := filepath.Join(dir, "pier.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBuildPrintsDigests(t *testing.T) {
	reg := registrytest.New(t)
	path := imagesFile(t, reg)
	reg.Reset()
	env := map[string]string{"PIER_CACHE": t.TempDir()}
	code, stdout, stderr := runPier(t, env, "build", "-f", path)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	f, err := config.Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	arts, err := image.BuildAll(context.Background(), f, nil, image.WithCacheDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for _, a := range arts {
		fmt.Fprintf(&want, "%s %s\n", a.Name, a.Digest)
	}
	if stdout != want.String() {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want.String())
	}
	if reg.Counts().BlobUploads != 0 {
		t.Error("pier build uploaded blobs")
	}
	// One line per image and phase, for CI logs.
	// (Images build in parallel: the order of their lines varies.)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if lines[0] != "==> build" || len(lines) != 4 {
		t.Errorf("stderr:\n%s", stderr)
	}
	for _, a := range arts {
		if !strings.Contains(stderr, "\n"+a.Name+": built "+a.Digest.String()+" (") {
			t.Errorf("no build line for %s in stderr:\n%s", a.Name, stderr)
		}
	}

	// Only the named images, and a clear usage error for an unknown one.
	code, stdout, _ = runPier(t, env, "build", "frontend", "-f", path, "--output", "json")
	var doc struct {
		Images []struct{ Name, Digest string }
	}
	if code != ExitOK || json.Unmarshal([]byte(stdout), &doc) != nil || len(doc.Images) != 1 || doc.Images[0].Digest != arts[1].Digest.String() {
		t.Errorf("build frontend --output json: exit %d\n%s", code, stdout)
	}
	code, _, stderr = runPier(t, env, "build", "fronted", "-f", path)
	if code != ExitUsage || !strings.Contains(stderr, `no image "fronted" in `+path+` (did you mean "frontend"?); its images are `) {
		t.Errorf("unknown image: exit %d, stderr %s", code, stderr)
	}
}

func TestPushPrintsResults(t *testing.T) {
	reg := registrytest.New(t)
	path := imagesFile(t, reg)
	reg.Reset()
	env := map[string]string{"PIER_CACHE": t.TempDir()}
	code, stdout, stderr := runPier(t, env, "push", "-f", path, "--output", "json")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var doc struct {
		Images []struct {
			Name, Reference string
			Blobs           int   `json:"blobsUploaded"`
			Bytes           int64 `json:"bytesUploaded"`
		}
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	blobs := 0
	for _, im := range doc.Images {
		blobs += im.Blobs
		if !strings.HasPrefix(im.Reference, reg.Host+"/"+im.Name+"@sha256:") {
			t.Errorf("%s: reference %s", im.Name, im.Reference)
		}
	}
	if len(doc.Images) != 3 || blobs != reg.Counts().BlobUploads {
		t.Errorf("%d images, %d blobs reported, registry saw %d", len(doc.Images), blobs, reg.Counts().BlobUploads)
	}
	if !strings.Contains(stderr, "==> push\n") || !strings.Contains(stderr, "backend: pushed "+reg.Host) {
		t.Errorf("stderr:\n%s", stderr)
	}

	// Again: the same references, nothing uploaded.
	code, stdout, stderr = runPier(t, env, "push", "-f", path)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	line := regexp.MustCompile(`^(\S+) (\S+@sha256:[0-9a-f]{64}) \(0 blobs, 0 bytes uploaded\)$`)
	got := strings.Split(strings.TrimSpace(stdout), "\n")
	for i, l := range got {
		m := line.FindStringSubmatch(l)
		if m == nil || m[1] != doc.Images[i].Name || m[2] != doc.Images[i].Reference {
			t.Errorf("line %d = %q, want %s %s (0 blobs, 0 bytes uploaded)", i, l, doc.Images[i].Name, doc.Images[i].Reference)
		}
	}
}

func TestPushProgressOnTerminal(t *testing.T) {
	var out strings.Builder
	pp := &pushProgress{w: &out, tty: true, live: map[string]int64{}}
	pp.event(registry.Event{Name: "backend", Phase: "push"})
	pp.event(registry.Event{Name: "frontend", Phase: "push"})
	pp.event(registry.Event{Name: "backend", Phase: "upload", Result: &registry.Result{Bytes: 12_300_000}})
	pp.event(registry.Event{Name: "backend", Phase: "done", Result: &registry.Result{Reference: "r/backend@sha256:ab", Blobs: 2, Bytes: 12_400_000}})
	want := "backend: pushing\n\r\033[Kbackend 0.0 MB" +
		"\r\033[Kfrontend: pushing\n\r\033[Kbackend 0.0 MB · frontend 0.0 MB" +
		"\r\033[Kbackend 12.3 MB · frontend 0.0 MB" +
		"\r\033[Kbackend: pushed r/backend@sha256:ab (2 blobs, 12400000 bytes uploaded, 0 mounted)\n\r\033[Kfrontend 0.0 MB"
	if out.String() != want {
		t.Errorf("terminal output:\n%q\nwant\n%q", out.String(), want)
	}

	// Not a terminal: only the lines.
	out.Reset()
	pp = &pushProgress{w: &out, live: map[string]int64{}}
	pp.event(registry.Event{Name: "backend", Phase: "push"})
	pp.event(registry.Event{Name: "backend", Phase: "upload", Result: &registry.Result{Bytes: 1}})
	pp.event(registry.Event{Name: "backend", Phase: "failed", Err: errors.New("boom")})
	if out.String() != "backend: pushing\nbackend: push failed: boom\n" {
		t.Errorf("log output: %q", out.String())
	}
}

// TestImageRunInGitHubActions pushes through the ECR simulator the way the
// sandbox wiring does, and checks the registry password is masked on stdout
// before anything else is printed there.
func TestImageRunInGitHubActions(t *testing.T) {
	svc := simecr.New("123456789012", "eu-west-1", time.Now)
	mux := http.NewServeMux()
	mux.Handle("/v2/", svc.Registry())
	mux.Handle("/", svc)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	svc.SetRegistryHost(host)
	if _, err := svc.SeedPublic("nginx:1.27", []string{"linux/amd64"}); err != nil {
		t.Fatal(err)
	}
	base, err := svc.MirrorRef("nginx:1.27")
	if err != nil {
		t.Fatal(err)
	}
	f := &config.File{Path: "../../testdata/inforum/pier.yaml", Dir: "../../testdata/inforum", Registry: host, Tag: "v1", CreateRepositories: true, Images: []*config.Image{
		{Name: "web", Nginx: &config.NginxBuild{Base: base, Config: "../../testdata/inforum/frontend/nginx.conf"}}}}
	var stdout, stderr strings.Builder
	env := &Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string {
		return map[string]string{"GITHUB_ACTIONS": "true", "PIER_CACHE": t.TempDir()}[k]
	}}
	r := newImageRun(env, f)
	r.ecr = ecr.NewFromConfig(aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""), HTTPClient: &http.Client{Timeout: 30 * time.Second}})
	r.pushOpts = []registry.Option{registry.WithRegistryHost(host)}
	_, results, err := r.push(context.Background(), nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if d, ok := svc.HasImage(results[0].Reference); !ok || d != results[0].Digest {
		t.Errorf("pushed %s, simulator has %q %v", results[0].Reference, d, ok)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "::add-mask::") || len(lines[0]) < len("::add-mask::")+20 {
		t.Errorf("stdout = %q, want one ::add-mask:: line with the password", stdout.String())
	}
	if pw := strings.TrimPrefix(lines[0], "::add-mask::"); strings.Contains(stderr.String(), pw) {
		t.Error("the registry password appears on stderr")
	}
}

// TestPushSandbox pushes the five inforum images to a fresh sandbox with
// `pier push --sandbox` (what the action's `sandbox: true` runs).
func TestPushSandbox(t *testing.T) {
	code, stdout, stderr := runPier(t, map[string]string{"PIER_CACHE": t.TempDir()}, "push", "--sandbox", "-f", inforum)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	line := regexp.MustCompile(`^(\S+) 127\.0\.0\.1:\d+/(\S+)@sha256:[0-9a-f]{64} \((\d+) blobs, \d+ bytes uploaded\)$`)
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil || m[1] != m[2] || m[3] == "0" {
			t.Errorf("line %q: want NAME 127.0.0.1:PORT/NAME@sha256:… with blobs uploaded to the empty sandbox", l)
			continue
		}
		names = append(names, m[1])
	}
	if want := "backend-springboot backend-nginx front-next front-nginx nexus"; strings.Join(names, " ") != want {
		t.Errorf("pushed %v, want %s", names, want)
	}
	if !strings.Contains(stderr, "pier: sandbox at http://127.0.0.1:") {
		t.Errorf("stderr does not say a sandbox was used:\n%s", stderr)
	}
}

// TestPushSandboxTwice: a second push of unchanged images to the same
// sandbox uploads no blob and writes no manifest, as counted by its ECR.
func TestPushSandboxTwice(t *testing.T) {
	s := newSandboxEnv(t)
	push := func() (string, string) {
		t.Helper()
		var stdout, stderr strings.Builder
		env := &Env{Stdout: &stdout, Stderr: &stderr, Getenv: s.getenv, Globals: Globals{File: inforumYAML, Output: "text"}}
		if code := runPush(context.Background(), env, &sandboxFlags{on: true, srv: s.srv}, nil); code != ExitOK {
			t.Fatalf("push exit %d\n%s", code, stderr.String())
		}
		return stdout.String(), stderr.String()
	}
	first, _ := push()
	reg := s.srv.World().ECR()
	if c := reg.Counters(""); c.BlobUploads == 0 || c.ManifestPuts < 5 {
		t.Fatalf("first push: the sandbox registry saw %+v", c)
	}
	reg.ResetCounters()
	again, _ := push()
	if c := reg.Counters(""); c.BlobUploads != 0 || c.BlobBytes != 0 || c.ManifestPuts != 0 {
		t.Errorf("unchanged re-push: the sandbox registry saw %+v, want no uploads", c)
	}
	zero := regexp.MustCompile(` \(\d+ blobs, \d+ bytes uploaded\)`)
	if want := zero.ReplaceAllString(first, " (0 blobs, 0 bytes uploaded)"); again != want {
		t.Errorf("second push printed\n%s\nwant\n%s", again, want)
	}

	// Other content under the same (immutable) tag: refused, naming the
	// digest that holds the tag.
	var stdout, stderr strings.Builder
	getenv := func(k string) string {
		if k == "SOURCE_DATE_EPOCH" {
			return "1700000000"
		}
		return s.getenv(k)
	}
	env := &Env{Stdout: &stdout, Stderr: &stderr, Getenv: getenv, Globals: Globals{File: inforumYAML, Output: "text"}}
	if code := runPush(context.Background(), env, &sandboxFlags{on: true, srv: s.srv}, []string{"front-next"}); code != ExitFailed {
		t.Fatalf("pushing a rebuilt front-next to the taken tag: exit %d, want %d\n%s", code, ExitFailed, stderr.String())
	}
	held := regexp.MustCompile(`front-next@(sha256:[0-9a-f]{64})`).FindStringSubmatch(first)
	if held == nil || !strings.Contains(stderr.String(), held[1]) || !strings.Contains(stderr.String(), "immutable") {
		t.Errorf("stderr does not name the digest holding the tag (%v):\n%s", held, stderr.String())
	}
}

// TestBuildSandboxReproducible builds the inforum images on the sandbox's
// stand-in bases: the same inputs give the same digests, another
// SOURCE_DATE_EPOCH other digests (except the mirrored nexus, which is
// copied unchanged).
func TestBuildSandboxReproducible(t *testing.T) {
	build := func(epoch string) map[string]string {
		t.Helper()
		env := map[string]string{"PIER_CACHE": t.TempDir(), "SOURCE_DATE_EPOCH": epoch}
		code, stdout, stderr := runPier(t, env, "build", "--sandbox", "-f", inforum)
		if code != ExitOK {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		if !regexp.MustCompile(`\nnexus: built sha256:[0-9a-f]{64} \(copy of docker\.io/sonatype/nexus3:3\.72\.0, unchanged\)\n`).MatchString(stderr) ||
			!regexp.MustCompile(`\nfront-nginx: built sha256:[0-9a-f]{64} \(1 layer: [01] from cache, [01] built; \d+ bytes\)\n`).MatchString(stderr) {
			t.Errorf("progress lines:\n%s", stderr)
		}
		out := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
			name, digest, _ := strings.Cut(l, " ")
			out[name] = digest
		}
		if len(out) != 5 {
			t.Fatalf("built %d images, want 5:\n%s", len(out), stdout)
		}
		return out
	}
	a, b, later := build(""), build("0"), build("1700000000")
	for name, d := range a {
		if b[name] != d {
			t.Errorf("%s: two builds differ: %s, %s", name, d, b[name])
		}
		if changed := later[name] != d; changed == (name == "nexus") {
			t.Errorf("%s: SOURCE_DATE_EPOCH=1700000000 gives %s, epoch 0 %s", name, later[name], d)
		}
	}
	code, _, stderr := runPier(t, nil, "build", "--sandbox-world", "w.yaml", "-f", inforum)
	if code != ExitUsage || !strings.Contains(stderr, "--sandbox-world needs --sandbox") {
		t.Errorf("--sandbox-world alone: exit %d, stderr %s", code, stderr)
	}
	for _, cmd := range []string{"build", "push"} {
		code, _, stderr = runPier(t, map[string]string{"SOURCE_DATE_EPOCH": "yesterday"}, cmd, "--sandbox", "-f", inforum)
		if code != ExitUsage || !strings.HasPrefix(stderr, "pier "+cmd+`: SOURCE_DATE_EPOCH="yesterday" is not a number`) {
			t.Errorf("%s with a bad SOURCE_DATE_EPOCH: exit %d, want %d before starting anything; stderr:\n%s", cmd, code, ExitUsage, stderr)
		}
	}
}
