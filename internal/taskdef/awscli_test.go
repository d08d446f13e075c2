package taskdef_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/pier-deploy/pier/internal/plan"
	"github.com/pier-deploy/pier/internal/sim"
	"github.com/pier-deploy/pier/internal/sim/simtest"
	"github.com/pier-deploy/pier/internal/taskdef"
)

// recorder passes requests to the simulator and keeps the body of the
// last RegisterTaskDefinition, so the test sees exactly what the CLI sent.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	sent []byte
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if strings.HasSuffix(req.Header.Get("X-Amz-Target"), ".RegisterTaskDefinition") {
		r.mu.Lock()
		r.sent = body
		r.mu.Unlock()
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	r.next.ServeHTTP(w, req)
}

// sameJSON reports whether a and b hold the same JSON value, whatever the
// member order and spacing.
func sameJSON(a, b []byte) bool {
	var va, vb any
	return json.Unmarshal(a, &va) == nil && json.Unmarshal(b, &vb) == nil && reflect.DeepEqual(va, vb)
}

// The real AWS CLI accepts what `pier render` prints as
// --cli-input-json (botocore validates every member and type against the
// ECS model), sends the same request to the ECS simulator, and what its
// describe-task-definition prints loads back into the same definition.
func TestAWSCLIRoundTrip(t *testing.T) {
	// The frontend task has the backend's shape; the CLI starts slowly.
	for _, name := range []string{"backend-task.json", "nexus-task.json"} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ecs, err := sim.New().Start(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer ecs.Close()
			target, err := url.Parse(ecs.URL)
			if err != nil {
				t.Fatal(err)
			}
			rec := &recorder{next: httputil.NewSingleHostReverseProxy(target)}
			srv := httptest.NewServer(rec)
			defer srv.Close()

			dir := t.TempDir()
			td, err := taskdef.Load(filepath.Join("..", "..", "testdata", "inforum", name))
			if err != nil {
				t.Fatal(err)
			}
			// The seed's redacted images ("~~/backend-nginx:latest") are what
			// pier replaces with the images it builds; ECS refuses them as they
			// are, so the definition goes out as pier would send it.
			built := map[string]string{}
			for _, c := range td.Containers() {
				if strings.HasPrefix(c.Image(), "~~/") {
					built[c.Name] = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/" + strings.TrimPrefix(c.Image(), "~~/")
				}
			}
			td = td.WithImages(built)
			input := filepath.Join(dir, "input.json")
			if err := os.WriteFile(input, td.JSON(), 0o644); err != nil {
				t.Fatal(err)
			}
			cli := simtest.NewCLI(t, srv.URL, "ap-northeast-2")
			cli.Output(t, "ecs", "register-task-definition", "--cli-input-json", "file://"+input)
			rec.mu.Lock()
			sent := rec.sent
			rec.mu.Unlock()
			if !sameJSON(sent, td.JSON()) {
				t.Errorf("the aws CLI sent\n%s\npier renders\n%s", sent, td.JSON())
			}

			printed := cli.Output(t, "ecs", "describe-task-definition", "--task-definition", td.Family(), "--include", "TAGS")
			back, err := taskdef.Parse("describe.json", printed)
			if err != nil {
				t.Fatalf("loading what the aws CLI prints: %v\n%s", err, printed)
			}
			if d := mustFields(t, back).Diff(mustFields(t, td)); len(d) != 0 {
				t.Errorf("Diff(file, described) = %v", d)
			}
			if !bytes.Equal(back.JSON(), td.JSON()) {
				t.Errorf("described definition renders\n%s\nwant\n%s", back.JSON(), td.JSON())
			}
		})
	}
}

func mustFields(t *testing.T, td *taskdef.TaskDef) plan.Fields {
	t.Helper()
	f, err := td.Fields()
	if err != nil {
		t.Fatal(err)
	}
	return f
}
