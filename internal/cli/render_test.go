package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/pier-deploy/pier/internal/taskdef"
)

func TestRender(t *testing.T) {
	env := map[string]string{"GITHUB_SHA": "0123abc"}
	for _, svc := range []string{"backend", "frontend", "nexus"} {
		t.Run(svc, func(t *testing.T) {
			code, stdout, stderr := runPier(t, env, "render", svc, "-f", inforum)
			if code != ExitOK || stderr != "" {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr)
			}
			goldenFile(t, "render-"+svc+".json", stdout)
			checkRegisterInput(t, []byte(stdout))
		})
	}
	t.Run("all", func(t *testing.T) {
		code, stdout, stderr := runPier(t, env, "-f", inforum, "render")
		if code != ExitOK || stderr != "" {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
		var all map[string]json.RawMessage
		if err := json.Unmarshal([]byte(stdout), &all); err != nil {
			t.Fatalf("render without a service is not one JSON object: %v\n%s", err, stdout)
		}
		if len(all) != 3 {
			t.Errorf("services rendered: %d, want 3", len(all))
		}
		for name, raw := range all {
			_, one, _ := runPier(t, env, "render", name, "-f", inforum)
			var a, b any
			_ = json.Unmarshal(raw, &a)
			_ = json.Unmarshal([]byte(one), &b)
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if !bytes.Equal(ja, jb) {
				t.Errorf("render %s differs from its entry in render (all)", name)
			}
		}
	})
}

// checkRegisterInput proves the rendered JSON is a RegisterTaskDefinition
// input: the SDK's own deserializers (through taskdef) accept it with no
// unknown member, encoding/json fills the SDK struct without leftovers, and
// no read-only field of describe-task-definition survives.
func checkRegisterInput(t *testing.T, data []byte) {
	t.Helper()
	if _, err := taskdef.Parse("rendered.json", data); err != nil {
		t.Errorf("taskdef cannot read the rendered input back: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var in ecs.RegisterTaskDefinitionInput
	if err := dec.Decode(&in); err != nil {
		t.Errorf("decoding into ecs.RegisterTaskDefinitionInput: %v", err)
	}
	if in.Family == nil || len(in.ContainerDefinitions) == 0 {
		t.Errorf("rendered input lacks family or containers: %s", data)
	}
	var top map[string]json.RawMessage
	_ = json.Unmarshal(data, &top)
	for _, f := range taskdef.ReadOnlyFields {
		if _, ok := top[f]; ok {
			t.Errorf("rendered input keeps read-only field %q", f)
		}
	}
	for _, c := range in.ContainerDefinitions {
		if c.Image == nil || strings.Contains(*c.Image, "~~") || strings.HasSuffix(*c.Image, ":latest") {
			t.Errorf("container %s has image %v: pier's built image was not substituted", *c.Name, c.Image)
		}
	}
}

func TestRenderImages(t *testing.T) {
	code, stdout, _ := runPier(t, map[string]string{"GITHUB_SHA": "abc"}, "render", "backend", "-f", inforum)
	if code != ExitOK {
		t.Fatal(code)
	}
	for _, img := range []string{
		`"image": "ACCOUNT.dkr.ecr.ap-northeast-2.amazonaws.com/backend-springboot:abc"`,
		`"image": "ACCOUNT.dkr.ecr.ap-northeast-2.amazonaws.com/backend-nginx:abc"`,
	} {
		if !strings.Contains(stdout, img) {
			t.Errorf("render backend lacks %s:\n%s", img, stdout)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		edits map[string][2]string
		want  string // regexp over stderr; the copy's directory is DIR
	}{
		{"unknown service", []string{"render", "backnd"}, nil, `^pier render: DIR/pier\.yaml has no service "backnd" \(did you mean "backend"\?\)`},
		{"two services", []string{"render", "a", "b"}, nil, `^pier render: too many arguments`},
		{"truncated task definition", []string{"render", "backend"}, map[string][2]string{"backend-task.json": {`"tags": []` + "\n}", `"tags": [`}},
			`^DIR/backend-task\.json:\d+:\d+: `},
		{"misspelt key", []string{"render"}, map[string][2]string{"pier.yaml": {"    containers: { springboot", "    contianers: { springboot"}},
			`^DIR/pier\.yaml:33:5: unknown key "contianers"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pier := copyInforum(t, tt.edits)
			code, stdout, stderr := runPier(t, nil, append(tt.args, "-f", pier)...)
			if code != ExitUsage || stdout != "" {
				t.Fatalf("exit %d, want %d; stdout %q", code, ExitUsage, stdout)
			}
			dir := strings.TrimSuffix(pier, "/pier.yaml")
			re := strings.ReplaceAll(tt.want, "DIR", regexpQuote(dir))
			if !regexpMatch(re, stderr) {
				t.Errorf("stderr %q does not match %s", stderr, re)
			}
		})
	}
}
