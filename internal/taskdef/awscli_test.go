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
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pier-deploy/pier/internal/sim"
	"github.com/pier-deploy/pier/internal/taskdef"
)

// debianAWS is the AWS CLI of Debian's awscli package (.ci/run installs
// it): a second, independent client of the ECS wire protocol.
const debianAWS = "/usr/bin/aws"

// needAWSCLI returns the path of Debian's aws CLI; without it the test
// skips, unless PIER_INTEGRATION=1 demands it.
func needAWSCLI(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(debianAWS); err != nil {
		if os.Getenv("PIER_INTEGRATION") == "1" {
			t.Fatalf("PIER_INTEGRATION=1 but Debian's aws CLI is not installed: %v (apt-get install awscli)", err)
		}
		t.Skip("Debian's aws CLI is not installed (apt-get install awscli)")
	}
	return debianAWS
}

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
	aws := needAWSCLI(t)
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
			input := filepath.Join(dir, "input.json")
			if err := os.WriteFile(input, td.JSON(), 0o644); err != nil {
				t.Fatal(err)
			}
			run := func(args ...string) []byte {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, aws, append(args, "--endpoint-url", srv.URL, "--region", "ap-northeast-2", "--output", "json")...)
				// A clean environment: static keys, no profile, no CA bundle.
				cmd.Env = []string{
					"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
					"AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret",
					"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
					"AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true",
				}
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("aws %v: %v\n%s", args, err, stderr.String())
				}
				return out
			}
			run("ecs", "register-task-definition", "--cli-input-json", "file://"+input)
			rec.mu.Lock()
			sent := rec.sent
			rec.mu.Unlock()
			if !sameJSON(sent, td.JSON()) {
				t.Errorf("the aws CLI sent\n%s\npier renders\n%s", sent, td.JSON())
			}

			printed := run("ecs", "describe-task-definition", "--task-definition", td.Family(), "--include", "TAGS")
			back, err := taskdef.Parse("describe.json", printed)
			if err != nil {
				t.Fatalf("loading what the aws CLI prints: %v\n%s", err, printed)
			}
			if d := taskdef.Diff(td, back); len(d) != 0 {
				t.Errorf("Diff(file, described) = %v", d)
			}
			if !bytes.Equal(back.JSON(), td.JSON()) {
				t.Errorf("described definition renders\n%s\nwant\n%s", back.JSON(), td.JSON())
			}
		})
	}
}
