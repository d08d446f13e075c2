package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

const minimal = `
cluster: c
images:
  app:
    copy: docker.io/library/nginx:1.27
services:
  web:
    taskDefinition: web.json
    containers: { app: app }
`

func TestParseInforum(t *testing.T) {
	path := filepath.Join("..", "..", "testdata", "inforum", "pier.yaml")
	f, err := Load(path, env("GITHUB_SHA", "abc123"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "testdata", "inforum")
	if f.Dir != dir || f.Region != "ap-northeast-2" || f.Cluster != "inforum" || f.Tag != "abc123" || !f.CreateRepositories {
		t.Errorf("top level: %+v", f)
	}
	if got := names(f); got != "backend-springboot backend-nginx front-next front-nginx nexus | frontend backend nexus" {
		t.Errorf("images | services = %q", got)
	}
	img := f.Images[1]
	if img.Nginx == nil || img.Nginx.Config != filepath.Join(dir, "backend", "nginx.conf") ||
		img.Nginx.Files["/etc/nginx/blockuseragents.rules"] != filepath.Join(dir, "backend", "blockuseragents.rules") {
		t.Errorf("backend-nginx = %+v", img.Nginx)
	}
	if img.Pos != (Pos{path, 13, 3}) || img.Nginx.Pos != (Pos{path, 14, 5}) {
		t.Errorf("positions: image %v, builder %v", img.Pos, img.Nginx.Pos)
	}
	if c := f.Images[4].Copy; c == nil || c.Source != "docker.io/sonatype/nexus3:3.72.0" {
		t.Errorf("nexus copy = %+v", c)
	}
	be := f.Services[1]
	if be.Service != "backend" || be.Cluster != "inforum" || be.Strategy != Rolling || be.Timeout != 20*time.Minute ||
		be.DesiredCount == nil || *be.DesiredCount != 2 || be.TaskDefinition != filepath.Join(dir, "backend-task.json") {
		t.Errorf("backend = %+v", be)
	}
	if !reflect.DeepEqual(be.Containers, map[string]string{"springboot": "backend-springboot", "nginx": "backend-nginx"}) {
		t.Errorf("backend containers = %v", be.Containers)
	}
	if p := be.ContainerPos["nginx"]; p.Line != 33 || p.Col != 51 {
		t.Errorf("backend containers nginx at %v", p)
	}
	nx := f.Services[2]
	if nx.Strategy != Recreate || nx.HealthCheck == nil || nx.HealthCheck.Timeout != 10*time.Minute ||
		!strings.HasSuffix(nx.HealthCheck.URL, "/service/rest/v1/status/writable") {
		t.Errorf("nexus = %+v %+v", nx, nx.HealthCheck)
	}
}

func names(f *File) string {
	var s []string
	for _, i := range f.Images {
		s = append(s, i.Name)
	}
	s = append(s, "|")
	for _, v := range f.Services {
		s = append(s, v.Name)
	}
	return strings.Join(s, " ")
}

func TestParseDefaultsAndExpansion(t *testing.T) {
	tests := []struct {
		name   string
		yaml   string
		getenv func(string) string
		check  func(*File) string
	}{
		{"region from AWS_REGION", minimal, env("AWS_REGION", "eu-west-1", "AWS_DEFAULT_REGION", "us-east-1"),
			func(f *File) string { return f.Region }},
		{"region from AWS_DEFAULT_REGION", minimal, env("AWS_DEFAULT_REGION", "us-east-1"),
			func(f *File) string { return f.Region }},
		{"region in file wins", "region: ap-northeast-2\n" + minimal, env("AWS_REGION", "eu-west-1"),
			func(f *File) string { return f.Region }},
		{"defaults", minimal, env(), func(f *File) string {
			s := f.Services[0]
			return strings.Join([]string{s.Service, s.Cluster, string(s.Strategy), s.Timeout.String(), f.Images[0].Repository, s.TaskDefinition}, " ")
		}},
		{"default with nested var", "tag: ${A:-${B:-x}-y}\n" + minimal, env("B", "b"), func(f *File) string { return f.Tag }},
		{"set var beats default", "tag: ${A:-z}\n" + minimal, env("A", "a1"), func(f *File) string { return f.Tag }},
		{"dollar escape and bare $", minimal + "images2: x", nil, nil},
		{"repository and service override", strings.Replace(strings.Replace(minimal, "copy:", "repository: team/app\n    copy:", 1), "taskDefinition:", "service: svc\n    cluster: other\n    taskDefinition:", 1), env(),
			func(f *File) string {
				return f.Images[0].Repository + " " + f.Services[0].Service + " " + f.Services[0].Cluster
			}},
		{"healthCheck default timeout", minimal + "    healthCheck: { url: https://x.example.com/h }\n", env(),
			func(f *File) string { return f.Services[0].HealthCheck.Timeout.String() }},
		{"expansion in keys and lists", "platforms: ['${P:-linux/arm64}']\n" + strings.Replace(minimal, "{ app: app }", "{ \"${C:-app}\": app }", 1), env(),
			func(f *File) string { return f.Platforms[0] + " " + f.Services[0].Containers["app"] }},
		{"merge keys", `
cluster: c
images:
  app: { copy: "docker.io/x/y:1" }
x-common: &common
  taskDefinition: t.json
  strategy: recreate
services:
  a: { <<: *common, containers: { app: app } }
  b: { <<: *common, strategy: rolling }
`, env(), func(f *File) string { return string(f.Services[0].Strategy) + " " + string(f.Services[1].Strategy) }},
		{"files builder", `
cluster: c
images:
  tool:
    files:
      base: docker.io/library/alpine:3.20
      files: { /usr/local/bin/run: bin/run.sh }
      entrypoint: [/usr/local/bin/run]
      cmd: ["--port", "$$PORT", "$HOME"]
      env: { MODE: "${MODE:-prod}" }
      user: "1000"
      workdir: /app
services:
  s: { taskDefinition: t.json }
`, env(), func(f *File) string {
			b := f.Images[0].Files
			return strings.Join(append(append(b.Entrypoint, b.Cmd...), b.Env["MODE"], b.User, b.Workdir, b.Files["/usr/local/bin/run"]), " ")
		}},
		{"oci as mapping", "cluster: c\nimages:\n  o: { oci: { path: build/layout } }\nservices:\n  s: { taskDefinition: t.json }\n", env(),
			func(f *File) string { return f.Images[0].OCI.Path }},
	}
	want := map[string]string{
		"region from AWS_REGION":          "eu-west-1",
		"region from AWS_DEFAULT_REGION":  "us-east-1",
		"region in file wins":             "ap-northeast-2",
		"defaults":                        "web c rolling 20m0s app dir/web.json",
		"default with nested var":         "b-y",
		"set var beats default":           "a1",
		"repository and service override": "team/app svc other",
		"healthCheck default timeout":     "5m0s",
		"expansion in keys and lists":     "linux/arm64 app",
		"merge keys":                      "recreate rolling",
		"files builder":                   "/usr/local/bin/run --port $PORT $HOME prod 1000 /app dir/bin/run.sh",
		"oci as mapping":                  "dir/build/layout",
	}
	for _, tt := range tests {
		if tt.check == nil {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("dir/pier.yaml", []byte(tt.yaml), tt.getenv)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.check(f); got != want[tt.name] {
				t.Errorf("got %q, want %q", got, want[tt.name])
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // each a full error line
	}{
		{"misspelt key", strings.Replace(minimal, "containers:", "contianers:", 1),
			[]string{`p.yaml:9:5: unknown key "contianers" in service "web" (did you mean "containers"?); known keys: service, cluster, taskDefinition, containers, strategy, desiredCount, healthCheck, keepRevisions, timeout`}},
		{"unknown top key, wrong case", "Cluster: c\n" + minimal[len("\ncluster: c\n"):],
			[]string{`p.yaml:1:1: unknown key "Cluster" in the top level of p.yaml (did you mean "cluster"?); known keys: region, cluster, registry, tag, platforms, createRepositories, context, images, services`,
				`p.yaml:6:3: service "web" has no cluster: set cluster: at the top of the file or in the service (probably because of the unknown key "Cluster" at line 1)`}},
		// A misspelt key comes before the errors it causes, even when they
		// sit earlier in the file.
		{"misspelt services: at the end", "cluster: c\nimages: {}\nservics:\n  s: { taskDefinition: t.json }\n",
			[]string{`p.yaml:3:1: unknown key "servics" in the top level of p.yaml (did you mean "services"?); known keys: region, cluster, registry, tag, platforms, createRepositories, context, images, services`,
				`p.yaml:1:1: p.yaml has no services: section: add one service per ECS service to deploy (probably because of the unknown key "servics" at line 3)`}},
		{"misspelt cluster: after the services", "services:\n  a: { taskDefinition: t.json }\n  b: { taskDefinition: t.json }\nclustr: c\n",
			[]string{`p.yaml:4:1: unknown key "clustr" in the top level of p.yaml (did you mean "cluster"?); known keys: region, cluster, registry, tag, platforms, createRepositories, context, images, services`,
				`p.yaml:2:3: service "a" has no cluster: set cluster: at the top of the file or in the service (probably because of the unknown key "clustr" at line 4)`,
				`p.yaml:3:3: service "b" has no cluster: set cluster: at the top of the file or in the service (probably because of the unknown key "clustr" at line 4)`}},
		{"misspelt images: after the services", "cluster: c\nservices:\n  s: { taskDefinition: t.json, containers: { app: app } }\nimagse:\n  app: { copy: x }\n",
			[]string{`p.yaml:4:1: unknown key "imagse" in the top level of p.yaml (did you mean "images"?); known keys: region, cluster, registry, tag, platforms, createRepositories, context, images, services`,
				`p.yaml:3:46: service "s" container "app" uses image "app", which is not a key of images: (probably because of the unknown key "imagse" at line 4)`}},
		{"misspelt keys inside a service and an image", "cluster: c\nimages:\n  a:\n    ngnix: { config: n.conf }\n  b:\n    next: { dri: web }\nservices:\n  s:\n    clster: x\n    taskDefinitoin: t.json\n",
			[]string{`p.yaml:4:5: unknown key "ngnix" in image "a" (did you mean "nginx"?); known keys: repository, nginx, next, springboot, files, copy, oci`,
				`p.yaml:3:3: image "a" has no builder: give exactly one of nginx, next, springboot, files, copy, oci (probably because of the unknown key "ngnix" at line 4)`,
				`p.yaml:6:13: unknown key "dri" in image "b" builder next (did you mean "dir"?); known keys: base, dir`,
				`p.yaml:6:5: image "b" builder next needs dir: (probably because of the unknown key "dri" at line 6)`,
				`p.yaml:9:5: unknown key "clster" in service "s" (did you mean "cluster"?); known keys: service, cluster, taskDefinition, containers, strategy, desiredCount, healthCheck, keepRevisions, timeout`,
				`p.yaml:10:5: unknown key "taskDefinitoin" in service "s" (did you mean "taskDefinition"?); known keys: service, cluster, taskDefinition, containers, strategy, desiredCount, healthCheck, keepRevisions, timeout`,
				"p.yaml:8:3: service \"s\" needs taskDefinition: the path of its task definition JSON, as `aws ecs describe-task-definition` prints it (probably because of the unknown key \"taskDefinitoin\" at line 10)"}},
		{"yaml syntax error", "cluster: c\nservices:\n  web: [a\n  b: c\n",
			[]string{`p.yaml:3:3: YAML syntax error: did not find expected ',' or ']'`}},
		{"yaml tab", "cluster: c\n\tservices: {}\n", []string{`p.yaml:2:2: YAML syntax error: found a tab character that violates indentation`}},
		{"unknown anchor", minimal + "    strategy: *s\n", []string{`p.yaml:10:15: YAML syntax error: unknown anchor 's' referenced`}},
		{"block syntax error", "cluster: c\nservices:\n  a: b\n   c: d\n", []string{`p.yaml:4:4: YAML syntax error: mapping values are not allowed in this context`}},
		{"merge into itself", "cluster: c\nservices: &a { <<: *a }\n", []string{`p.yaml:2:20: services: this << merges a mapping into itself`}},
		{"merge into itself, nested", "cluster: c\nservices: &a { s: { taskDefinition: t.json, <<: [*a] } }\n", []string{
			`p.yaml:2:16: unknown key "s" in service "s"; known keys: service, cluster, taskDefinition, containers, strategy, desiredCount, healthCheck, keepRevisions, timeout`}},
		{"empty", "", []string{`p.yaml:1:1: the file is empty: it needs at least services: and images:`}},
		{"top is a list", "- a\n", []string{`p.yaml:1:1: the top of p.yaml must be a mapping (region:, images:, services: ...), not a list`}},
		{"two documents", minimal + "---\nx: 1\n", []string{`p.yaml:10:1: a second YAML document (after ---): a pipeline file holds one document`}},
		{"two builders", strings.Replace(minimal, "copy:", "oci: x.tar\n    copy:", 1),
			[]string{`p.yaml:5:5: image "app" has two builders, copy and oci: give exactly one`}},
		{"no builder", "cluster: c\nimages:\n  app: { repository: app }\nservices:\n  s: { taskDefinition: t.json }\n",
			[]string{`p.yaml:3:3: image "app" has no builder: give exactly one of nginx, next, springboot, files, copy, oci`}},
		{"builder missing field", "cluster: c\nimages:\n  a: { nginx: { base: x } }\n  b: { next: }\nservices:\n  s: { taskDefinition: t.json }\n",
			[]string{`p.yaml:3:8: image "a" builder nginx needs config:`, `p.yaml:4:8: image "b" builder next needs dir:`}},
		{"unknown image", strings.Replace(minimal, "{ app: app }", "{ app: ap }", 1),
			[]string{`p.yaml:9:19: service "web" container "app" uses image "ap", which is not a key of images: (did you mean "app"?)`}},
		{"bad strategy", minimal + "    strategy: recreat\n",
			[]string{`p.yaml:10:15: service "web" strategy must be rolling or recreate, not "recreat" (did you mean "recreate"?)`}},
		{"bad durations", minimal + "    timeout: 20\n    healthCheck: { url: 'ftp://x', timeout: -1m }\n",
			[]string{`p.yaml:10:14: service "web" timeout must be a positive duration such as 90s, 5m or 1h30m, not "20"`,
				`p.yaml:11:25: service "web" healthCheck url must be an http:// or https:// URL, not "ftp://x"`,
				`p.yaml:11:45: service "web" healthCheck timeout must be a positive duration such as 90s, 5m or 1h30m, not "-1m"`}},
		{"bad numbers and bool", "createRepositories: yes\n" + minimal + "    desiredCount: -1\n    keepRevisions: many\n",
			[]string{`p.yaml:1:21: createRepositories must be true or false, not "yes"`,
				`p.yaml:11:19: service "web" desiredCount must be a whole number from 0 to 2147483647, not "-1"`,
				`p.yaml:12:20: service "web" keepRevisions must be a whole number from 0 to 2147483647, not "many"`}},
		{"unset variable", "tag: v-${GITHUB_SHA}\n" + minimal,
			[]string{`p.yaml:1:8: environment variable GITHUB_SHA is not set: set it, or write ${GITHUB_SHA:-default} for a fallback`}},
		{"unset variable quoted", "tag: \"v-${X:?needed for the tag}\"\n" + minimal,
			[]string{`p.yaml:1:9: environment variable X: needed for the tag`}},
		{"unterminated", "tag: ab${X\n" + minimal, []string{`p.yaml:1:8: unterminated ${: add the closing }`}},
		{"bad reference", "tag: ${1X}\n" + minimal, []string{`p.yaml:1:6: invalid variable reference ${1X}: a name is letters, digits and _ and does not start with a digit`}},
		{"bad tag and platform", "tag: -x\nplatforms: [linux]\n" + minimal,
			[]string{`p.yaml:1:6: tag "-x" is not a valid image tag: up to 128 letters, digits, _, . and -, not starting with . or -`,
				`p.yaml:2:13: platform "linux" must look like linux/amd64 or linux/arm64`}},
		{"duplicate key", minimal + "  web:\n    taskDefinition: x.json\n",
			[]string{`p.yaml:10:3: services: duplicate key "web" (first at line 7)`}},
		{"bad repository and clash", "cluster: c\nimages:\n  App: { copy: x }\n  b: { repository: app2, copy: y }\n  c: { repository: app2, copy: z }\nservices:\n  s: { taskDefinition: t.json }\n",
			[]string{`p.yaml:3:3: image "App": "App" is not a valid ECR repository name (lowercase letters, digits, . _ - and / between parts); set repository: to a valid name`,
				`p.yaml:5:3: image "c" pushes to repository "app2" like image "b" (line 4): their tags would overwrite each other`}},
		{"no services, no task definition", "cluster: c\nimages: {}\n",
			[]string{`p.yaml:1:1: p.yaml has no services: section: add one service per ECS service to deploy`}},
		{"service without task definition", "cluster: c\nservices:\n  s:\n",
			[]string{"p.yaml:3:3: service \"s\" needs taskDefinition: the path of its task definition JSON, as `aws ecs describe-task-definition` prints it"}},
		{"wrong shapes", "cluster: [a]\nimages: [a]\nservices:\n  s: { taskDefinition: t.json, containers: [a] }\n",
			[]string{`p.yaml:1:10: cluster must be a single value, not a list`,
				`p.yaml:2:9: images must be a mapping (key: value lines), not a list`,
				`p.yaml:4:44: service "s" containers must be a mapping (key: value lines), not a list`}},
		{"relative file destination", "cluster: c\nimages:\n  n: { nginx: { config: n.conf, files: { rules: r } } }\nservices:\n  s: { taskDefinition: t.json }\n",
			[]string{`p.yaml:3:42: image "n" builder nginx files: destination "rules" must be an absolute path in the image, such as /etc/nginx/rules`}},
		{"two services on one ECS service", "cluster: c\nservices:\n  a: { taskDefinition: t.json }\n  b: { service: a, taskDefinition: t.json }\n",
			[]string{`p.yaml:4:3: service "b" deploys ECS service "a" in cluster "c" like service "a" (line 3): two entries would fight over one service`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tt.yaml), env())
			if err == nil {
				t.Fatal("no error")
			}
			list := AsErrors(err)
			if list == nil {
				t.Fatalf("error without position: %v", err)
			}
			var got []string
			for _, e := range list {
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// A few lines of anchors, each merging the previous one twice, would make
// 2^40 merges; the parser gives up after a bound instead of hanging.
func TestMergeBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("x-0: &a0 { timeout: 1m }\n")
	for i := 1; i < 40; i++ {
		fmt.Fprintf(&b, "x-%d: &a%d { <<: [*a%d, *a%d] }\n", i, i, i-1, i-1)
	}
	b.WriteString("cluster: c\nservices:\n  s: { taskDefinition: t.json, <<: *a39 }\n")
	_, err := Parse("p.yaml", []byte(b.String()), env())
	want := `p.yaml:5:22: service "s" (merged with <<): more than 1000 << merges: simplify the anchors`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), env())
	if err == nil || AsErrors(err) != nil || !strings.Contains(err.Error(), "reading pipeline file") {
		t.Fatalf("err = %v", err)
	}
	var e *Error
	if errors.As(err, &e) {
		t.Fatal("an unreadable file is not an input error with a position")
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"containers", "taskDefinition", "strategy", "timeout", "url"}
	for in, want := range map[string]string{
		"contianers": "containers", "task_definition": "taskDefinition", "TaskDefinition": "taskDefinition",
		"stratgy": "strategy", "timout": "timeout", "uri": "url", "replicas": "", "u": "",
	} {
		if got := Suggest(in, keys); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte("tag: ${A:-${B:-x}}\n" + minimal))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("services: { <<: [*a] }"))
	f.Add([]byte("x-a: &a { strategy: recreate }\nservices: &s { w: { <<: [*a, *s], taskDefinition: t } }\n"))
	f.Add([]byte("images:\n  a: { files: { base: b, files: { /x: y }, env: { A: $$ } } }\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("f.yaml", data, env("A", "1"))
		if err != nil {
			list := AsErrors(err)
			if list == nil {
				t.Fatalf("error without a position: %v", err)
			}
			for _, e := range list {
				if e.Pos.File != "f.yaml" || e.Pos.Line < 1 || e.Pos.Col < 1 {
					t.Fatalf("error with incomplete position %+v: %v", e.Pos, e)
				}
			}
			return
		}
		if file == nil {
			t.Fatal("nil file without error")
		}
		for _, s := range file.Services {
			if s.Strategy != Rolling && s.Strategy != Recreate {
				t.Fatalf("accepted strategy %q", s.Strategy)
			}
		}
	})
}

func TestLookups(t *testing.T) {
	f, err := Load(filepath.Join("..", "..", "testdata", "inforum", "pier.yaml"), env())
	if err != nil {
		t.Fatal(err)
	}
	var builders []string
	for _, img := range f.Images {
		if f.Image(img.Name) != img {
			t.Errorf("Image(%q) is not the image", img.Name)
		}
		builders = append(builders, img.Builder())
	}
	if got := strings.Join(builders, " "); got != "springboot nginx next nginx copy" {
		t.Errorf("builders = %q", got)
	}
	if f.Image("nope") != nil || f.Service("nope") != nil || f.Service("backend") != f.Services[1] {
		t.Error("lookups by name")
	}
	all, err := f.SelectServices()
	if err != nil || len(all) != 3 {
		t.Errorf("SelectServices() = %d services, %v", len(all), err)
	}
	two, err := f.SelectServices("nexus", "backend", "nexus")
	if err != nil || len(two) != 2 || two[0].Name != "nexus" || two[1].Name != "backend" {
		t.Errorf("SelectServices(nexus, backend, nexus) = %v, %v", two, err)
	}
	_, err = f.SelectServices("backnd")
	if err == nil || !strings.Contains(err.Error(), `has no service "backnd" (did you mean "backend"?); its services are frontend, backend, nexus`) {
		t.Errorf("unknown service: %v", err)
	}
}
