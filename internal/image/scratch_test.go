package image

import (
	"archive/tar"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/pier-deploy/pier/internal/config"
)

// noNetwork fails every request: a scratch build must make none.
type noNetwork struct{}

func (noNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	return nil, errors.New("no network in this test: " + r.URL.String())
}

// TestScratchWithPlatformFiles builds what .github/pier.yaml builds for the
// action: an empty base, one shared layer (the CA bundle and a 1777 /tmp) and
// one layer per platform with that platform's binary, with no registry at all.
func TestScratchWithPlatformFiles(t *testing.T) {
	src := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(src, "amd64"), 0o755))
	must(t, os.MkdirAll(filepath.Join(src, "arm64"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "ca.crt"), []byte("-----BEGIN CERTIFICATE-----\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(src, "amd64/pier"), []byte("\x7fELF amd64"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "arm64/pier"), []byte("\x7fELF arm64"), 0o755))
	tmp := filepath.Join(src, "tmp")
	must(t, os.Mkdir(tmp, 0o755))
	must(t, os.Chmod(tmp, os.ModeSticky|0o777)) // mkdir -m 1777; Mkdir would apply the umask
	platforms := []string{"linux/amd64", "linux/arm64"}
	a, err := buildOne(t, &config.Image{Name: "pier", Files: &config.FilesBuild{
		Base:  config.Scratch,
		Files: map[string]string{"/etc/ssl/certs/ca-certificates.crt": filepath.Join(src, "ca.crt"), "/tmp": tmp},
		PlatformFiles: map[string]map[string]string{
			"linux/amd64": {"/usr/local/bin/pier": filepath.Join(src, "amd64/pier")},
			"linux/arm64": {"/usr/local/bin/pier": filepath.Join(src, "arm64/pier")},
		},
		Entrypoint: []string{"/usr/local/bin/pier"},
		Env:        map[string]string{"TMPDIR": "/tmp"},
		Labels:     map[string]string{"org.opencontainers.image.source": "https://github.com/pier-deploy/pier"},
	}}, platforms, WithTransport(noNetwork{}))
	if err != nil {
		t.Fatal(err)
	}
	if a.Index == nil || a.MediaType != types.OCIImageIndex {
		t.Fatalf("artifact is %s with index %v, want an OCI index", a.MediaType, a.Index != nil)
	}
	im, err := a.Index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	shared := "d755 etc/|d755 etc/ssl/|d755 etc/ssl/certs/|f644 etc/ssl/certs/ca-certificates.crt|d1777 tmp/"
	var sharedDigests []v1.Hash
	for i, tc := range []struct {
		platform, arch, binary string
	}{
		{"linux/amd64", "amd64", "\x7fELF amd64"},
		{"linux/arm64", "arm64", "\x7fELF arm64"},
	} {
		t.Run(tc.platform, func(t *testing.T) {
			d := im.Manifests[i]
			if d.Platform == nil || d.Platform.String() != tc.platform || d.MediaType != types.OCIManifestSchema1 {
				t.Fatalf("index entry %d = %s %v, want an OCI manifest for %s", i, d.MediaType, d.Platform, tc.platform)
			}
			img, err := a.Index.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			cf, _ := img.ConfigFile()
			if cf.OS != "linux" || cf.Architecture != tc.arch || strings.Join(cf.Config.Entrypoint, " ") != "/usr/local/bin/pier" ||
				strings.Join(cf.Config.Env, " ") != "TMPDIR=/tmp" || cf.Config.Labels["org.opencontainers.image.source"] != "https://github.com/pier-deploy/pier" {
				t.Errorf("config = %s/%s %+v", cf.OS, cf.Architecture, cf.Config)
			}
			if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
				t.Errorf("manifest media type %s", mt)
			}
			ls, _ := img.Layers()
			if len(ls) != 2 {
				t.Fatalf("%d layers, want the shared one and the platform's (scratch adds none)", len(ls))
			}
			if got := headerList(t, ls[0]); got != shared {
				t.Errorf("shared layer:\n%s\nwant\n%s", got, shared)
			}
			dg, _ := ls[0].Digest()
			sharedDigests = append(sharedDigests, dg)
			if got, want := headerList(t, ls[1]), "d755 usr/|d755 usr/local/|d755 usr/local/bin/|f755 usr/local/bin/pier"; got != want {
				t.Errorf("platform layer:\n%s\nwant\n%s", got, want)
			}
			if got := fileContent(t, ls[1], "usr/local/bin/pier"); got != tc.binary {
				t.Errorf("/usr/local/bin/pier holds %q, want %q", got, tc.binary)
			}
		})
	}
	if len(sharedDigests) == 2 && sharedDigests[0] != sharedDigests[1] {
		t.Errorf("the shared layer differs between platforms: %v", sharedDigests)
	}
	var comments []string
	for _, l := range a.Layers {
		comments = append(comments, l.Comment)
	}
	if got, want := strings.Join(comments, ", "), "files, files: linux/amd64, files: linux/arm64"; got != want {
		t.Errorf("layers listed %q, want %q", got, want)
	}
}

// fileContent is the content of the file called name in layer l.
func fileContent(t *testing.T, l v1.Layer, name string) string {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("layer has no %s: %v", name, err)
		}
		if h.Name == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
}
