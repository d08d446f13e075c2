package lint

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/sim"
	"github.com/pier-deploy/pier/internal/taskdef"
)

const apiPier = `cluster: c
services:
  api:
    taskDefinition: api.json
`

const apiTask = `{
  "family": "api",
  "taskRoleArn": "arn:aws:iam::123456789012:role/api",
  "executionRoleArn": "ecsTaskExecutionRole",
  "networkMode": "bridge",
  "memory": "1024",
  "containerDefinitions": [
    {"name": "api", "image": "docker.io/library/api:1.2", "memory": 512,
     "portMappings": [{"containerPort": 8080, "hostPort": 8080}]},
    {"name": "log", "image": "docker.io/library/log:3", "essential": false, "links": ["api"]}
  ]
}
`

// Each definition ECS refuses at RegisterTaskDefinition (the simulator,
// which answers with ECS's ClientException, is the check) gets an error from
// lint first, at the line to edit.
func TestLintCatchesWhatRegisterTaskDefinitionRefuses(t *testing.T) {
	tests := []struct {
		name   string
		edit   map[string]string
		want   want
		refuse string // the simulator's ClientException
	}{
		{name: "clean"},
		{name: "redacted task role",
			edit:   map[string]string{`"arn:aws:iam::123456789012:role/api"`: `"~~/ecsTaskExecutionRole"`},
			want:   want{"api.json:3:3: error: role-arn", `taskRoleArn "~~/ecsTaskExecutionRole" is neither an IAM role ARN`},
			refuse: "Role is not valid"},
		{name: "execution role of a cluster",
			edit:   map[string]string{`"ecsTaskExecutionRole"`: `"arn:aws:ecs:us-east-1:123456789012:cluster/c"`},
			want:   want{"api.json:4:3: error: role-arn", `executionRoleArn "arn:aws:ecs:us-east-1:123456789012:cluster/c"`},
			refuse: "Role is not valid"},
		{name: "image with a trailing space",
			edit:   map[string]string{`"docker.io/library/api:1.2"`: `"docker.io/library/api:1.2 "`},
			want:   want{"api.json:8:21: error: image-reference", `container "api"`},
			refuse: "Container.image contains invalid characters."},
		{name: "image left as a shell variable",
			edit:   map[string]string{`"docker.io/library/api:1.2"`: `"$IMAGE_NAME:latest"`},
			want:   want{"api.json:8:21: error: image-reference", `container "api"`},
			refuse: "Container.image contains invalid characters."},
		{name: "no essential container",
			edit:   map[string]string{`"memory": 512,`: `"memory": 512, "essential": false,`},
			want:   want{"api.json:7:3: error: essential-container", `every container has essential: false`},
			refuse: "Task definition doesn't have any essential container."},
		{name: "container memory above the task's",
			edit:   map[string]string{`"memory": 512,`: `"memory": 2048,`},
			want:   want{"api.json:8:59: error: container-memory", `container "api" sets memory 2048 MiB, more than the task's 1024 MiB`},
			refuse: "The 'memory' setting for container 'api' is greater than for the task."},
		{name: "awsvpc host port",
			edit:   map[string]string{`"bridge"`: `"awsvpc"`, `, "links": ["api"]`: ``, `"hostPort": 8080`: `"hostPort": 80`},
			want:   want{"api.json:9:47: error: awsvpc-host-port", `maps containerPort 8080 to hostPort 80`},
			refuse: "When networkMode=awsvpc, the host ports and container ports in port mappings must match."},
		{name: "host mode host port",
			edit:   map[string]string{`"bridge"`: `"host"`, `, "links": ["api"]`: ``, `"hostPort": 8080`: `"hostPort": 80`},
			want:   want{"api.json:9:47: error: host-mode-host-port", `maps containerPort 8080 to hostPort 80`},
			refuse: "When networkMode=host, the host ports and container ports in port mappings must match."},
		{name: "links in awsvpc",
			edit:   map[string]string{`"bridge"`: `"awsvpc"`},
			want:   want{"api.json:10:87: error: links-network-mode", `container "log" has links`},
			refuse: "Links are not supported when networkMode=awsvpc."},
		{name: "Fargate size",
			edit: map[string]string{`"bridge"`: `"awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "1024"`,
				`, "links": ["api"]`: ``, `"memory": "1024"`: `"memory": "1536"`},
			want:   want{"api.json:6:3: error: fargate-cpu-memory", `Fargate does not offer memory 1536 MiB with cpu 1024`},
			refuse: "No Fargate configuration exists for given values: 1024 CPU, 1536 memory. See the Amazon ECS documentation for the valid values."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"pier.yaml": apiPier, "api.json": apiTask}
			replaceIn(t, files, "api.json", tt.edit)
			dir := t.TempDir()
			fs := relative(Check(loadFiles(t, dir, files)), dir)
			var errs []Finding
			for _, f := range fs {
				if f.Severity == Error {
					errs = append(errs, f)
				}
			}
			if tt.refuse == "" {
				compare(t, errs, nil)
			} else {
				compare(t, errs, []want{tt.want})
			}

			td, err := taskdef.Load(filepath.Join(dir, "api.json"))
			if err != nil {
				t.Fatal(err)
			}
			in, err := td.RegisterInput()
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = sim.New().RegisterTaskDefinition(in)
			switch {
			case tt.refuse == "" && err != nil:
				t.Errorf("the simulator refused the clean definition: %v", err)
			case tt.refuse != "" && (err == nil || !strings.Contains(err.Error(), tt.refuse)):
				t.Errorf("the simulator answered %v, want ECS's %q", err, tt.refuse)
			}
		})
	}
}
