package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/golden"
)

// update is shared by every golden-file test of package cli.
var update = flag.Bool("update", false, "rewrite golden files")

// runPier runs pier in-process with a fixed environment and returns exit
// code, stdout and stderr.
func runPier(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), args, &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

// goldenFile compares got with testdata/name, or rewrites it under -update.
func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), []byte(got), *update)
}

const inforum = "../../testdata/inforum/pier.yaml"

func TestLintInforum(t *testing.T) {
	for _, output := range []string{"text", "json"} {
		t.Run(output, func(t *testing.T) {
			code, stdout, stderr := runPier(t, nil, "lint", "-f", inforum, "--output", output)
			if code != ExitOK || stderr != "" {
				t.Fatalf("exit %d, stderr:\n%s\nstdout:\n%s", code, stderr, stdout)
			}
			goldenFile(t, "lint-inforum."+output, stdout)
			if output == "json" {
				var doc struct {
					Findings []struct{ File, Rule, Severity string }
					Errors   int
					Warnings int
				}
				if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
					t.Fatal(err)
				}
				if doc.Errors != 0 || doc.Warnings != len(doc.Findings) || doc.Warnings == 0 {
					t.Errorf("counts: %+v", doc)
				}
			}
		})
	}
	// The acceptance facts, independent of the golden file's wording.
	_, stdout, _ := runPier(t, nil, "lint", "-f", inforum)
	for _, re := range []string{
		`(?m)^\.\./\.\./testdata/inforum/frontend/nginx\.conf:26:\d+: warning: request-method: .*"OPTION"`,
		`(?m)^\.\./\.\./testdata/inforum/backend-task\.json:\d+:\d+: warning: essential-link: container "springboot"`,
		`(?m)^\.\./\.\./testdata/inforum/frontend-task\.json:\d+:\d+: warning: essential-link: container "next"`,
	} {
		if !regexp.MustCompile(re).MatchString(stdout) {
			t.Errorf("lint output does not match %s:\n%s", re, stdout)
		}
	}
	if code, _, _ := runPier(t, nil, "lint", "--strict", "-f", inforum); code != ExitFailed {
		t.Errorf("lint --strict with warnings: exit %d, want %d", code, ExitFailed)
	}
}

// copyInforum copies the inforum files lint reads into a temporary
// directory, applying edits (file → old → new), and returns its pier.yaml.
func copyInforum(t *testing.T, edits map[string][2]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"pier.yaml", "backend-task.json", "frontend-task.json", "nexus-task.json", "backend/nginx.conf", "frontend/nginx.conf"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "inforum", name))
		if err != nil {
			t.Fatal(err)
		}
		if e, ok := edits[name]; ok {
			if !bytes.Contains(data, []byte(e[0])) {
				t.Fatalf("%s has no %q", name, e[0])
			}
			data = bytes.Replace(data, []byte(e[0]), []byte(e[1]), 1)
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "pier.yaml")
}

func TestLintRenamedContainer(t *testing.T) {
	pier := copyInforum(t, map[string][2]string{"backend-task.json": {`"name": "springboot"`, `"name": "spring-boot"`}})
	dir := filepath.Dir(pier)
	code, stdout, stderr := runPier(t, nil, "lint", "-f", pier)
	if code != ExitFailed {
		t.Fatalf("exit %d, want %d; stderr:\n%s\nstdout:\n%s", code, ExitFailed, stderr, stdout)
	}
	task := filepath.Join(dir, "backend-task.json")
	conf := filepath.Join(dir, "backend", "nginx.conf")
	// One error sits on the proxy_pass line and names the task file and the link.
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(conf) + `:26:\d+: error: proxy-pass-host: .*"springboot".*` + regexp.QuoteMeta(task) + `:\d+:\d+.*no container "springboot"`)
	if !re.MatchString(stdout) {
		t.Errorf("no proxy_pass error naming the task file and the missing link:\n%s", stdout)
	}
	if !strings.Contains(stdout, task+":19:1: error: link-target: container \"nginx\" links to \"springboot\"") {
		t.Errorf("no link-target error at the link:\n%s", stdout)
	}
	if !strings.Contains(stdout, "error: container-unknown: service \"backend\" builds container \"springboot\"") {
		t.Errorf("no container-unknown error for pier.yaml:\n%s", stdout)
	}
}

