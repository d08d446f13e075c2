package nginxconf

import (
	"fmt"
	"strings"
)

// blockDirectives must have a { } block; nginx reports a missing one only
// after loading modules, pier reports it with a position.
var blockDirectives = map[string]bool{
	"http": true, "events": true, "location": true, "if": true, "upstream": true,
	"map": true, "types": true, "limit_except": true, "geo": true, "split_clients": true,
	"stream": true, "mail": true,
}

// arity is the number of arguments of directives pier can judge; -1 = any.
// It turns nginx's "invalid number of arguments" into the usual cause: a
// missing ';' that glued the next line onto the directive.
var arity = map[string][2]int{
	"proxy_pass": {1, 1}, "return": {1, 2}, "rewrite": {2, 3}, "root": {1, 1}, "alias": {1, 1},
	"include": {1, 1}, "add_header": {2, 3}, "proxy_set_header": {2, 2}, "proxy_http_version": {1, 1},
	"user": {1, 2}, "worker_processes": {1, 1}, "pid": {1, 1}, "error_log": {1, 2},
	"worker_connections": {1, 1}, "keepalive_timeout": {1, 2}, "server_tokens": {1, 1},
	"sendfile": {1, 1}, "default_type": {1, 1}, "client_body_timeout": {1, 1},
	"client_header_timeout": {1, 1}, "send_timeout": {1, 1}, "client_max_body_size": {1, 1},
	"ssl_prefer_server_ciphers": {1, 1}, "gzip": {1, 1}, "proxy_read_timeout": {1, 1},
	"proxy_connect_timeout": {1, 1}, "proxy_send_timeout": {1, 1}, "location": {1, 2},
	"http": {0, 0}, "events": {0, 0}, "map": {2, 2}, "upstream": {1, 1}, "allow": {1, 1},
	"deny": {1, 1}, "expires": {1, 2}, "set": {2, 2}, "charset": {1, 1}, "tcp_nopush": {1, 1},
	"tcp_nodelay": {1, 1}, "proxy_buffering": {1, 1}, "types": {0, 0}, "if": {1, 5},
}

func checkShapes(cfg *Config) error {
	var err error
	cfg.Walk(func(d *Directive) bool {
		if err != nil {
			return false
		}
		inUpstream := d.Parent != nil && d.Parent.Name == "upstream"
		inMap := d.Parent != nil && (d.Parent.Name == "map" || d.Parent.Name == "types" || d.Parent.Name == "geo" || d.Parent.Name == "split_clients")
		switch {
		case inMap:
			// map/types/geo bodies are key-value lists, not directives.
			return false
		case blockDirectives[d.Name] && !d.IsBlock:
			err = &Error{Pos: d.Pos, Msg: fmt.Sprintf("directive %q needs a { } block", d.Name)}
		case d.Name == "server" && !inUpstream && !d.IsBlock:
			err = &Error{Pos: d.Pos, Msg: "directive \"server\" needs a { } block (outside upstream)"}
		case d.IsBlock && !blockDirectives[d.Name] && d.Name != "server" && isKnownSimple(d.Name):
			err = &Error{Pos: d.Pos, Msg: fmt.Sprintf("directive %q takes no { } block (missing \";\"?)", d.Name)}
		default:
			err = checkArity(d)
		}
		return err == nil
	})
	return err
}

func isKnownSimple(name string) bool {
	_, ok := arity[name]
	return ok && !blockDirectives[name]
}

func checkArity(d *Directive) error {
	a, ok := arity[d.Name]
	if !ok || (a[1] < 0 || len(d.Args) <= a[1]) && len(d.Args) >= a[0] {
		return nil
	}
	want := fmt.Sprintf("%d", a[0])
	if a[1] != a[0] {
		want = fmt.Sprintf("%d to %d", a[0], a[1])
	}
	msg := fmt.Sprintf("%q takes %s argument(s), found %d", d.Name, want, len(d.Args))
	// An argument on a later line than the name is almost always the next
	// directive, glued on by a missing ';'.
	for i, p := range d.ArgPos {
		if p.Line > d.Pos.Line {
			last := d.Pos
			if i > 0 {
				last = d.ArgPos[i-1]
			}
			msg += fmt.Sprintf(": missing \";\" at the end of line %d (before %q)?", last.Line, strings.Join(d.Args[i:min(i+1, len(d.Args))], " "))
			break
		}
	}
	return &Error{Pos: d.Pos, Msg: msg}
}

// Walk calls fn for every directive, depth first in file order; fn returns
// false to skip a directive's block.
func (c *Config) Walk(fn func(d *Directive) bool) {
	var walk func(ds []*Directive)
	walk = func(ds []*Directive) {
		for _, d := range ds {
			if fn(d) {
				walk(d.Block)
			}
		}
	}
	walk(c.Directives)
}

// Find returns every directive named name, at any depth, in file order.
func (c *Config) Find(name string) []*Directive {
	var out []*Directive
	c.Walk(func(d *Directive) bool {
		if d.Name == name {
			out = append(out, d)
		}
		return true
	})
	return out
}

// Children returns the directives named name directly inside d's block.
func (d *Directive) Children(name string) []*Directive {
	var out []*Directive
	for _, c := range d.Block {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// Context lists the names of the enclosing blocks, outermost first, e.g.
// ["http", "server", "location"].
func (d *Directive) Context() []string {
	var out []string
	for p := d.Parent; p != nil; p = p.Parent {
		out = append([]string{p.Name}, out...)
	}
	return out
}

// String renders the directive's head as written, e.g. `location /` or
// `if ($request_method !~ ^(GET)$)`, for messages.
func (d *Directive) String() string {
	if len(d.Args) == 0 {
		return d.Name
	}
	return d.Name + " " + strings.Join(d.Args, " ")
}
