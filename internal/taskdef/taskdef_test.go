package taskdef

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pier-deploy/pier/internal/golden"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixtures are the seed's real task definitions (describe-task-definition
// output, read-only fields included) and the Nexus Fargate task.
var fixtures = []string{"backend-task.json", "frontend-task.json", "nexus-task.json"}

func fixture(name string) string { return filepath.Join("..", "..", "testdata", "inforum", name) }

func mustLoad(t testing.TB, path string) *TaskDef {
	t.Helper()
	td, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	return td
}

func mustParse(t testing.TB, src string) *TaskDef {
	t.Helper()
	td, err := Parse("td.json", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, src)
	}
	return td
}

// checkGolden compares got with testdata/name, rewriting it under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got, *update)
}

func TestLoadFixtures(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			td := mustLoad(t, fixture(name))
			out := td.JSON()
			for _, ro := range ReadOnlyFields {
				if bytes.Contains(out, []byte(`"`+ro+`"`)) {
					t.Errorf("rendered JSON still has the read-only field %q", ro)
				}
			}
			checkGolden(t, strings.TrimSuffix(name, ".json")+".render.json", out)
			checkGolden(t, strings.TrimSuffix(name, ".json")+".normalized.json", td.Normalize().JSON())
		})
	}
}

// The fixtures must stay byte-for-byte what the seed printed.
func TestFixturesKeepReadOnlyFields(t *testing.T) {
	for _, name := range fixtures {
		data, err := os.ReadFile(fixture(name))
		if err != nil {
			t.Fatal(err)
		}
		for _, ro := range []string{"taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities", "registeredAt", "registeredBy"} {
			if !bytes.Contains(data, []byte(`"`+ro+`"`)) {
				t.Errorf("%s: fixture lost the read-only field %q", name, ro)
			}
		}
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // each must appear in the error text
	}{
		{"truncated", "{\n\"family\": \"x\",\n\"containerDefinitions\": [\n{\n\"name\": \"a\"",
			[]string{"td.json:5:12: unexpected end of file inside the object that starts at 4:1 (is the file truncated?)"}},
		{"truncated string", `{"family": "x`, []string{"td.json:1:12: unterminated string"}},
		{"empty", ``, []string{"td.json:1:1: unexpected end of file, expecting a value"}},
		{"trailing comma", "{\"family\": \"x\",}", []string{"td.json:1:16: unexpected '}', expecting a quoted key"}},
		{"missing comma", "{\"family\": \"x\"\n\"cpu\": \"1\"}", []string{"td.json:2:1: unexpected '\"' after the value of \"family\", expecting ',' or '}'"}},
		{"trailing garbage", `{"family": "x"} {}`, []string{"td.json:1:17: unexpected '{' after the end of the JSON value"}},
		{"duplicate key", "{\"family\": \"x\",\n \"family\": \"y\"}", []string{`td.json:2:2: duplicate key "family" (first at 1:2)`}},
		{"not an object", `[]`, []string{`td.json:1:1: a task definition must be a JSON object, not an array (a list of container definitions goes under "containerDefinitions", next to "family")`}},
		{"a string", `"x"`, []string{`td.json:1:1: a task definition must be a JSON object, not the string "x"`}},
		{"unknown top-level field", "{\"family\": \"x\",\n  \"famliy\": \"y\"}",
			[]string{`td.json:2:3: unknown field "famliy" (ECS would reject it); did you mean "family"?`}},
		{"unknown container field", `{"family": "x", "containerDefinitions": [{"name": "a", "imag": "x"}]}`,
			[]string{`td.json:1:56: unknown field "imag" in containerDefinitions[a] (ECS would reject it); did you mean "image"?`}},
		{"unknown wrapper field", `{"taskDefinition": {"family": "x"}, "failures": []}`,
			[]string{`td.json:1:37: unknown field "failures" next to "taskDefinition"`}},
		{"wrong types", `{"family": "x", "cpu": 1024, "containerDefinitions": [{"name": "a", "essential": "yes", "memory": 1.5}]}`,
			[]string{`td.json:1:24: cpu must be a string, not the number 1024`,
				`td.json:1:82: containerDefinitions[a].essential must be true or false, not the string "yes"`,
				`td.json:1:99: containerDefinitions[a].memory must be an integer between -2147483648 and 2147483647, not 1.5`}},
		{"out of range", `{"family": "x", "containerDefinitions": [{"name": "a", "cpu": 4294967296}]}`,
			[]string{`td.json:1:63: containerDefinitions[a].cpu must be an integer between -2147483648 and 2147483647, not 4294967296`}},
		{"object expected", `{"family": "x", "runtimePlatform": "LINUX"}`,
			[]string{`td.json:1:36: runtimePlatform must be an object, not the string "LINUX"`}},
		{"null element", `{"family": "x", "containerDefinitions": [null]}`,
			[]string{`td.json:1:42: containerDefinitions[0]: null is not allowed in a list`}},
		{"bad escape", `{"family": "a\x"}`, []string{`td.json:1:14: invalid escape "\\x" in a string`}},
		{"control char", "{\"family\": \"a\nb\"}", []string{"td.json:1:14: control character 0x0a in a string"}},
		{"tags twice", `{"taskDefinition": {"family": "x", "tags": []}, "tags": []}`,
			[]string{`td.json:1:36: "tags" given both inside and next to "taskDefinition"`}},
		{"enum typo", "{\"family\": \"x\",\n\"networkMode\": \"bidge\"}",
			[]string{`td.json:2:16: networkMode must be one of bridge, host, awsvpc, none, not "bidge"; did you mean "bridge"?`}},
		{"enum case matters", `{"family": "x", "requiresCompatibilities": ["fargate"], "containerDefinitions": [{"name": "a", "portMappings": [{"containerPort": 80, "protocol": "TCP"}]}]}`,
			[]string{`td.json:1:45: requiresCompatibilities[0] must be one of EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES, not "fargate"; did you mean "FARGATE"?`,
				`containerDefinitions[a].portMappings[0].protocol must be one of tcp, udp, not "TCP"; did you mean "tcp"?`}},
		{"nested unknown field", `{"family": "x", "volumes": [{"name": "v", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "transitEncription": "ENABLED"}}]}`,
			[]string{`unknown field "transitEncription" in volumes[v].efsVolumeConfiguration (ECS would reject it); did you mean "transitEncryption"?`}},
		{"deep nesting", strings.Repeat("[", maxDepth+1), []string{"nesting deeper than 512 levels"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("td.json", []byte(tt.src))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			if _, ok := err.(Errors); !ok {
				t.Errorf("error is %T, want taskdef.Errors", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%s\ndoes not contain\n%s", err, w)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.json"))
	if err == nil || !strings.Contains(err.Error(), "reading task definition") {
		t.Fatalf("err = %v, want a reading error", err)
	}
}

func TestBareAndWrappedAreTheSame(t *testing.T) {
	bare := mustParse(t, `{"family": "x", "containerDefinitions": [{"name": "a", "image": "i"}], "tags": [{"key": "k", "value": "v"}]}`)
	wrapped := mustParse(t, `{"taskDefinition": {"family": "x", "containerDefinitions": [{"name": "a", "image": "i"}]}, "tags": [{"key": "k", "value": "v"}]}`)
	if !bytes.Equal(bare.JSON(), wrapped.JSON()) {
		t.Errorf("bare:\n%s\nwrapped:\n%s", bare.JSON(), wrapped.JSON())
	}
	if len(bare.Input.Tags) != 1 || *bare.Input.Tags[0].Key != "k" {
		t.Errorf("tags = %+v", bare.Input.Tags)
	}
}

func TestPositions(t *testing.T) {
	backend := mustLoad(t, fixture("backend-task.json"))
	nexus := mustLoad(t, fixture("nexus-task.json"))
	file := fixture("backend-task.json")
	tests := []struct {
		td   *TaskDef
		path string
		want string
	}{
		{backend, "containerDefinitions[springboot]", file + ":4:1"},
		{backend, "containerDefinitions[springboot].essential", file + ":9:1"},
		{backend, "containerDefinitions[nginx]", file + ":14:1"},
		{backend, "containerDefinitions[nginx].image", file + ":16:1"},
		{backend, "containerDefinitions[nginx].links", file + ":18:1"},
		{backend, "containerDefinitions[nginx].links[0]", file + ":19:1"},
		{backend, "containerDefinitions[nginx].portMappings[nginx-80-tcp].hostPort", file + ":25:1"},
		{backend, "networkMode", file + ":39:1"},
		{backend, "cpu", file + ":61:1"},
		{backend, "memory", file + ":62:1"},
		// absent fields fall back to the closest written ancestor
		{backend, "containerDefinitions[nginx].stopTimeout", file + ":14:1"},
		{backend, "containerDefinitions[nope].image", file + ":3:1"},
		{nexus, "containerDefinitions[nexus].ulimits[nofile].softLimit", fixture("nexus-task.json") + ":37:25"},
		{nexus, "containerDefinitions[nexus].stopTimeout", fixture("nexus-task.json") + ":33:17"},
		{nexus, "volumes[nexus].efsVolumeConfiguration.transitEncryption", fixture("nexus-task.json") + ":73:21"},
		{nexus, "tags[service]", fixture("nexus-task.json") + ":132:9"},
	}
	for _, tt := range tests {
		if got := tt.td.Pos(tt.path).String(); got != tt.want {
			t.Errorf("Pos(%q) = %s, want %s", tt.path, got, tt.want)
		}
	}
}

func TestContainerHelpers(t *testing.T) {
	backend := mustLoad(t, fixture("backend-task.json"))
	nginx := backend.Container("nginx")
	if nginx == nil || backend.Container("nope") != nil {
		t.Fatal("Container lookup is wrong")
	}
	if got := nginx.Links(); len(got) != 1 || got[0].Name != "springboot" || got[0].Alias != "springboot" || got[0].Pos.Line != 19 {
		t.Errorf("Links() = %+v", got)
	}
	if !nginx.Essential() || backend.Container("springboot").Essential() {
		t.Error("essential flags are wrong")
	}
	if got := nginx.ContainerPorts(); len(got) != 1 || got[0] != 80 {
		t.Errorf("ContainerPorts() = %v", got)
	}
	if backend.NetworkMode() != types.NetworkModeBridge || backend.RequiresCompatibility(types.CompatibilityFargate) {
		t.Error("backend is a bridge-mode EC2 task")
	}
	if names := []string{backend.Containers()[0].Name, backend.Containers()[1].Name}; names[0] != "springboot" || names[1] != "nginx" {
		t.Errorf("Containers() order = %v, want file order", names)
	}

	aliased := mustParse(t, `{"family": "f", "containerDefinitions": [{"name": "web", "links": ["app:backend", "db"]}]}`)
	links := aliased.Container("web").Links()
	if links[0].Name != "app" || links[0].Alias != "backend" || links[1].Name != "db" || links[1].Alias != "db" {
		t.Errorf("Links() = %+v", links)
	}
	if !aliased.Container("web").Essential() {
		t.Error("absent essential must mean true")
	}

	nexus := mustLoad(t, fixture("nexus-task.json"))
	if nexus.NetworkMode() != types.NetworkModeAwsvpc || !nexus.RequiresCompatibility(types.CompatibilityFargate) {
		t.Error("nexus is an awsvpc Fargate task")
	}
	if nexus.TaskRoleArn() != "arn:aws:iam::123456789012:role/nexus-task" || nexus.Family() != "nexus" {
		t.Error("task role or family is wrong")
	}
	efs := nexus.EFSVolumes()
	if len(efs) != 1 || efs[0].Name != "nexus" || *efs[0].Config.AuthorizationConfig.AccessPointId != "fsap-0123456789abcdef0" || efs[0].Pos.Line != 68 {
		t.Errorf("EFSVolumes() = %+v", efs)
	}
	if u := nexus.Container("nexus").Ulimit(types.UlimitNameNofile); u == nil || u.SoftLimit != 65536 {
		t.Errorf("Ulimit(nofile) = %+v", u)
	}
	if nexus.Container("nexus").Ulimit(types.UlimitNameNproc) != nil {
		t.Error("Ulimit(nproc) should be nil")
	}
	fargate := mustParse(t, `{"family": "f", "requiresCompatibilities": ["FARGATE"], "containerDefinitions": []}`)
	if fargate.NetworkMode() != types.NetworkModeAwsvpc {
		t.Error("a Fargate task without networkMode is awsvpc")
	}
}

func TestParseUnits(t *testing.T) {
	tests := []struct {
		in  string
		cpu int
		mem int
		okC bool
		okM bool
	}{
		{"1024", 1024, 1024, true, true},
		{"1 vCPU", 1024, 0, true, false},
		{"0.25 vcpu", 256, 0, true, false},
		{"4vCPU", 4096, 0, true, false},
		{"2 GB", 0, 2048, false, true},
		{"0.5 GB", 0, 512, false, true},
		{"30GB", 0, 30720, false, true},
		{"lots", 0, 0, false, false},
		{"-1", 0, 0, false, false},
	}
	for _, tt := range tests {
		c, okC := ParseCPU(tt.in)
		m, okM := ParseMemory(tt.in)
		if okC != tt.okC || (okC && c != tt.cpu) || okM != tt.okM || (okM && m != tt.mem) {
			t.Errorf("%q: ParseCPU = %d,%v ParseMemory = %d,%v", tt.in, c, okC, m, okM)
		}
	}
}

// DescribeJSON prints what Load reads back unchanged, for every fixture:
// the files `pier init` writes are task definitions like any other.
func TestDescribeJSONRoundTrip(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			td, err := Load(filepath.Join("..", "..", "testdata", "inforum", name))
			if err != nil {
				t.Fatal(err)
			}
			td.Input.Tags = append(td.Input.Tags, types.Tag{Key: aws.String("team"), Value: aws.String("inforum")})
			out := td.DescribeJSON()
			back, err := Parse(name, out)
			if err != nil {
				t.Fatalf("reading back:\n%s\n%v", out, err)
			}
			if !bytes.Equal(back.JSON(), td.JSON()) {
				t.Errorf("round trip changed the definition:\n%s\nwant\n%s", back.JSON(), td.JSON())
			}
			if !bytes.HasPrefix(out, []byte("{\n    \"taskDefinition\": {\n")) || !bytes.Contains(out, []byte("\n    \"tags\": [")) {
				t.Errorf("not in describe-task-definition shape:\n%s", out)
			}
			for _, ro := range ReadOnlyFields {
				if bytes.Contains(out, []byte(`"`+ro+`"`)) {
					t.Errorf("read-only field %s printed", ro)
				}
			}
		})
	}
}
