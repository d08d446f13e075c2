package taskdef

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Pos is a position in a source file: 1-based line and byte column. It has
// the same fields as config.Pos, so callers can convert between the two.
type Pos struct {
	File string
	Line int
	Col  int
}

// String formats p as file:line:col, leaving out what is unknown.
func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.File == "":
		return fmt.Sprintf("%d:%d", p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// IsValid reports whether p points at a line.
func (p Pos) IsValid() bool { return p.Line > 0 }

// kind is the JSON type of a node.
type kind uint8

const (
	kNull kind = iota
	kBool
	kNumber
	kString
	kArray
	kObject
)

func (k kind) String() string {
	return [...]string{"null", "boolean", "number", "string", "array", "object"}[k]
}

// node is one JSON value with the position where it starts. Objects keep
// their members in file order so positions and duplicate keys survive.
type node struct {
	kind    kind
	pos     Pos
	str     string // string value, or the literal text of a number
	b       bool
	elems   []*node
	members []member
}

type member struct {
	key    string
	keyPos Pos
	val    *node
}

// get returns the value of key in an object node, or nil.
func (n *node) get(key string) *node {
	if n == nil || n.kind != kObject {
		return nil
	}
	for _, m := range n.members {
		if m.key == key {
			return m.val
		}
	}
	return nil
}

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 512

// parser is a small JSON parser that records the line and column of every
// value and key; encoding/json only knows byte offsets of syntax errors.
type parser struct {
	file  string
	data  []byte
	off   int
	line  int
	col   int
	depth int
}

// parseJSON parses one JSON document into a node tree.
func parseJSON(file string, data []byte) (*node, error) {
	p := &parser{file: file, data: data, line: 1, col: 1}
	if len(data) >= 3 && string(data[:3]) == "\uFEFF" {
		p.off = 3
	}
	p.space()
	n, err := p.value()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.off < len(p.data) {
		return nil, p.errf("unexpected %s after the end of the JSON value", p.describe())
	}
	return n, nil
}

func (p *parser) pos() Pos { return Pos{File: p.file, Line: p.line, Col: p.col} }

func (p *parser) errf(format string, args ...any) error {
	return &Error{Pos: p.pos(), Msg: fmt.Sprintf(format, args...)}
}

// describe names the byte at the cursor for error messages.
func (p *parser) describe() string {
	if p.off >= len(p.data) {
		return "end of file"
	}
	r, _ := utf8.DecodeRune(p.data[p.off:])
	return strconv.QuoteRune(r)
}

func (p *parser) advance(n int) {
	for i := 0; i < n; i++ {
		if p.data[p.off] == '\n' {
			p.line++
			p.col = 1
		} else {
			p.col++
		}
		p.off++
	}
}

func (p *parser) space() {
	for p.off < len(p.data) {
		switch p.data[p.off] {
		case ' ', '\t', '\r', '\n':
			p.advance(1)
		default:
			return
		}
	}
}

func (p *parser) value() (*node, error) {
	if p.off >= len(p.data) {
		return nil, p.errf("unexpected end of file, expecting a value (is the file truncated?)")
	}
	start := p.pos()
	switch c := p.data[p.off]; {
	case c == '{':
		return p.object(start)
	case c == '[':
		return p.array(start)
	case c == '"':
		s, err := p.string()
		if err != nil {
			return nil, err
		}
		return &node{kind: kString, pos: start, str: s}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		lit, err := p.number()
		if err != nil {
			return nil, err
		}
		return &node{kind: kNumber, pos: start, str: lit}, nil
	default:
		for _, lit := range []struct {
			text string
			n    node
		}{{"true", node{kind: kBool, b: true}}, {"false", node{kind: kBool}}, {"null", node{kind: kNull}}} {
			if strings.HasPrefix(string(p.data[p.off:min(len(p.data), p.off+len(lit.text))]), lit.text) {
				p.advance(len(lit.text))
				n := lit.n
				n.pos = start
				return &n, nil
			}
		}
		return nil, p.errf("unexpected %s, expecting a value", p.describe())
	}
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.errf("nesting deeper than %d levels", maxDepth)
	}
	return nil
}

func (p *parser) object(start Pos) (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.advance(1) // {
	n := &node{kind: kObject, pos: start}
	p.space()
	if p.off < len(p.data) && p.data[p.off] == '}' {
		p.advance(1)
		return n, nil
	}
	for {
		p.space()
		if p.off >= len(p.data) {
			return nil, p.errf("unexpected end of file inside the object that starts at %d:%d (is the file truncated?)", start.Line, start.Col)
		}
		if p.data[p.off] != '"' {
			return nil, p.errf("unexpected %s, expecting a quoted key", p.describe())
		}
		keyPos := p.pos()
		key, err := p.string()
		if err != nil {
			return nil, err
		}
		for _, m := range n.members {
			if m.key == key {
				return nil, &Error{Pos: keyPos, Msg: fmt.Sprintf("duplicate key %q (first at %d:%d)", key, m.keyPos.Line, m.keyPos.Col)}
			}
		}
		p.space()
		if p.off >= len(p.data) || p.data[p.off] != ':' {
			return nil, p.errf("unexpected %s after key %q, expecting ':'", p.describe(), key)
		}
		p.advance(1)
		p.space()
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		n.members = append(n.members, member{key: key, keyPos: keyPos, val: v})
		p.space()
		if p.off >= len(p.data) {
			return nil, p.errf("unexpected end of file inside the object that starts at %d:%d (is the file truncated?)", start.Line, start.Col)
		}
		switch p.data[p.off] {
		case ',':
			p.advance(1)
		case '}':
			p.advance(1)
			return n, nil
		default:
			return nil, p.errf("unexpected %s after the value of %q, expecting ',' or '}'", p.describe(), key)
		}
	}
}

