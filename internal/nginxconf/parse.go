// Package nginxconf parses just enough of nginx.conf for pier's
// cross-checks with the task definitions: a directive tree with the
// file:line:col of every directive and argument, and helpers for the
// directives lint reads (proxy_pass targets, $request_method filters,
// add_header inheritance). Check runs the real `nginx -t` on a config
// together with the files the image adds.
//
// Tokenizing follows nginx's own ngx_conf_read_token: words end at
// whitespace, ';' and '{' (but not "${"); quotes and '#' comments count only
// at the start of a word; a backslash escapes the next character; '}' ends a
// block only where a directive could start. include is not followed.
package nginxconf

import (
	"fmt"
	"os"
	"strings"
)

// Pos is a position in a source file: 1-based line and byte column. It has
// the same fields as config.Pos, so callers can convert between the two.
type Pos struct {
	File string
	Line int
	Col  int
}

// String formats p as file:line:col.
func (p Pos) String() string {
	if p.File == "" {
		return fmt.Sprintf("%d:%d", p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Error is a syntax error at a position; it prints as file:line:col: msg.
type Error struct {
	Pos Pos
	Msg string
}

// Error formats the problem as file:line:col: msg.
func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Config is one parsed nginx configuration file.
type Config struct {
	File       string
	Directives []*Directive // top level ("main" context), in file order
}

// Directive is one directive, simple (`name args;`) or block (`name args {…}`).
type Directive struct {
	Name   string
	Args   []string // unquoted and unescaped, as nginx sees them
	Pos    Pos      // of the name
	ArgPos []Pos    // of each argument
	// Block holds the directives inside { }; IsBlock tells an empty block
	// from a simple directive.
	Block   []*Directive
	IsBlock bool
	Parent  *Directive `json:"-"` // enclosing block directive; nil at top level

	start, end int      // byte range from the name to the closing ';' or '{'
	argSpan    [][2]int // byte range of each argument's token, quotes included
}

// Load reads and parses an nginx configuration file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading nginx config: %w", err)
	}
	return Parse(path, data)
}

// token is one word of the file, or one of the punctuation tokens ; { }.
type token struct {
	text   string // unescaped value
	pos    Pos
	start  int // byte offsets of the raw token
	end    int
	quoted bool
	punct  byte // ';', '{' or '}' for punctuation, else 0
}

type lexer struct {
	file string
	data []byte
	off  int
	line int
	col  int
}

func (l *lexer) pos() Pos { return Pos{File: l.file, Line: l.line, Col: l.col} }

func (l *lexer) errf(p Pos, format string, args ...any) *Error {
	return &Error{Pos: p, Msg: fmt.Sprintf(format, args...)}
}

func (l *lexer) advance() byte {
	c := l.data[l.off]
	l.off++
	if c == '\n' {
		l.line++
		l.col = 1
	} else {
		l.col++
	}
	return c
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// next returns the next token, or ok=false at the end of the file.
func (l *lexer) next() (tok token, ok bool, err *Error) {
	// Skip blanks and comments (a '#' starts a comment only between words).
	for l.off < len(l.data) {
		c := l.data[l.off]
		if isSpace(c) {
			l.advance()
			continue
		}
		if c == '#' {
			for l.off < len(l.data) && l.data[l.off] != '\n' {
				l.advance()
			}
			continue
		}
		break
	}
	if l.off >= len(l.data) {
		return token{}, false, nil
	}
	start, p := l.off, l.pos()
	c := l.data[l.off]
	switch c {
	case ';', '{', '}':
		l.advance()
		return token{text: string(c), pos: p, start: start, end: l.off, punct: c}, true, nil
	case '"', '\'':
		l.advance()
		var sb strings.Builder
		for {
			if l.off >= len(l.data) {
				return token{}, false, l.errf(p, "unexpected end of file in a quoted string (missing %c)", c)
			}
			ch := l.advance()
			if ch == c {
				break
			}
			if ch == '\\' && l.off < len(l.data) {
				sb.WriteString(unescape(l.advance()))
				continue
			}
			sb.WriteByte(ch)
		}
		// nginx wants a separator right after a closing quote; ')' is
		// allowed (and becomes a word of its own) so `if ($a = "b")` works.
		if l.off < len(l.data) {
			if n := l.data[l.off]; !isSpace(n) && n != ';' && n != '{' && n != ')' {
				return token{}, false, l.errf(l.pos(), "unexpected %q after a quoted string (a space, ';' or '{' must follow)", n)
			}
		}
		return token{text: sb.String(), pos: p, start: start, end: l.off, quoted: true}, true, nil
	}
	var sb strings.Builder
	variable := false
	for l.off < len(l.data) {
		ch := l.data[l.off]
		if ch == '{' && variable { // ${name}
			sb.WriteByte(l.advance())
			variable = false
			continue
		}
		variable = false
		if isSpace(ch) || ch == ';' || ch == '{' {
			break
		}
		l.advance()
		switch ch {
		case '\\':
			if l.off < len(l.data) {
				sb.WriteString(unescape(l.advance()))
			}
			continue
		case '$':
			variable = true
		}
		sb.WriteByte(ch)
	}
	return token{text: sb.String(), pos: p, start: start, end: l.off}, true, nil
}

// unescape is nginx's unescaping of a backslash pair, the same in quoted
// strings and bare words: \" \' \\ \t \r \n are replaced; any other pair
// (e.g. "\;" or "\." in a regex) stays as written, the escaped character
// merely losing its special meaning to the tokenizer.
func unescape(c byte) string {
	switch c {
	case '"', '\'', '\\':
		return string(c)
	case 't':
		return "\t"
	case 'r':
		return "\r"
	case 'n':
		return "\n"
	}
	return "\\" + string(c)
}

// Parse parses an nginx configuration; name is used in positions.
func Parse(name string, data []byte) (*Config, error) {
	l := &lexer{file: name, data: data, line: 1, col: 1}
	cfg := &Config{File: name}
	type level struct {
		block *Directive // nil for the top level
		list  *[]*Directive
	}
	stack := []level{{list: &cfg.Directives}}
	var cur *Directive // directive being read (name seen, no ; or { yet)
	for {
		tok, ok, lerr := l.next()
		if lerr != nil {
			return nil, lerr
		}
		if !ok {
			if cur != nil {
				return nil, l.errf(l.pos(), "unexpected end of file, expecting \";\" or \"{\" after %q (directive at %d:%d)", cur.Name, cur.Pos.Line, cur.Pos.Col)
			}
			if len(stack) > 1 {
				open := stack[len(stack)-1].block
				return nil, l.errf(l.pos(), "unexpected end of file, expecting \"}\" to close %q at %d:%d", open.Name, open.Pos.Line, open.Pos.Col)
			}
			break
		}
		top := stack[len(stack)-1]
		switch tok.punct {
		case ';':
			if cur == nil {
				return nil, l.errf(tok.pos, "unexpected \";\"")
			}
			cur.end = tok.end
			*top.list = append(*top.list, cur)
			cur = nil
		case '{':
			if cur == nil {
				return nil, l.errf(tok.pos, "unexpected \"{\" (a block needs a directive name)")
			}
			cur.IsBlock = true
			cur.end = tok.end
			*top.list = append(*top.list, cur)
			stack = append(stack, level{block: cur, list: &cur.Block})
			cur = nil
		case '}':
			if cur != nil {
				return nil, l.errf(tok.pos, "unexpected \"}\": missing \";\" after %q at %d:%d", cur.Name, cur.Pos.Line, cur.Pos.Col)
			}
			if len(stack) == 1 {
				return nil, l.errf(tok.pos, "unexpected \"}\" (no block is open)")
			}
			stack = stack[:len(stack)-1]
		default:
			if cur == nil {
				cur = &Directive{Name: tok.text, Pos: tok.pos, Parent: top.block, start: tok.start}
				continue
			}
			cur.Args = append(cur.Args, tok.text)
			cur.ArgPos = append(cur.ArgPos, tok.pos)
			cur.argSpan = append(cur.argSpan, [2]int{tok.start, tok.end})
		}
	}
	if err := checkShapes(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}
