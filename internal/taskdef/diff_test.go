package taskdef

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/plan"
)

// td builds a one-container definition from JSON fragments.
func td(t *testing.T, task, container string) *TaskDef {
	t.Helper()
	if task != "" {
		task += ", "
	}
	if container != "" {
		container = ", " + container
	}
	if !strings.Contains(container, `"image"`) {
		container = `, "image": "app:1"` + container
	}
	return mustParse(t, fmt.Sprintf(`{%s"family": "f", "containerDefinitions": [{"name": "app"%s}]}`, task, container))
}

// diff is what pier's plan shows for a change from a (old) to b (new).
func diff(t *testing.T, a, b *TaskDef) []plan.Change {
	t.Helper()
	return fields(t, b).Diff(fields(t, a))
}

func equal(t *testing.T, a, b *TaskDef) bool {
	t.Helper()
	return fields(t, a).Equal(fields(t, b))
}

func fields(t *testing.T, td *TaskDef) plan.Fields {
	t.Helper()
	f, err := td.Fields()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestEqualUnderNormalization(t *testing.T) {
	tests := []struct {
		name         string
		taskA, contA string
		taskB, contB string
	}{
		{"environment order", "", `"environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]`,
			"", `"environment": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]`},
		{"secrets order", "", `"secrets": [{"name": "A", "valueFrom": "x"}, {"name": "B", "valueFrom": "y"}]`,
			"", `"secrets": [{"name": "B", "valueFrom": "y"}, {"name": "A", "valueFrom": "x"}]`},
		{"empty lists are absent", "", `"environment": [], "mountPoints": [], "volumesFrom": [], "portMappings": []`,
			`"volumes": [], "placementConstraints": []`, ``},
		{"essential defaults to true", "", `"essential": true`, "", ``},
		{"vCPU units", `"cpu": "1 vCPU"`, ``, `"cpu": "1024"`, ``},
		{"fractional vCPU", `"cpu": "0.25 vcpu"`, ``, `"cpu": "256"`, ``},
		{"GB units", `"memory": "2 GB"`, ``, `"memory": "2048"`, ``},
		{"fractional GB", `"memory": "0.5GB"`, ``, `"memory": "512"`, ``},
		{"awsvpc hostPort", `"networkMode": "awsvpc"`, `"portMappings": [{"containerPort": 8081}]`,
			`"networkMode": "awsvpc"`, `"portMappings": [{"containerPort": 8081, "hostPort": 8081, "protocol": "tcp"}]`},
		{"bridge dynamic hostPort", `"networkMode": "bridge"`, `"portMappings": [{"containerPort": 80}]`,
			``, `"portMappings": [{"containerPort": 80, "hostPort": 0, "protocol": "tcp"}]`},
		{"port order", "", `"portMappings": [{"containerPort": 80}, {"containerPort": 443}]`,
			"", `"portMappings": [{"containerPort": 443}, {"containerPort": 80}]`},
		{"ulimits order", "", `"ulimits": [{"name": "nofile", "softLimit": 1, "hardLimit": 2}, {"name": "core", "softLimit": 0, "hardLimit": 0}]`,
			"", `"ulimits": [{"name": "core", "softLimit": 0, "hardLimit": 0}, {"name": "nofile", "softLimit": 1, "hardLimit": 2}]`},
		{"mount points default readOnly", "", `"mountPoints": [{"sourceVolume": "v", "containerPath": "/d"}]`,
			"", `"mountPoints": [{"sourceVolume": "v", "containerPath": "/d", "readOnly": false}]`},
		{"health check defaults", "", `"healthCheck": {"command": ["CMD", "true"]}`,
			"", `"healthCheck": {"command": ["CMD", "true"], "interval": 30, "timeout": 5, "retries": 3}`},
		{"EFS defaults", `"volumes": [{"name": "v", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}]`, ``,
			`"volumes": [{"name": "v", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "rootDirectory": "/", "transitEncryption": "DISABLED"}}]`, ``},
		{"role by name or ARN", `"taskRoleArn": "app-task"`, ``, `"taskRoleArn": "arn:aws:iam::123456789012:role/app-task"`, ``},
		{"network mode default", ``, ``, `"networkMode": "bridge"`, ``},
		{"tags are not compared", `"tags": [{"key": "a", "value": "b"}]`, ``, ``, ``},
		{"read-only fields are dropped", `"revision": 3, "status": "ACTIVE", "taskDefinitionArn": "arn"`, ``, ``, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := td(t, tt.taskA, tt.contA), td(t, tt.taskB, tt.contB)
			if d := diff(t, a, b); len(d) != 0 {
				t.Errorf("Diff = %+v, want none", d)
			}
			if !equal(t, a, b) || !equal(t, b, a) {
				t.Error("Equal = false")
			}
		})
	}
}

