package lint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/nginxconf"
	"github.com/pier-deploy/pier/internal/taskdef"
)

// fuzzPier adds to basePier's web service a second copy and a recreate
// service on the same task, so the service rules see every fuzzed task
// both ways.
const fuzzPier = basePier + `    desiredCount: 2
  db:
    taskDefinition: task.json
    containers: { app: app }
    strategy: recreate
`

// FuzzCheck runs every rule over arbitrary task definitions and nginx
// configurations that parse: no panic, and every finding is complete and
// points into one of the files.
func FuzzCheck(f *testing.F) {
	f.Add([]byte(baseTask), []byte(baseNginx))
	for _, pair := range [][2]string{
		{"backend-task.json", "backend/nginx.conf"},
		{"frontend-task.json", "frontend/nginx.conf"},
		{"nexus-task.json", "frontend/nginx.conf"},
	} {
		task, err := os.ReadFile(filepath.Join("..", "..", "testdata", "inforum", pair[0]))
		if err != nil {
			f.Fatal(err)
		}
		conf, err := os.ReadFile(filepath.Join("..", "..", "testdata", "inforum", pair[1]))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(task, conf)
	}
	f.Add([]byte(`{"family":"f","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"3 vCPU","memory":"1 GB",
"volumes":[{"name":"v","efsVolumeConfiguration":{"fileSystemId":"fs-1","authorizationConfig":{"iam":"ENABLED","accessPointId":"a"}}}],
"containerDefinitions":[{"name":"app","image":"sonatype/nexus3","links":["x:y:z"],"ulimits":[{"name":"nofile"}],
"environment":[{"name":"DB_PASSWORD","value":"hunter22"},{"name":"API_KEY","value":"k-123456"}],"portMappings":[{"hostPort":1}]}]}`),
		[]byte("upstream u { server app; }\nserver { location / { proxy_pass http://u; add_header A b; if ($request_method !~ ^(GT)$) { return 405; } } }"))
	f.Fuzz(func(t *testing.T, task, conf []byte) {
		cfg, err := config.Parse("pier.yaml", []byte(fuzzPier), func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		td, err := taskdef.Parse(filepath.Join(cfg.Dir, "task.json"), task)
		if err != nil {
			return
		}
		nc, err := nginxconf.Parse(filepath.Join(cfg.Dir, "nginx.conf"), conf)
		if err != nil {
			return
		}
		var secrets []string
		for _, c := range td.Containers() {
			for _, kv := range c.Def.Environment {
				n, v := strings.ToUpper(deref(kv.Name)), deref(kv.Value)
				if len(v) >= 6 && (strings.Contains(n, "PASSWORD") || strings.Contains(n, "SECRET") || strings.Contains(n, "TOKEN") || strings.HasSuffix(n, "_KEY")) {
					secrets = append(secrets, v)
				}
			}
		}
		in := &Input{Config: cfg, Tasks: map[string]*taskdef.TaskDef{"web": td, "db": td}, Nginx: map[string]*nginxconf.Config{"web-nginx": nc}}
		for _, fd := range Check(in) {
			if fd.Severity != Error && fd.Severity != Warning || fd.Rule == "" || fd.Message == "" {
				t.Fatalf("incomplete finding %+v", fd)
			}
			file := filepath.Base(fd.Pos.File)
			if file != "pier.yaml" && file != "task.json" && file != "nginx.conf" || fd.Pos.Line < 1 || fd.Pos.Col < 1 {
				t.Fatalf("finding without a position in the files: %v", fd)
			}
			for _, v := range secrets {
				if strings.Contains(fd.Message, v) {
					t.Fatalf("finding prints the value %q of a secret-looking variable: %v", v, fd)
				}
			}
		}
	})
}
