package nginxconf

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/integration"
)

// extraFiles maps every *.rules file beside a config to /etc/nginx/, the
// way pier.yaml's nginx builder places them.
func extraFiles(t *testing.T, conf string) map[string]string {
	t.Helper()
	rules, err := filepath.Glob(filepath.Join(filepath.Dir(conf), "*.rules"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, r := range rules {
		files["/etc/nginx/"+filepath.Base(r)] = r
	}
	return files
}

// Every nginx config fixture passes the real nginx -t, as the image will
// run it.
func TestNginxAcceptsFixtures(t *testing.T) {
	integration.Program(t, "nginx", "nginx")
	for _, conf := range fixtures(t) {
		t.Run(conf, func(t *testing.T) {
			if err := Check(context.Background(), conf, extraFiles(t, conf)); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestCheckReportsNginxErrors(t *testing.T) {
	integration.Program(t, "nginx", "nginx")
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("rules", "map $http_user_agent $blocked { default 0; }\n")
	bad := write("bad.rules", "map $http_user_agent $blocked { default 0; }\nproxy_pass http://x:1;\n")
	tests := []struct {
		name  string
		conf  string
		files map[string]string
		want  []string
	}{
		{"unknown directive", "events {}\nhttp {\n  server {\n    proxy_passs http://app:8080;\n  }\n}\n", nil,
			[]string{`unknown directive "proxy_passs"`, "nginx.conf:4"}},
		{"missing included file", "events {}\nhttp {\n  include /etc/nginx/blockuseragents.rules;\n}\n", nil,
			[]string{`"/etc/nginx/blockuseragents.rules" failed`, "nginx.conf:3"}},
		{"bad included file", "events {}\nhttp {\n  include /etc/nginx/blockuseragents.rules;\n}\n",
			map[string]string{"/etc/nginx/blockuseragents.rules": bad},
			[]string{`"proxy_pass" directive is not allowed here`, bad + ":2"}},
		{"pier's syntax check first", "events {}\nhttp {\n", nil,
			[]string{"nginx.conf:3:1: unexpected end of file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := write("nginx.conf", tt.conf)
			err := Check(context.Background(), conf, tt.files)
			if err == nil {
				t.Fatal("Check passed, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "pier-nginx-t-") {
				t.Errorf("error leaks the scratch directory: %v", err)
			}
		})
	}
	conf := write("nginx.conf", "user nginx;\nevents {}\nhttp {\n  include /etc/nginx/x.rules;\n  server { location / { proxy_pass http://springboot:8080; } }\n}\n")
	if err := Check(context.Background(), conf, map[string]string{"x.rules": good}); err != nil {
		t.Errorf("relative destinations land in /etc/nginx: %v", err)
	}
	if err := Check(context.Background(), conf, map[string]string{"/etc/nginx/x.rules": filepath.Join(dir, "missing")}); err == nil || !strings.Contains(err.Error(), "reading extra file") {
		t.Errorf("missing source file: %v", err)
	}
}

func TestRewriteKeepsLines(t *testing.T) {
	src := "user nginx\n  www;\npid /run/nginx.pid;\nhttp {\n  proxy_temp_path /p;\n  include \"/etc/nginx/a b.conf\";\n  upstream u { server app:81; }\n  server { location / { proxy_pass http://next:3000/x; } }\n}\n"
	cfg := mustParse(t, src)
	got := string(rewriteForCheck(cfg, []byte(src), "/R", []string{"client_body_temp_path", "proxy_temp_path"}))
	want := "          \n      \npid /R/run/nginx.pid;\nhttp { client_body_temp_path /R/var/lib/nginx/client_body;\n  proxy_temp_path /R/p;\n  include \"/R/etc/nginx/a b.conf\";\n  upstream u { server 127.0.0.1:81; }\n  server { location / { proxy_pass http://127.0.0.1:3000/x; } }\n}\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if strings.Count(got, "\n") != strings.Count(src, "\n") {
		t.Error("line count changed")
	}
}
