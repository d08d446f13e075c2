package nginxconf

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pier-deploy/pier/internal/integration"
)

// The tokenizer agrees with nginx itself: each tricky word becomes the
// body of a `return 200 WORD;`, a real nginx serves it, and the body must
// equal the argument pier parsed.
func TestTokensMatchNginx(t *testing.T) {
	integration.Program(t, "nginx", "nginx")
	cases := []struct{ word, want string }{
		{`plain`, "plain"}, {`"a b"`, "a b"}, {`'a b'`, "a b"}, {`"a\"b"`, `a"b`}, {`'a\'b'`, "a'b"},
		{`a\"b`, `a"b`}, {`"a\\b"`, `a\b`}, {`a\\b`, `a\b`}, {`"x\ty"`, "x\ty"}, {`x\ty`, "x\ty"},
		{`"l1\nl2"`, "l1\nl2"}, {`a\;b`, `a\;b`}, {`"\."`, `\.`}, {`a}b`, "a}b"}, {`a#b`, "a#b"},
		{`"{}"`, "{}"}, {`'a;b'`, "a;b"}, {`"#not-a-comment"`, "#not-a-comment"}, {`a\ b`, `a\ b`}, {`"é ü"`, "é ü"},
	}
	words := make([]string, len(cases))
	for i, c := range cases {
		words[i] = c.word
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	var sb strings.Builder
	fmt.Fprintf(&sb, "daemon off;\nmaster_process off;\npid %s/nginx.pid;\nevents {}\nhttp {\n", dir)
	for _, tmp := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		if tmp == "client_body" || strings.Contains(mustNginxV(t), "--http-"+tmp+"-temp-path") {
			fmt.Fprintf(&sb, "  %s_temp_path %s/%s;\n", tmp, dir, tmp)
		}
	}
	fmt.Fprintf(&sb, "  access_log off;\n  default_type text/plain;\n  server {\n    listen %s;\n", addr)
	for i, w := range words {
		fmt.Fprintf(&sb, "    location = /%d { return 200 %s; }\n", i, w)
	}
	sb.WriteString("  }\n}\n")
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(conf, []byte(sb.String()))
	if err != nil {
		t.Fatal(err)
	}
	returns := cfg.Find("return")
	if len(returns) != len(words) {
		t.Fatalf("parsed %d return directives, want %d", len(returns), len(words))
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nginx", "-p", dir+"/", "-c", conf, "-e", filepath.Join(dir, "error.log"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill() // one process: master_process off
		_ = cmd.Wait()
	}()
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(i int) (string, error) {
		resp, err := client.Get(fmt.Sprintf("http://%s/%d", addr, i))
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	// Wait for nginx to listen (not an assertion: the deadline only bounds it).
	for {
		if _, err := get(0); err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("nginx did not start: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i, w := range words {
		body, err := get(i)
		if err != nil {
			t.Fatal(err)
		}
		if got := returns[i].Args[1]; got != body || got != cases[i].want {
			t.Errorf("word %s: pier parses %q, nginx serves %q, want %q", w, got, body, cases[i].want)
		}
	}
}

func mustNginxV(t *testing.T) string {
	t.Helper()
	out, _ := exec.Command("nginx", "-V").CombinedOutput()
	return string(out)
}
