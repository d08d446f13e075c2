package lint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/config"
)

const basePier = `cluster: c
images:
  app: { copy: docker.io/library/app:1 }
  web-nginx: { nginx: { config: nginx.conf } }
services:
  web:
    taskDefinition: task.json
    containers: { app: app, nginx: web-nginx }
`

const baseTask = `{
  "family": "web",
  "networkMode": "bridge",
  "containerDefinitions": [
    {"name": "app", "image": "x", "essential": true, "portMappings": [{"containerPort": 8080}]},
    {"name": "nginx", "image": "y", "links": ["app"],
     "portMappings": [{"containerPort": 80, "hostPort": 0}]}
  ]
}
`

const baseNginx = `events {}
http {
    add_header X-Frame-Options SAMEORIGIN;
    server {
        listen 80;
        location / {
            proxy_pass http://app:8080;
        }
    }
}
`

// replaceIn replaces text in files[name] as edits says (old → new); old text the
// file does not hold fails the test, so an edit cannot silently stop applying.
func replaceIn(t *testing.T, files map[string]string, name string, edits map[string]string) {
	t.Helper()
	for old, new := range edits {
		if !strings.Contains(files[name], old) {
			t.Fatalf("%s has no %q", name, old)
		}
		files[name] = strings.ReplaceAll(files[name], old, new)
	}
}

// lintFiles writes the files into a temporary directory, lints them as
// `pier lint` would, and returns the findings with the directory stripped.
func lintFiles(t *testing.T, files map[string]string) []Finding {
	t.Helper()
	dir := t.TempDir()
	return relative(Check(loadFiles(t, dir, files)), dir)
}

