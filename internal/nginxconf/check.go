package nginxconf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// ErrNoNginx is returned by Check when no nginx binary is installed.
var ErrNoNginx = errors.New("nginx is not installed (Debian: apt-get install nginx)")

// pathDirectives name files or directories in their first argument; Check
// moves absolute ones under its scratch root so the test touches nothing
// outside it.
var pathDirectives = map[string]bool{
	"include": true, "pid": true, "error_log": true, "access_log": true, "lock_file": true,
	"ssl_certificate": true, "ssl_certificate_key": true, "ssl_trusted_certificate": true,
	"ssl_client_certificate": true, "ssl_dhparam": true, "ssl_crl": true, "auth_basic_user_file": true,
	"client_body_temp_path": true, "proxy_temp_path": true, "fastcgi_temp_path": true,
	"uwsgi_temp_path": true, "scgi_temp_path": true, "ssl_password_file": true, "ssl_stapling_file": true,
}

// fallbackMimeTypes stands in for the base image's /etc/nginx/mime.types
// when the host has none.
const fallbackMimeTypes = `types {
    text/html html htm;
    text/css css;
    application/javascript js;
    application/json json;
    image/png png;
    image/svg+xml svg;
}
`

// Check runs the real `nginx -t` on the config at confPath as the image
// will see it: confPath becomes /etc/nginx/nginx.conf and files (path in
// the image → local source file) are placed at their paths, all under a
// scratch root; absolute paths in the config are moved under that root,
// and `user` is dropped (its account exists only in the image). The base
// image's mime.types and empty conf.d/ are provided when files does not
// bring them. nginx's complaints are returned with the original file names.
func Check(ctx context.Context, confPath string, files map[string]string) error {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		return fmt.Errorf("checking %s with nginx -t: %w", confPath, ErrNoNginx)
	}
	data, err := os.ReadFile(confPath)
	if err != nil {
		return fmt.Errorf("checking nginx config: %w", err)
	}
	cfg, err := Parse(confPath, data)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "pier-nginx-t-")
	if err != nil {
		return fmt.Errorf("checking %s with nginx -t: %w", confPath, err)
	}
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, "root")

	// Where each scratch file came from, to translate nginx's messages.
	origin := map[string]string{}
	dests := make([]string, 0, len(files))
	for dest := range files {
		dests = append(dests, dest)
	}
	sort.Strings(dests)
	for _, dest := range dests {
		src := files[dest]
		if !filepath.IsAbs(dest) {
			dest = filepath.Join("/etc/nginx", dest)
		}
		b, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("checking %s with nginx -t: reading extra file for %s: %w", confPath, dest, err)
		}
		if err := writeFile(filepath.Join(root, dest), b); err != nil {
			return fmt.Errorf("checking %s with nginx -t: %w", confPath, err)
		}
		origin[filepath.Join(root, dest)] = src
	}
	mime := filepath.Join(root, "etc/nginx/mime.types")
	if _, err := os.Stat(mime); err != nil {
		b, err := os.ReadFile("/etc/nginx/mime.types")
		if err != nil {
			b = []byte(fallbackMimeTypes)
		}
		if err := writeFile(mime, b); err != nil {
			return fmt.Errorf("checking %s with nginx -t: %w", confPath, err)
		}
	}
	for _, dir := range []string{"etc/nginx/conf.d", "var/log/nginx", "var/lib/nginx", "var/run", "run", "var/cache/nginx", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			return fmt.Errorf("checking %s with nginx -t: %w", confPath, err)
		}
	}
	conf := filepath.Join(root, "etc/nginx/nginx.conf")
	if err := writeFile(conf, rewriteForCheck(cfg, data, root, tempPathDirectives(ctx, bin))); err != nil {
		return fmt.Errorf("checking %s with nginx -t: %w", confPath, err)
	}
	origin[conf] = confPath

	cmd := exec.CommandContext(ctx, bin, "-t", "-q", "-p", root+"/", "-c", conf, "-e", filepath.Join(tmp, "error.log"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		// Longest paths first, so a file is not replaced by its directory.
		keys := make([]string, 0, len(origin))
		for k := range origin {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
		for _, k := range keys {
			msg = strings.ReplaceAll(msg, k, origin[k])
		}
		msg = strings.ReplaceAll(msg, root, "")
		var lines []string
		for _, line := range strings.Split(msg, "\n") {
			if !strings.Contains(line, "test failed") {
				lines = append(lines, line)
			}
		}
		msg = strings.Join(lines, "\n")
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("checking %s with nginx -t: %s", confPath, msg)
	}
	return nil
}

// tempPathDirectives lists the *_temp_path directives this nginx knows.
// nginx -t creates those directories, by default under /var/lib/nginx;
// Check points them into its scratch root so a check writes nothing
// outside it. A module built without (--without-http_uwsgi_module) has no
// directive to set.
func tempPathDirectives(ctx context.Context, bin string) []string {
	out, _ := exec.CommandContext(ctx, bin, "-V").CombinedOutput() // nginx -V prints to stderr
	v := string(out)
	dirs := []string{"client_body_temp_path"}
	for _, m := range []string{"proxy", "fastcgi", "uwsgi", "scgi"} {
		if strings.Contains(v, "--http-"+m+"-temp-path=") && !strings.Contains(v, "--without-http_"+m+"_module") {
			dirs = append(dirs, m+"_temp_path")
		}
	}
	return dirs
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// rewriteForCheck edits the config text in place, keeping every line where
// it was so nginx's line numbers still point into the user's file: absolute
// paths move under root, `user …;` is blanked out, upstream hosts point at
// the loopback address, and the temp-path directives the http block does
// not set are added right after its "{".
func rewriteForCheck(cfg *Config, data []byte, root string, tempDirs []string) []byte {
	type edit struct {
		start, end int
		text       string
	}
	var edits []edit
	cfg.Walk(func(d *Directive) bool {
		switch {
		case d.Name == "user" && d.Parent == nil:
			edits = append(edits, edit{d.start, d.end, blank(data[d.start:d.end])})
		case pathDirectives[d.Name] && len(d.Args) > 0 && strings.HasPrefix(d.Args[0], "/"):
			edits = append(edits, edit{d.argSpan[0][0], d.argSpan[0][1], quote(root + d.Args[0])})
		case d.Name == "server" && d.Parent != nil && d.Parent.Name == "upstream" && len(d.Args) > 0 &&
			!strings.HasPrefix(d.Args[0], "unix:") && !strings.Contains(d.Args[0], "$"):
			ep := splitHostPort(d.Args[0], "http")
			edits = append(edits, edit{d.argSpan[0][0], d.argSpan[0][1], fmt.Sprintf("127.0.0.1:%d", ep.Port)})
		}
		return true
	})
	// proxy_pass hosts are container links or DNS names that resolve only
	// where the image runs, and nginx resolves them at load time (lint
	// checks the names themselves).
	for _, pp := range cfg.ProxyPasses() {
		if pp.Variable || pp.Upstream != nil || pp.Scheme == "" || pp.Host == "" || strings.HasPrefix(pp.Host, "unix:") {
			continue
		}
		span := pp.Directive.argSpan[0]
		edits = append(edits, edit{span[0], span[1], quote(fmt.Sprintf("%s://127.0.0.1:%d%s", pp.Scheme, pp.Port, pp.Path))})
	}
	for _, http := range cfg.Directives {
		if http.Name != "http" || !http.IsBlock {
			continue
		}
		var add strings.Builder
		for _, name := range tempDirs {
			if len(http.Children(name)) == 0 {
				dir := filepath.Join(root, "var/lib/nginx", strings.TrimSuffix(name, "_temp_path"))
				fmt.Fprintf(&add, " %s %s;", name, quote(dir))
			}
		}
		edits = append(edits, edit{http.end, http.end, add.String()})
	}
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	var buf bytes.Buffer
	last := 0
	for _, e := range edits {
		buf.Write(data[last:e.start])
		buf.WriteString(e.text)
		last = e.end
	}
	buf.Write(data[last:])
	return buf.Bytes()
}

// blank replaces everything but newlines with spaces.
func blank(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c == '\n' {
			out[i] = '\n'
		} else {
			out[i] = ' '
		}
	}
	return string(out)
}

// quote writes s as one nginx word.
func quote(s string) string {
	if !strings.ContainsAny(s, " \t\r\n;{}\"'\\#$") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