func TestInputErrors(t *testing.T) {
	tests := []struct {
		name  string
		edits map[string][2]string
		file  string // the file named in the error, relative to the copy
		where string // line:col
		says  string // DIR stands for the copy's directory
	}{
		{"truncated JSON", map[string][2]string{"backend-task.json": {`"tags": []` + "\n}", `"tags": [`}},
			"backend-task.json", `\d+:\d+`, ""},
		{"YAML syntax error", map[string][2]string{"pier.yaml": {"images:\n", "images:\n  broken: [\n"}},
			"pier.yaml", "11:3", "YAML syntax error"},
		{"misspelt key", map[string][2]string{"pier.yaml": {"    containers: { springboot", "    contianers: { springboot"}},
			"pier.yaml", `33:5`, `unknown key "contianers" in service "backend" (did you mean "containers"?)`},
		{"nginx syntax error", map[string][2]string{"backend/nginx.conf": {"location / {", "location / {{"}},
			"backend/nginx.conf", `\d+:\d+`, ""},
		{"missing task definition", map[string][2]string{"pier.yaml": {"taskDefinition: backend-task.json", "taskDefinition: backend.json"}},
			"pier.yaml", `31:3`, `service "backend": reading task definition DIR/backend.json: no such file or directory; check its taskDefinition:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pier := copyInforum(t, tt.edits)
			code, stdout, stderr := runPier(t, nil, "lint", "-f", pier)
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d; stderr:\n%s\nstdout:\n%s", code, ExitUsage, stderr, stdout)
			}
			file := filepath.Join(filepath.Dir(pier), tt.file)
			says := strings.ReplaceAll(tt.says, "DIR", filepath.Dir(pier))
			re := regexp.MustCompile(`^` + regexp.QuoteMeta(file) + `:` + tt.where + `: .*` + regexp.QuoteMeta(says))
			if !re.MatchString(stderr) {
				t.Errorf("stderr does not start with %s:%s: …%s:\n%s", tt.file, tt.where, tt.says, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout should be empty on an input error:\n%s", stdout)
			}
		})
	}
}

func TestLintUsage(t *testing.T) {
	if code, _, stderr := runPier(t, nil, "lint", "extra"); code != ExitUsage || !strings.Contains(stderr, "unexpected argument") {
		t.Errorf("lint extra: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr := runPier(t, nil, "lint", "-f", filepath.Join(t.TempDir(), "none.yaml"))
	if code != ExitUsage || !strings.HasPrefix(stderr, "pier lint: reading pipeline file: ") {
		t.Errorf("missing file: exit %d, stderr %q", code, stderr)
	}
}

func regexpQuote(s string) string { return regexp.QuoteMeta(s) }

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

func TestLintNginx(t *testing.T) {
	if _, err := exec.LookPath("nginx"); err != nil {
		if os.Getenv("PIER_INTEGRATION") == "1" {
			t.Fatalf("PIER_INTEGRATION=1 but nginx is not installed: %v", err)
		}
		t.Skip("nginx is not installed")
	}
	// The inforum configs pass nginx -t with their blockuseragents.rules.
	code, stdout, stderr := runPier(t, nil, "lint", "--nginx", "-f", inforum)
	if code != ExitOK || stderr != "" {
		t.Fatalf("exit %d, stderr:\n%s\nstdout:\n%s", code, stderr, stdout)
	}
	goldenFile(t, "lint-inforum.text", stdout) // nginx adds nothing to the findings

	// A directive nginx does not know fails on its line.
	pier := copyInforum(t, map[string][2]string{"backend/nginx.conf": {"proxy_http_version 1.1;", "proxy_http_versio 1.1;"}})
	for _, rules := range []string{"backend", "frontend"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "inforum", rules, "blockuseragents.rules"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(filepath.Dir(pier), rules, "blockuseragents.rules"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, _ = runPier(t, nil, "lint", "--nginx", "-f", pier)
	conf := filepath.Join(filepath.Dir(pier), "backend", "nginx.conf")
	if code != ExitFailed || !strings.Contains(stdout, conf+`:27:1: error: nginx-test: nginx -t rejects the config of image "backend-nginx": [emerg] unknown directive "proxy_http_versio"`) {
		t.Errorf("exit %d, stdout:\n%s", code, stdout)
	}
}