// loadFiles writes files into dir and loads them as `pier lint` would.
func loadFiles(t *testing.T, dir string, files map[string]string) *Input {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := config.Load(filepath.Join(dir, "pier.yaml"), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	in, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// relative strips dir from the findings' files and messages.
func relative(fs []Finding, dir string) []Finding {
	for i := range fs {
		fs[i].Pos.File = filepath.ToSlash(strings.TrimPrefix(fs[i].Pos.File, dir+string(filepath.Separator)))
		fs[i].Message = strings.ReplaceAll(fs[i].Message, dir+string(filepath.Separator), "")
	}
	return fs
}

// want is one expected finding: "file:line:col: severity: rule" and a part
// of the message.
type want struct{ where, says string }

func TestRules(t *testing.T) {
	tests := []struct {
		name  string
		pier  string            // default basePier
		task  string            // default baseTask
		nginx string            // default baseNginx
		edit  map[string]string // old → new replacements in task.json
		want  []want
	}{
		{name: "clean"},
		{name: "link to a missing container",
			edit: map[string]string{`"links": ["app"]`: `"links": ["ap"]`},
			want: []want{
				{"nginx.conf:7:24: error: proxy-pass-host", `host "app" is not a link of container "nginx" of task task.json (service "web")`},
				{"task.json:6:47: error: link-target", `container "nginx" links to "ap", but the task has no container of that name (containers: app, nginx); did you mean "app"?`},
			}},
		{name: "renamed app container",
			pier: strings.Replace(basePier, "{ app: app,", "{ app2: app,", 1),
			edit: map[string]string{`"name": "app"`: `"name": "app2"`},
			want: []want{
				{"nginx.conf:7:24: error: proxy-pass-host", `host "app" is the link "app" of container "nginx" of task task.json (service "web") at task.json:6:47, but that task has no container "app" (containers: app2, nginx)`},
				{"task.json:6:47: error: link-target", `links to "app", but the task has no container of that name`},
			}},
		{name: "alias",
			edit:  map[string]string{`"links": ["app"]`: `"links": ["app:backend"]`},
			nginx: strings.Replace(baseNginx, "http://app:8080", "http://backend:8080", 1)},
		{name: "name instead of alias",
			edit: map[string]string{`"links": ["app"]`: `"links": ["app:backend"]`},
			want: []want{{"nginx.conf:7:24: error: proxy-pass-host", `its links are backend`}}},
		{name: "links outside bridge",
			edit: map[string]string{`"networkMode": "bridge"`: `"networkMode": "awsvpc"`, `"hostPort": 0`: `"hostPort": 80`},
			want: []want{
				{"nginx.conf:7:24: error: proxy-pass-host", `host "app" does not resolve in container "nginx" of task task.json (service "web"), which uses awsvpc network mode where containers have no links: containers of the task reach each other on localhost, e.g. http://localhost:8080`},
				{"task.json:6:47: error: links-network-mode", `container "nginx" has links, which ECS only allows in bridge network mode, but the task uses awsvpc`},
			}},
		{name: "localhost in awsvpc",
			edit:  map[string]string{`"networkMode": "bridge"`: `"networkMode": "awsvpc"`, `"links": ["app"],`: ``, `"hostPort": 0`: `"hostPort": 80`},
			nginx: strings.Replace(baseNginx, "http://app:8080", "http://127.0.0.1:8080", 1)},
		{name: "localhost in bridge",
			nginx: strings.Replace(baseNginx, "http://app:8080", "http://localhost:8080", 1),
			want:  []want{{"nginx.conf:7:24: warning: proxy-pass-host", `in bridge network mode localhost is the nginx container itself`}}},
		{name: "dns names, variables and unix sockets are not checked",
			nginx: strings.Replace(baseNginx, "proxy_pass http://app:8080;", "proxy_pass https://api.example.com; proxy_pass http://$host; proxy_pass http://unix:/tmp/s.sock;", 1)},
		{name: "upstream servers",
			nginx: strings.Replace(strings.Replace(baseNginx, "http://app:8080", "http://pool", 1), "    server {", "    upstream pool { server app:8080; server api:8080; }\n    server {", 1),
			want:  []want{{"nginx.conf:4:45: error: proxy-pass-host", `proxy_pass http://pool (upstream pool, server api:8080) in image "web-nginx": host "api" is not a link`}}},
		{name: "port not declared",
			nginx: strings.Replace(baseNginx, "http://app:8080", "http://app:9090", 1),
			want:  []want{{"nginx.conf:7:24: warning: proxy-pass-port", `port 9090 is not among the ports container "app" declares in task task.json (8080)`}}},
		{name: "default port 80 not declared",
			nginx: strings.Replace(baseNginx, "http://app:8080", "http://app/api/", 1),
			want:  []want{{"nginx.conf:7:24: warning: proxy-pass-port", `port 80 is not among`}}},
		{name: "no ports declared, no port check",
			edit:  map[string]string{`"portMappings": [{"containerPort": 8080}]`: `"portMappings": []`},
			nginx: strings.Replace(baseNginx, "http://app:8080", "http://app:9090", 1)},
		{name: "essential false on a linked container",
			edit: map[string]string{`"essential": true`: `"essential": false`},
			want: []want{{"task.json:5:35: warning: essential-link", `container "app" is linked from "nginx" but has essential: false: if it dies, nginx keeps the task alive and answers 502`}}},
		{name: "misspelt method in an allow list",
			nginx: strings.Replace(baseNginx, "            proxy_pass", "            if ($request_method !~ ^(GET|HEAD|POST|OPTION)$) { return 444; }\n            proxy_pass", 1),
			want:  []want{{"nginx.conf:7:52: warning: request-method", `"OPTION" is not an HTTP method (did you mean "OPTIONS"?): OPTIONS requests, and so CORS preflight requests, are rejected`}}},
		{name: "misspelt method in a deny check",
			nginx: strings.Replace(baseNginx, "            proxy_pass", "            if ($request_method = DELET) { return 405; }\n            proxy_pass", 1),
			want:  []want{{"nginx.conf:7:35: warning: request-method", `"DELET" is not an HTTP method (did you mean "DELETE"?): DELETE requests do not match this condition`}}},
		{name: "limit_except",
			nginx: strings.Replace(baseNginx, "            proxy_pass", "            limit_except GET POTS { deny all; }\n            proxy_pass", 1),
			want:  []want{{"nginx.conf:7:30: warning: request-method", `limit_except GET POTS: "POTS" is not an HTTP method (did you mean "POST"?): POST requests are rejected`}}},
		{name: "correct methods",
			nginx: strings.Replace(baseNginx, "            proxy_pass", "            if ($request_method !~ ^(GET|HEAD|POST|OPTIONS|PATCH)$) { return 444; }\n            limit_except GET { deny all; }\n            proxy_pass", 1)},
		{name: "add_header drops http headers",
			nginx: strings.Replace(baseNginx, "            proxy_pass", "            add_header Cache-Control no-store;\n            proxy_pass", 1),
			want:  []want{{"nginx.conf:7:13: warning: add-header-inheritance", `add_header in this location block drops the add_header directives of the enclosing http block at line 2 (X-Frame-Options)`}}},
		{name: "add_header repeated",
			nginx: strings.Replace(baseNginx, "            proxy_pass", "            add_header Cache-Control no-store;\n            add_header x-frame-options DENY;\n            proxy_pass", 1)},
		{name: "add_header_inherit merge",
			nginx: strings.Replace(baseNginx, "    server {", "    add_header_inherit merge;\n    server {", 1) + "",
		},
		{name: "image of a container pier does not build",
			pier: strings.Replace(basePier, "{ app: app, nginx: web-nginx }", "{ nginx: web-nginx }", 1),
			edit: map[string]string{`"image": "x"`: `"image": "~~/backend-springboot:latest"`},
			want: []want{{"task.json:5:21: error: image-reference", `container "app" has image "~~/backend-springboot:latest", which is not a valid image reference`}}},
		{name: "no image and not built",
			pier: strings.Replace(basePier, "{ app: app, nginx: web-nginx }", "{ nginx: web-nginx }", 1),
			edit: map[string]string{`"image": "x", `: ``},
			want: []want{{"task.json:5:5: error: image-reference", `container "app" has no image and service "web" does not build one for it`}}},
		{name: "latest and untagged",
			pier: strings.Replace(basePier, "{ app: app, nginx: web-nginx }", "{}", 1),
			edit: map[string]string{`"image": "x"`: `"image": "public.ecr.aws/x/app:latest"`, `"image": "y"`: `"image": "nginx"`},
			want: []want{
				{"task.json:5:21: warning: image-tag", `container "app" uses "public.ecr.aws/x/app:latest": ECS pulls whatever :latest points to`},
				{"task.json:6:23: warning: image-tag", `container "nginx" has untagged image "nginx", which means :latest`},
			}},
		{name: "pinned images",
			pier: strings.Replace(basePier, "{ app: app, nginx: web-nginx }", "{}", 1),
			edit: map[string]string{`"image": "x"`: `"image": "localhost:5000/app:1.2"`, `"image": "y"`: `"image": "nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000"`}},
		{name: "containers: names a missing container",
			pier: strings.Replace(basePier, "{ app: app,", "{ ap: app, app: app,", 1),
			want: []want{{"pier.yaml:8:19: error: container-unknown", `service "web" builds container "ap", but task definition task.json has no container of that name (containers: app, nginx); did you mean "app"?`}}},
		{name: "recreate with two copies",
			pier: basePier + "    strategy: recreate\n    desiredCount: 2\n",
			want: []want{{"pier.yaml:6:3: error: recreate-desired-count", `service "web" uses strategy recreate with desiredCount 2`}}},
		{name: "missing build inputs",
			pier: strings.Replace(strings.Replace(basePier, "{ copy: docker.io/library/app:1 }", "{ springboot: { jar: build/app.jar } }", 1),
				"{ config: nginx.conf }", "{ config: nginx.conf, files: { /etc/nginx/x.rules: x.rules } }", 1),
			want: []want{
				{"pier.yaml:3:10: warning: build-input-missing", `image "app" builds from build/app.jar, which does not exist`},
				{"pier.yaml:4:16: warning: build-input-missing", `image "web-nginx" builds from x.rules, which does not exist`},
			}},
		{name: "missing per-platform build input",
			pier: strings.Replace(basePier, "{ copy: docker.io/library/app:1 }", "{ files: { base: scratch, platformFiles: { linux/amd64: { /bin/app: dist/app } } } }", 1),
			want: []want{{"pier.yaml:3:10: warning: build-input-missing", `image "app" builds from dist/app, which does not exist`}}},
		{name: "recreate with one copy", pier: basePier + "    strategy: recreate\n    desiredCount: 1\n"},
		{name: "secrets in environment",
			edit: map[string]string{`"essential": true,`: `"essential": true, "environment": [{"name": "DB_PASSWORD", "value": "hunter2"}, {"name": "API_KEY", "value": "k-123"}, {"name": "MONKEY", "value": "x"}, {"name": "GITHUB_TOKEN", "value": "ghp_x"}, {"name": "KEYCLOAK_URL", "value": "https://sso"}, {"name": "UPSTREAM", "value": "AKIAIOSFODNN7EXAMPLE"}],`},
			want: []want{
				{"task.json:5:70: warning: secret-in-environment", `container "app" sets DB_PASSWORD in environment`},
				{"task.json:5:115: warning: secret-in-environment", `sets API_KEY in environment`},
				{"task.json:5:188: warning: secret-in-environment", `sets GITHUB_TOKEN in environment (a name that looks like a secret)`},
				{"task.json:5:282: warning: secret-in-environment", `sets UPSTREAM in environment (a value shaped like a credential): its value is stored in plain text in the task definition, readable by anyone who can describe it; move it to secrets: {"name": "UPSTREAM", "valueFrom": ARN of a Secrets Manager secret or SSM Parameter Store parameter}`},
			}},
		{name: "awsvpc host port",
			edit:  map[string]string{`"networkMode": "bridge"`: `"networkMode": "awsvpc"`, `"links": ["app"],`: ``},
			nginx: strings.Replace(baseNginx, "http://app:8080", "http://localhost:8080", 1),
			want:  []want{{"task.json:7:45: error: awsvpc-host-port", `container "nginx" maps containerPort 80 to hostPort 0, but in awsvpc mode hostPort must equal containerPort or be left out`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"pier.yaml": basePier, "task.json": baseTask, "nginx.conf": baseNginx}
			if tt.pier != "" {
				files["pier.yaml"] = tt.pier
			}
			if tt.task != "" {
				files["task.json"] = tt.task
			}
			if tt.nginx != "" {
				files["nginx.conf"] = tt.nginx
			}
			replaceIn(t, files, "task.json", tt.edit)
			compare(t, lintFiles(t, files), tt.want)
		})
	}
}

func compare(t *testing.T, got []Finding, want []want) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		where := got[i].Pos.String() + ": " + string(got[i].Severity) + ": " + got[i].Rule
		ok = where == want[i].where && strings.Contains(got[i].Message, want[i].says)
	}
	if !ok {
		var g, w []string
		for _, f := range got {
			g = append(g, f.String())
		}
		for _, x := range want {
			w = append(w, x.where+": …"+x.says+"…")
		}
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
	}
}