func (p *parser) array(start Pos) (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.advance(1) // [
	n := &node{kind: kArray, pos: start}
	p.space()
	if p.off < len(p.data) && p.data[p.off] == ']' {
		p.advance(1)
		return n, nil
	}
	for {
		p.space()
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		n.elems = append(n.elems, v)
		p.space()
		if p.off >= len(p.data) {
			return nil, p.errf("unexpected end of file inside the array that starts at %d:%d (is the file truncated?)", start.Line, start.Col)
		}
		switch p.data[p.off] {
		case ',':
			p.advance(1)
		case ']':
			p.advance(1)
			return n, nil
		default:
			return nil, p.errf("unexpected %s in an array, expecting ',' or ']'", p.describe())
		}
	}
}

// string scans a quoted string at the cursor and returns its value.
func (p *parser) string() (string, error) {
	start := p.pos()
	p.advance(1) // "
	var sb strings.Builder
	for {
		if p.off >= len(p.data) {
			return "", &Error{Pos: start, Msg: "unterminated string (is the file truncated?)"}
		}
		c := p.data[p.off]
		switch {
		case c == '"':
			p.advance(1)
			return sb.String(), nil
		case c == '\\':
			if p.off+1 >= len(p.data) {
				return "", &Error{Pos: start, Msg: "unterminated string (is the file truncated?)"}
			}
			esc := p.data[p.off+1]
			switch esc {
			case '"', '\\', '/':
				sb.WriteByte(esc)
			case 'b':
				sb.WriteByte('\b')
			case 'f':
				sb.WriteByte('\f')
			case 'n':
				sb.WriteByte('\n')
			case 'r':
				sb.WriteByte('\r')
			case 't':
				sb.WriteByte('\t')
			case 'u':
				r, n, err := p.unicodeEscape()
				if err != nil {
					return "", err
				}
				sb.WriteRune(r)
				p.advance(n)
				continue
			default:
				return "", p.errf("invalid escape %q in a string", "\\"+string(rune(esc)))
			}
			p.advance(2)
		case c < 0x20:
			return "", p.errf("control character %#02x in a string (newlines must be written as \\n)", c)
		default:
			r, size := utf8.DecodeRune(p.data[p.off:])
			if r == utf8.RuneError && size == 1 {
				return "", p.errf("invalid UTF-8 in a string")
			}
			sb.WriteString(string(p.data[p.off : p.off+size]))
			p.advance(size)
		}
	}
}

// unicodeEscape decodes \uXXXX at the cursor, joining surrogate pairs; it
// returns the rune and how many bytes it spans.
func (p *parser) unicodeEscape() (rune, int, error) {
	hex := func(off int) (rune, bool) {
		if off+6 > len(p.data) || p.data[off] != '\\' || p.data[off+1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(string(p.data[off+2:off+6]), 16, 16)
		return rune(v), err == nil
	}
	r, ok := hex(p.off)
	if !ok {
		return 0, 0, p.errf("invalid \\u escape in a string")
	}
	if utf16.IsSurrogate(r) {
		if r2, ok := hex(p.off + 6); ok {
			if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
				return d, 12, nil
			}
		}
		return utf8.RuneError, 6, nil
	}
	return r, 6, nil
}

// number scans a JSON number and returns its literal text.
func (p *parser) number() (string, error) {
	start := p.off
	i := p.off
	digits := func() int {
		n := 0
		for i < len(p.data) && p.data[i] >= '0' && p.data[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if p.data[i] == '-' {
		i++
	}
	first := i
	if digits() == 0 {
		return "", p.errf("invalid number")
	}
	if p.data[first] == '0' && i-first > 1 {
		return "", p.errf("invalid number: leading zero")
	}
	if i < len(p.data) && p.data[i] == '.' {
		i++
		if digits() == 0 {
			return "", p.errf("invalid number: no digits after '.'")
		}
	}
	if i < len(p.data) && (p.data[i] == 'e' || p.data[i] == 'E') {
		i++
		if i < len(p.data) && (p.data[i] == '+' || p.data[i] == '-') {
			i++
		}
		if digits() == 0 {
			return "", p.errf("invalid number: no digits in the exponent")
		}
	}
	p.advance(i - start)
	return string(p.data[start:i]), nil
}
