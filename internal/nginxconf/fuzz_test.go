package nginxconf

import (
	"bytes"
	"os"
	"testing"
)

// lineCol computes the position of a byte offset independently of the lexer.
func lineCol(data []byte, off int) (int, int) {
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	return line, off - (bytes.LastIndexByte(data[:off], '\n') + 1) + 1
}

func FuzzParse(f *testing.F) {
	for _, path := range fixtures(f) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)*2/3])
	}
	for _, s := range []string{
		"", "}", "{", ";", `a "b`, `a 'b\'c';`, `if ($a = "b") { return 200; }`, "a ${b}{ }", "a \\", "a b#c;", "map $a $b { '' 1; }",
		"http { server { location / { proxy_pass http://[::1; } } }", "a\r\nb;",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.conf", data)
		if err != nil {
			e, ok := err.(*Error)
			if !ok || e.Pos.Line < 1 || e.Pos.Col < 1 || e.Pos.File != "f.conf" {
				t.Fatalf("bad error %T %v", err, err)
			}
			return
		}
		cfg.Walk(func(d *Directive) bool {
			if l, c := lineCol(data, d.start); l != d.Pos.Line || c != d.Pos.Col {
				t.Fatalf("%q at %v, but its offset is at %d:%d", d.Name, d.Pos, l, c)
			}
			for i, span := range d.argSpan {
				if l, c := lineCol(data, span[0]); l != d.ArgPos[i].Line || c != d.ArgPos[i].Col {
					t.Fatalf("argument %q at %v, but its offset is at %d:%d", d.Args[i], d.ArgPos[i], l, c)
				}
				// The raw token, lexed alone, gives the same word.
				l := &lexer{data: data[span[0]:span[1]], line: 1, col: 1}
				tok, ok, lerr := l.next()
				if lerr != nil || !ok || tok.text != d.Args[i] {
					t.Fatalf("re-lexing %q gives %q (%v), want %q", data[span[0]:span[1]], tok.text, lerr, d.Args[i])
				}
			}
			return true
		})
		out := rewriteForCheck(cfg, data, "/scratch", []string{"client_body_temp_path"})
		if bytes.Count(out, []byte("\n")) != bytes.Count(data, []byte("\n")) {
			t.Fatalf("rewriting changed the line count:\n%s", out)
		}
		_ = cfg.ProxyPasses()
		for _, mf := range cfg.MethodFilters() {
			_ = mf.Unknown()
		}
		_ = cfg.HeaderOverrides()
	})
}

// FuzzRewriteForCheck: the copy `nginx -t` reads keeps every line where the
// user wrote it (nginx's messages point into the user's file) and still
// parses.
func FuzzRewriteForCheck(f *testing.F) {
	for _, path := range fixtures(f) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("user nginx\n  www;\npid /run/nginx.pid;\nhttp {\n  proxy_temp_path /p;\n  include \"/etc/nginx/a b.conf\";\n  upstream u { server app:81; }\n  server { location / { proxy_pass http://next:3000/x; } }\n}\n"))
	f.Add([]byte("http { include '/a\nb;c'; server { location / { proxy_pass https://h$x; } } }"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.conf", data)
		if err != nil {
			return
		}
		out := rewriteForCheck(cfg, data, "/R", []string{"client_body_temp_path", "proxy_temp_path"})
		if got, want := bytes.Count(out, []byte("\n")), bytes.Count(data, []byte("\n")); got != want {
			t.Fatalf("rewriting changed %d lines into %d:\n%s\n---\n%s", want, got, data, out)
		}
		if _, err := Parse("f.conf", out); err != nil {
			t.Fatalf("the rewritten config does not parse: %v\n%s\n---\n%s", err, data, out)
		}
	})
}
