package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/image"
	"github.com/pier-deploy/pier/internal/registry/registrytest"
)

// imagesFile writes a pier.yaml whose images use bases in reg and push to reg.
func imagesFile(t *testing.T, reg *registrytest.Server) string {
	t.Helper()
	abs := func(p string) string {
		a, err := filepath.Abs(filepath.Join("../../testdata/inforum", p))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
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
	path := filepath.Join(t.TempDir(), "pier.yaml")
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
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if lines[0] != "==> build" || len(lines) != 4 || !strings.HasPrefix(lines[1], "backend: built sha256:") {
		t.Errorf("stderr:\n%s", stderr)
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
	if code != ExitUsage || !strings.Contains(stderr, `no image "fronted"`) {
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