func TestSecretValuesNeverPrinted(t *testing.T) {
	task := strings.Replace(baseTask, `"essential": true,`, `"essential": true, "environment": [{"name": "DB_PASSWORD", "value": "hunter2-s3cr3t"}],`, 1)
	fs := lintFiles(t, map[string]string{"pier.yaml": basePier, "task.json": task, "nginx.conf": baseNginx})
	var text, js strings.Builder
	if err := WriteText(&text, fs); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, fs); err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || strings.Contains(text.String()+js.String(), "hunter2") {
		t.Errorf("findings %v print the secret value or miss it:\n%s%s", fs, text.String(), js.String())
	}
}

func TestWriters(t *testing.T) {
	fs := []Finding{
		{Pos: config.Pos{File: "b.json", Line: 2, Col: 1}, Severity: Warning, Rule: "r2", Message: "m2"},
		{Pos: config.Pos{File: "a.yaml", Line: 9, Col: 3}, Severity: Error, Rule: "r1", Message: "m1"},
		{Pos: config.Pos{File: "a.yaml", Line: 9, Col: 3}, Severity: Error, Rule: "r0", Message: "m0"},
	}
	Sort(fs)
	var text, js strings.Builder
	_ = WriteText(&text, fs)
	_ = WriteJSON(&js, fs)
	wantText := "a.yaml:9:3: error: r0: m0\na.yaml:9:3: error: r1: m1\nb.json:2:1: warning: r2: m2\n2 errors, 1 warning\n"
	if text.String() != wantText {
		t.Errorf("text:\n%s\nwant:\n%s", text.String(), wantText)
	}
	if !strings.Contains(js.String(), `{
      "file": "a.yaml",
      "line": 9,
      "col": 3,
      "severity": "error",
      "rule": "r0",
      "message": "m0"
    }`) || !strings.Contains(js.String(), `"errors": 2,
  "warnings": 1`) {
		t.Errorf("json:\n%s", js.String())
	}
	js.Reset()
	_ = WriteJSON(&js, nil)
	if !strings.Contains(js.String(), `"findings": []`) {
		t.Errorf("no findings must still be a list: %s", js.String())
	}
}
