package lint

import (
	"strings"
	"testing"
)

const nexusPier = `cluster: c
images:
  nexus: { copy: "docker.io/sonatype/nexus3:3.72.0" }
services:
  nexus:
    taskDefinition: nexus.json
    containers: { nexus: nexus }
    strategy: recreate
    desiredCount: 1
`

const nexusTask = `{
  "family": "nexus",
  "taskRoleArn": "arn:aws:iam::123456789012:role/nexus",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "cpu": "1 vCPU",
  "memory": "4 GB",
  "containerDefinitions": [
    {"name": "nexus", "image": "sonatype/nexus3:3.72.0",
     "portMappings": [{"containerPort": 8081, "hostPort": 8081}],
     "stopTimeout": 120,
     "ulimits": [{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}],
     "mountPoints": [{"sourceVolume": "data", "containerPath": "/nexus-data"}]}
  ],
  "volumes": [{"name": "data", "efsVolumeConfiguration": {
    "fileSystemId": "fs-1", "rootDirectory": "/", "transitEncryption": "ENABLED",
    "authorizationConfig": {"accessPointId": "fsap-1", "iam": "ENABLED"}}}]
}
`

func TestFargateEFSNexusRules(t *testing.T) {
	tests := []struct {
		name string
		pier string
		edit map[string]string
		want []want
	}{
		{name: "clean"},
		{name: "cpu memory pair",
			edit: map[string]string{`"memory": "4 GB"`: `"memory": "16384"`},
			want: []want{{"nexus.json:7:3: error: fargate-cpu-memory", `Fargate does not offer memory 16384 MiB with cpu 1024: use 2048 to 8192 MiB in steps of 1024`}}},
		{name: "quarter vCPU",
			edit: map[string]string{`"cpu": "1 vCPU"`: `"cpu": "256"`},
			want: []want{{"nexus.json:7:3: error: fargate-cpu-memory", `use 512, 1024 or 2048 MiB`}}},
		{name: "cpu not a Fargate size",
			edit: map[string]string{`"cpu": "1 vCPU"`: `"cpu": "1000"`},
			want: []want{{"nexus.json:6:3: error: fargate-cpu-memory", `cpu 1000 is not a Fargate size`}}},
		{name: "no task size",
			edit: map[string]string{`"cpu": "1 vCPU",`: ``, `"memory": "4 GB",`: ``},
			want: []want{{"nexus.json:5:3: error: fargate-cpu-memory", `does not set both task-level cpu and memory`}}},
		{name: "host port differs",
			edit: map[string]string{`"hostPort": 8081`: `"hostPort": 80`},
			want: []want{{"nexus.json:10:47: error: awsvpc-host-port", `maps containerPort 8081 to hostPort 80`}}},
		{name: "access point without transit encryption, root not /",
			edit: map[string]string{`"transitEncryption": "ENABLED"`: `"transitEncryption": "DISABLED"`, `"rootDirectory": "/"`: `"rootDirectory": "/nexus"`},
			want: []want{
				{"nexus.json:16:29: error: efs-access-point", `volume "data" uses access point fsap-1 with rootDirectory "/nexus"`},
				{"nexus.json:16:56: error: efs-access-point", `volume "data" mounts EFS through access point fsap-1, which needs transitEncryption: ENABLED`},
			}},
		{name: "IAM without a task role",
			edit: map[string]string{`"taskRoleArn": "arn:aws:iam::123456789012:role/nexus",`: ``},
			want: []want{{"nexus.json:17:56: error: efs-iam-role", `volume "data" uses EFS IAM authorization, which needs a taskRoleArn`}}},
		{name: "IAM without transit encryption or access point",
			edit: map[string]string{`"transitEncryption": "ENABLED"`: `"transitEncryption": "DISABLED"`, `"accessPointId": "fsap-1", `: ``},
			want: []want{{"nexus.json:16:51: error: efs-iam-role", `volume "data" uses EFS IAM authorization, which needs transitEncryption: ENABLED`}}},
		{name: "nexus upgraded with rolling, no ulimit, short stop timeout",
			pier: strings.Replace(nexusPier, "strategy: recreate", "strategy: rolling", 1),
			edit: map[string]string{`"stopTimeout": 120,`: `"stopTimeout": 30,`, `"ulimits": [{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}],`: ``},
			want: []want{
				{"nexus.json:9:5: warning: nexus-nofile", `container "nexus" runs Nexus and has no nofile ulimit`},
				{"nexus.json:11:6: warning: nexus-stop-timeout", `runs Nexus with stopTimeout 30 seconds`},
				{"pier.yaml:5:3: warning: nexus-strategy", `service "nexus" runs Nexus with strategy rolling`},
			}},
		{name: "nexus not built by pier, low soft limit, default stop timeout",
			pier: strings.Replace(nexusPier, "    containers: { nexus: nexus }\n", "", 1),
			edit: map[string]string{`"stopTimeout": 120,`: ``, `"softLimit": 65536`: `"softLimit": 1024`},
			want: []want{
				{"nexus.json:9:5: warning: nexus-stop-timeout", `with stopTimeout ECS's default of 30 seconds`},
				{"nexus.json:12:18: warning: nexus-nofile", `has nofile soft 1024 / hard 65536`},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"pier.yaml": nexusPier, "nexus.json": nexusTask}
			if tt.pier != "" {
				files["pier.yaml"] = tt.pier
			}
			replaceIn(t, files, "nexus.json", tt.edit)
			compare(t, lintFiles(t, files), tt.want)
		})
	}
}
