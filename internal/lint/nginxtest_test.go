package lint

import (
	"context"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/integration"
)

func TestNginxTest(t *testing.T) {
	integration.Program(t, "nginx", "nginx")
	pier := strings.Replace(basePier, "{ config: nginx.conf }", "{ config: nginx.conf, files: { /etc/nginx/extra.rules: extra.rules } }", 1)
	withInclude := strings.Replace(baseNginx, "    server {", "    include /etc/nginx/extra.rules;\n    server {", 1)
	tests := []struct {
		name  string
		nginx string
		rules string
		want  []want
	}{
		{"accepted", withInclude, "map $http_user_agent $blocked { default 0; }\n", nil},
		{"unknown directive in the config", strings.Replace(withInclude, "listen 80;", "listen 80;\n        proxy_passs http://app:8080;", 1), "",
			[]want{{"nginx.conf:7:1: error: nginx-test", `nginx -t rejects the config of image "web-nginx": [emerg] unknown directive "proxy_passs"`}}},
		{"error in an included file", withInclude, "map $http_user_agent $blocked { default 0; }\nproxy_pass http://x:1;\n",
			[]want{{"extra.rules:2:1: error: nginx-test", `"proxy_pass" directive is not allowed here`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{"pier.yaml": pier, "task.json": baseTask, "nginx.conf": tt.nginx, "extra.rules": tt.rules}
			in := loadFiles(t, dir, files)
			fs, err := NginxTest(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			compare(t, relative(fs, dir), tt.want)
		})
	}
}
