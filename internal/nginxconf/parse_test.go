package nginxconf

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/golden"
)

var update = flag.Bool("update", false, "rewrite golden files")

// dump renders a tree compactly: name [args] @line:col, blocks in braces.
func dump(ds []*Directive) string {
	var sb strings.Builder
	var walk func(ds []*Directive, indent string)
	walk = func(ds []*Directive, indent string) {
		for _, d := range ds {
			fmt.Fprintf(&sb, "%s%s", indent, d.Name)
			for i, a := range d.Args {
				fmt.Fprintf(&sb, " %q@%d:%d", a, d.ArgPos[i].Line, d.ArgPos[i].Col)
			}
			fmt.Fprintf(&sb, " @%d:%d", d.Pos.Line, d.Pos.Col)
			if d.IsBlock {
				sb.WriteString(" {\n")
				walk(d.Block, indent+"  ")
				sb.WriteString(indent + "}")
			}
			sb.WriteByte('\n')
		}
	}
	walk(ds, "")
	return sb.String()
}

func TestParse(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"simple", "worker_processes 1;", `worker_processes "1"@1:18 @1:1` + "\n"},
		{"block and comment", "events { # comment ; {\n  worker_connections 1024; }",
			"events @1:1 {\n  worker_connections \"1024\"@2:22 @2:3\n}\n"},
		{"quotes and escapes", `add_header X "a \"b\" 'c' \\ \t";`,
			`add_header "X"@1:12 "a \"b\" 'c' \\ \t"@1:14 @1:1` + "\n"},
		{"single quotes", `return 200 'ok\n';`, `return "200"@1:8 "ok\n"@1:12 @1:1` + "\n"},
		{"escaped separator in a word", `set $a b\;c\"d;`, `set "$a"@1:5 "b\\;c\"d"@1:8 @1:1` + "\n"},
		{"variable braces stay in the word", `set $a ${host}x;`, `set "$a"@1:5 "${host}x"@1:8 @1:1` + "\n"},
		{"hash inside a word", `set $a b#c;`, `set "$a"@1:5 "b#c"@1:8 @1:1` + "\n"},
		{"if with a regex", `if ($request_method !~ ^(GET|HEAD)$) { return 444; }`,
			"if \"($request_method\"@1:4 \"!~\"@1:21 \"^(GET|HEAD)$)\"@1:24 @1:1 {\n  return \"444\"@1:47 @1:40\n}\n"},
		{"quoted operand before )", `if ($a = "b c") { }`,
			"if \"($a\"@1:4 \"=\"@1:8 \"b c\"@1:10 \")\"@1:15 @1:1 {\n}\n"},
		{"closing brace inside a word", `return 200 a}b;`, `return "200"@1:8 "a}b"@1:12 @1:1` + "\n"},
		{"empty block", "http {}", "http @1:1 {\n}\n"},
		{"tabs and CRLF", "http\t{\r\n\tsendfile\ton;\r\n}\r\n", "http @1:1 {\n  sendfile \"on\"@2:11 @2:2\n}\n"},
		{"map body is data", "map $a $b { default 0; ~*bot 1; \"\" 1; }",
			"map \"$a\"@1:5 \"$b\"@1:8 @1:1 {\n  default \"0\"@1:21 @1:13\n  ~*bot \"1\"@1:30 @1:24\n   \"1\"@1:36 @1:33\n}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("n.conf", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if got := dump(cfg.Directives); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"unclosed block", "http {\n  server {\n    listen 80;\n  }\n",
			`n.conf:5:1: unexpected end of file, expecting "}" to close "http" at 1:1`},
		{"extra brace", "events {}\n}", `n.conf:2:1: unexpected "}" (no block is open)`},
		{"missing semicolon before brace", "http {\n  sendfile on\n}",
			`n.conf:3:1: unexpected "}": missing ";" after "sendfile" at 2:3`},
		{"missing semicolon at end", "worker_processes 1", `n.conf:1:19: unexpected end of file, expecting ";" or "{" after "worker_processes" (directive at 1:1)`},
		{"glued directives", "location / {\n  proxy_pass http://next:3000\n  proxy_http_version 1.1;\n}",
			`n.conf:2:3: "proxy_pass" takes 1 argument(s), found 3: missing ";" at the end of line 2 (before "proxy_http_version")?`},
		{"lone semicolon", "http { ; }", `n.conf:1:8: unexpected ";"`},
		{"lone brace", "{ }", `n.conf:1:1: unexpected "{" (a block needs a directive name)`},
		{"unterminated quote", "return 200 \"ok;\n}", `n.conf:1:12: unexpected end of file in a quoted string (missing ")`},
		{"text after quote", `return 200 "ok"x;`, `n.conf:1:16: unexpected 'x' after a quoted string`},
		{"block directive without block", "http;", `n.conf:1:1: directive "http" needs a { } block`},
		{"server without block", "http { server; }", `n.conf:1:8: directive "server" needs a { } block (outside upstream)`},
		{"simple directive with block", "http { sendfile on { } }", `n.conf:1:8: directive "sendfile" takes no { } block (missing ";"?)`},
		{"too few arguments", "http { add_header X-A; }", `n.conf:1:8: "add_header" takes 2 to 3 argument(s), found 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("n.conf", []byte(tt.src))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			if _, ok := err.(*Error); !ok {
				t.Errorf("error is %T, want *nginxconf.Error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error\n%s\ndoes not contain\n%s", err, tt.want)
			}
		})
	}
}

// fixtures are every nginx config under the repository's testdata and
// this package's testdata.
func fixtures(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, root := range []string{filepath.Join("..", "..", "testdata"), "testdata"} {
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "fuzz" {
				return filepath.SkipDir
			}
			if !d.IsDir() && (d.Name() == "nginx.conf" || strings.HasSuffix(d.Name(), ".conf") && root == "testdata") {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(out) < 4 {
		t.Fatalf("found only %v: the nginx fixtures are missing", out)
	}
	return out
}

func TestFixturesGolden(t *testing.T) {
	for _, path := range fixtures(t) {
		t.Run(path, func(t *testing.T) {
			cfg, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			got := []byte(dump(cfg.Directives))
			name := strings.NewReplacer("../", "", "/", "_").Replace(path) + ".golden"
			golden.Check(t, filepath.Join("testdata", "golden", name), got, *update)
		})
	}
}

func TestLoadMissing(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "nginx.conf")); err == nil || !strings.Contains(err.Error(), "reading nginx config") {
		t.Fatalf("err = %v", err)
	}
}

func TestContextAndFind(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", "testdata", "inforum", "frontend", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	ifs := cfg.Find("if")
	if len(ifs) != 1 {
		t.Fatalf("Find(if) = %d directives", len(ifs))
	}
	if got := strings.Join(ifs[0].Context(), "/"); got != "http/server/location" {
		t.Errorf("Context() = %s", got)
	}
	if got := ifs[0].String(); got != "if ($request_method !~ ^(GET|HEAD|POST|OPTION)$)" {
		t.Errorf("String() = %s", got)
	}
	if got := len(cfg.Find("http")[0].Children("add_header")); got != 4 {
		t.Errorf("http has %d add_header, want 4", got)
	}
}
