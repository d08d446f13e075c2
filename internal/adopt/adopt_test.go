package adopt

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/golden"
	"github.com/pier-deploy/pier/internal/sandbox"
	"github.com/pier-deploy/pier/internal/sim"
	"github.com/pier-deploy/pier/internal/taskdef"
)

var update = flag.Bool("update", false, "rewrite golden files")

const inforum = "../../testdata/inforum"

// sandbox serves the inforum services as the sandbox seeds them: each
// runs its task-definition file as revision 1.
func startSandbox(t *testing.T) (*sim.Server, *ecs.Client) {
	t.Helper()
	f, err := config.Load(filepath.Join(inforum, "pier.yaml"), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv, err := sandbox.Start(ctx, f, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, ecs.NewFromConfig(srv.AWSConfig())
}

func TestAdoptInforum(t *testing.T) {
	srv, api := startSandbox(t)
	a, err := Read(context.Background(), api, Request{Cluster: "inforum", All: true, Region: "ap-northeast-2", OwnRegistries: []string{srv.RegistryHost()}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := a.Files(filepath.Join(dir, "pier.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 4 {
		t.Fatalf("%d files, want pier.yaml and three task definitions", len(files))
	}
	golden.Check(t, filepath.Join("testdata", "inforum-pier.yaml"), files[0].Data, *update)

	// Each task definition is the one its file in testdata describes.
	for _, f := range files[1:] {
		src := map[string]string{"backend": "backend-task.json", "frontend": "frontend-task.json", "nexus": "nexus-task.json"}[f.Service]
		want, err := taskdef.Load(filepath.Join(inforum, src))
		if err != nil {
			t.Fatal(err)
		}
		// ECS refuses the files' redacted images ("~~/backend-nginx:latest"),
		// so the sandbox runs them without the redaction.
		seeded := map[string]string{}
		for _, c := range want.Containers() {
			if img, ok := strings.CutPrefix(c.Image(), "~~/"); ok {
				seeded[c.Name] = img
			}
		}
		want = want.WithImages(seeded)
		got, err := taskdef.Parse(f.Path, f.Data)
		if err != nil {
			t.Fatal(err)
		}
		gf, err := got.Fields()
		if err != nil {
			t.Fatal(err)
		}
		wf, err := want.Fields()
		if err != nil {
			t.Fatal(err)
		}
		if !gf.Equal(wf) || !bytes.Equal(got.JSON(), want.JSON()) {
			t.Errorf("%s: the adopted definition differs from %s:\n%s", f.Service, src, f.Data)
		}
		for _, ro := range taskdef.ReadOnlyFields {
			if bytes.Contains(f.Data, []byte(`"`+ro+`"`)) {
				t.Errorf("%s: read-only field %s written", f.Path, ro)
			}
		}
	}
	byName := map[string]*Service{}
	for _, s := range a.Services {
		byName[s.Name] = s
	}
	if s := byName["nexus"]; s == nil || s.Strategy != "recreate" || !strings.Contains(s.Why, "fs-0a1b2c3d4e5f67890") {
		t.Errorf("nexus: %+v, want recreate because of its EFS mount", s)
	}
	if s := byName["backend"]; s == nil || s.Strategy != "rolling" || s.Desired != 2 {
		t.Errorf("backend: %+v, want rolling with 2 tasks", s)
	}
	if im := byName["nexus"].Images[0]; im.Kind != "copy" || im.Builder != "copy: docker.io/sonatype/nexus3:3.72.0" {
		t.Errorf("nexus image proposal: %+v", im)
	}

	// The proposals are pier.yaml once uncommented: every image a service
	// would build has its entry.
	var lines []string
	for _, l := range strings.Split(string(files[0].Data), "\n") {
		for _, p := range []string{"# tag:", "# images:", "#   ", "    # containers:"} {
			if strings.HasPrefix(l, p) {
				l = strings.Replace(l, "# ", "", 1)
				break
			}
		}
		lines = append(lines, l)
	}
	uncommented := strings.Join(lines, "\n")
	f, err := config.Parse(files[0].Path, []byte(uncommented), func(string) string { return "" })
	if err != nil {
		t.Fatalf("the proposals do not parse once uncommented: %v\n%s", err, uncommented)
	}
	if len(f.Images) != 5 || len(f.Services) != 3 || len(f.Services[0].Containers) != 2 || f.Images[4].Copy == nil {
		t.Errorf("uncommented proposals: %d images, %d services:\n%s", len(f.Images), len(f.Services), uncommented)
	}

	// Written once; a second run refuses and writes nothing.
	if err := Write(files, false); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(files[2].Path); err != nil {
		t.Fatal(err)
	}
	var exists *ExistsError
	if err := Write(files, false); !errors.As(err, &exists) || len(exists.Paths) != 3 {
		t.Fatalf("second write: %v, want a refusal naming the three files that exist", err)
	}
	if _, err := os.Stat(files[2].Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused write created %s", files[2].Path)
	}
	if err := Write(files, true); err != nil {
		t.Fatal(err)
	}
}

func TestAdoptErrors(t *testing.T) {
	_, api := startSandbox(t)
	ctx := context.Background()
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"no cluster", Request{Services: []string{"nexus"}}, "no cluster given"},
		{"no services named", Request{Cluster: "inforum"}, "name at least one service"},
		{"missing service", Request{Cluster: "inforum", Services: []string{"nexus", "backnd"}}, "cluster inforum has no service backnd (MISSING)"},
		{"empty cluster", Request{Cluster: "nope", All: true}, "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(ctx, api, tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to say %q", err, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	own := ownRegistries([]string{"127.0.0.1:5000"})
	tests := []struct {
		container, ref string
		kind, builder  string
	}{
		{"nexus", "sonatype/nexus3:3.72.0", "copy", "copy: docker.io/sonatype/nexus3:3.72.0"},
		{"web", "nginx:1.27", "copy", "copy: docker.io/library/nginx:1.27"},
		{"cache", "public.ecr.aws/docker/library/redis:7", "copy", "copy: public.ecr.aws/docker/library/redis:7"},
		{"nginx", "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/backend-nginx@sha256:" + strings.Repeat("a", 64), "build", "nginx: { config: backend-nginx/nginx.conf }"},
		{"app", "127.0.0.1:5000/team/api-springboot:v1", "build", "springboot: { jar: api-springboot/app.jar }"},
		{"next", "~~/front-next:latest", "build", "next: { dir: front-next }   # a Next.js app built with output: 'standalone'"},
		{"worker", "123456789012.dkr.ecr.us-east-1.amazonaws.com/worker:1", "build", "oci: worker.tar   # or nginx, next, springboot, files: whatever builds it"},
		{"sidecar", "", "none", ""},
	}
	for _, tt := range tests {
		t.Run(tt.container, func(t *testing.T) {
			im := classify(types.ContainerDefinition{Name: aws.String(tt.container), Image: aws.String(tt.ref)}, own)
			if im.Kind != tt.kind || im.Builder != tt.builder {
				t.Errorf("classify(%q) = %s %q, want %s %q", tt.ref, im.Kind, im.Builder, tt.kind, tt.builder)
			}
		})
	}
}

func TestNameImages(t *testing.T) {
	svc := func(name string, refs ...string) *Service {
		s := &Service{Name: name}
		for i, r := range refs {
			s.Images = append(s.Images, Image{Container: []string{"app", "proxy"}[i], Ref: r, Kind: "build"})
		}
		return s
	}
	services := []*Service{svc("a", "r/app:1", "r/nginx:1"), svc("b", "x/app:2", "r/nginx:1")}
	nameImages(services)
	got := []string{services[0].Images[0].Key, services[0].Images[1].Key, services[1].Images[0].Key, services[1].Images[1].Key}
	want := []string{"app", "nginx", "b-app", "nginx"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("keys %v, want %v (one key per image, unique per file)", got, want)
	}
}
