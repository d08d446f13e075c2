package taskdef

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"
)

// needAWSCLI returns the path of Debian's aws CLI; without it the test
// skips, unless PIER_INTEGRATION=1 demands it.
func needAWSCLI(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("PIER_INTEGRATION") == "1" {
			t.Fatalf("PIER_INTEGRATION=1 but the aws CLI is not installed: %v", err)
		}
		t.Skip("the aws CLI is not installed")
	}
	return path
}

// fakeECS answers RegisterTaskDefinition and DescribeTaskDefinition like
// ECS, remembering what was registered.
type fakeECS struct {
	mu   sync.Mutex
	sent []byte         // the last RegisterTaskDefinition body
	def  map[string]any // the registered definition, as ECS returns it
	tags any
}

func (f *fakeECS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch r.Header.Get("X-Amz-Target") {
	case "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition":
		f.sent = body
		var def map[string]any
		if err := json.Unmarshal(body, &def); err != nil {
			http.Error(w, `{"__type":"ClientException","message":"bad json"}`, 400)
			return
		}
		f.tags = def["tags"]
		delete(def, "tags")
		def["taskDefinitionArn"] = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/" + def["family"].(string) + ":50"
		def["revision"] = 50
		def["status"] = "ACTIVE"
		def["registeredAt"] = 1695436179.251
		def["registeredBy"] = "arn:aws:sts::123456789012:assumed-role/ci/pier"
		def["compatibilities"] = []string{"EC2"}
		def["requiresAttributes"] = []map[string]string{{"name": "com.amazonaws.ecs.capability.ecr-auth"}}
		f.def = def
		_ = json.NewEncoder(w).Encode(map[string]any{"taskDefinition": def})
	case "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition":
		out := map[string]any{"taskDefinition": f.def}
		if f.tags != nil {
			out["tags"] = f.tags
		}
		_ = json.NewEncoder(w).Encode(out)
	default:
		http.Error(w, `{"__type":"InvalidAction","message":"unexpected"}`, 400)
	}
}

// The real AWS CLI accepts what `pier render` prints as
// --cli-input-json (botocore validates every member and type against the
// ECS model), sends the same request, and what its describe-task-definition
// prints loads back into the same definition.
func TestAWSCLIRoundTrip(t *testing.T) {
	aws := needAWSCLI(t)
	// The frontend task has the backend's shape; the CLI starts slowly.
	for _, name := range []string{"backend-task.json", "nexus-task.json"} {
		t.Run(name, func(t *testing.T) {
			fake := &fakeECS{}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			dir := t.TempDir()
			td := mustLoad(t, fixture(name))
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
			if got, want := generic(t, fake.sent), generic(t, td.JSON()); !reflect.DeepEqual(got, want) {
				t.Errorf("the aws CLI sent\n%s\npier renders\n%s", fake.sent, td.JSON())
			}

			printed := run("ecs", "describe-task-definition", "--task-definition", td.Family(), "--include", "TAGS")
			back, err := Parse("describe.json", printed)
			if err != nil {
				t.Fatalf("loading what the aws CLI prints: %v\n%s", err, printed)
			}
			if d := Diff(td, back); len(d) != 0 {
				t.Errorf("Diff(file, described) = %v", d)
			}
			if !bytes.Equal(back.JSON(), td.JSON()) {
				t.Errorf("described definition renders\n%s\nwant\n%s", back.JSON(), td.JSON())
			}
		})
	}
}