func TestContainerOrderDoesNotMatter(t *testing.T) {
	a := mustParse(t, `{"family": "f", "containerDefinitions": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}`)
	b := mustParse(t, `{"family": "f", "containerDefinitions": [{"name": "b", "image": "y"}, {"name": "a", "image": "x"}]}`)
	if !equal(t, a, b) {
		t.Errorf("Diff = %v", diff(t, a, b))
	}
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name         string
		taskA, contA string
		taskB, contB string
		want         []plan.Change
	}{
		{"image", "", "", "", `"image": "app:2"`,
			[]plan.Change{{Path: "containerDefinitions[app].image", Old: "app:1", New: "app:2"}}},
		{"cpu units compare by value", `"cpu": "1 vCPU"`, "", `"cpu": "2048"`, "",
			[]plan.Change{{Path: "cpu", Old: "1024", New: "2048"}}},
		{"env value", "", `"environment": [{"name": "A", "value": "1"}]`, "", `"environment": [{"name": "A", "value": "2"}]`,
			[]plan.Change{{Path: "containerDefinitions[app].environment[A].value", Old: "1", New: "2"}}},
		{"env added", "", "", "", `"environment": [{"name": "A", "value": "1"}]`,
			[]plan.Change{{Path: "containerDefinitions[app].environment[A].name", New: "A"}, {Path: "containerDefinitions[app].environment[A].value", New: "1"}}},
		{"essential removed", "", `"essential": false`, "", ``,
			[]plan.Change{{Path: "containerDefinitions[app].essential", Old: "false", New: "true"}}},
		{"link added", "", ``, "", `"links": ["db"]`,
			[]plan.Change{{Path: "containerDefinitions[app].links[0]", New: "db"}}},
		{"different roles", `"taskRoleArn": "a"`, "", `"taskRoleArn": "arn:aws:iam::1:role/b"`, "",
			[]plan.Change{{Path: "taskRoleArn", Old: "a", New: "arn:aws:iam::1:role/b"}}},
		{"stop timeout", "", `"stopTimeout": 30`, "", `"stopTimeout": 120`,
			[]plan.Change{{Path: "containerDefinitions[app].stopTimeout", Old: "30", New: "120"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := diff(t, td(t, tt.taskA, tt.contA), td(t, tt.taskB, tt.contB))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Diff =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestDiffFixtures(t *testing.T) {
	backend := mustLoad(t, fixture("backend-task.json"))
	frontend := mustLoad(t, fixture("frontend-task.json"))
	var sb strings.Builder
	for _, c := range diff(t, backend, frontend) {
		fmt.Fprintf(&sb, "%s: %q → %q\n", c.Path, c.Old, c.New)
	}
	checkGolden(t, "backend-frontend.diff", []byte(sb.String()))
}

func TestWithImages(t *testing.T) {
	backend := mustLoad(t, fixture("backend-task.json"))
	ref := "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/backend-nginx@sha256:" + strings.Repeat("ab", 32)
	got := backend.WithImages(map[string]string{"nginx": ref, "no-such-container": "x"})
	if got.Container("nginx").Image() != ref {
		t.Errorf("nginx image = %q", got.Container("nginx").Image())
	}
	if got.Container("springboot").Image() != "~~/backend-springboot:latest" {
		t.Error("springboot image changed")
	}
	if backend.Container("nginx").Image() != "~~/backend-nginx:latest" {
		t.Error("WithImages changed the original")
	}
	want := []plan.Change{{Path: "containerDefinitions[nginx].image", Old: "~~/backend-nginx:latest", New: ref}}
	if d := diff(t, backend, got); !reflect.DeepEqual(d, want) {
		t.Errorf("Diff = %+v", d)
	}
	if got.Pos("containerDefinitions[nginx].image") != backend.Pos("containerDefinitions[nginx].image") {
		t.Error("positions are lost by WithImages")
	}
}

func TestNormalizeIsIdempotentAndPure(t *testing.T) {
	for _, name := range fixtures {
		orig := mustLoad(t, fixture(name))
		before := string(orig.JSON())
		once := orig.Normalize()
		twice := once.Normalize()
		if string(once.JSON()) != string(twice.JSON()) {
			t.Errorf("%s: Normalize is not idempotent", name)
		}
		if string(orig.JSON()) != before {
			t.Errorf("%s: Normalize changed its receiver", name)
		}
	}
}

func TestRegisterInputErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{`{"containerDefinitions": [{"name": "a", "image": "x"}]}`, `no "family"`},
		{`{"family": "f"}`, `no "containerDefinitions"`},
		{`{"family": "f", "containerDefinitions": [{"name": "a"}]}`, `container "a" has no "image"`},
		{`{"family": "f", "containerDefinitions": [{"image": "x"}]}`, `container 0 has no "name"`},
	}
	for _, tt := range tests {
		_, err := mustParse(t, tt.src).RegisterInput()
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "td.json") {
			t.Errorf("%s: err = %v, want %q naming the file", tt.src, err, tt.want)
		}
	}
	in, err := mustLoad(t, fixture("nexus-task.json")).RegisterInput()
	if err != nil {
		t.Fatal(err)
	}
	in.ContainerDefinitions[0].Image = nil // the copy is the caller's
	if _, err := mustLoad(t, fixture("nexus-task.json")).RegisterInput(); err != nil {
		t.Fatal(err)
	}
}
