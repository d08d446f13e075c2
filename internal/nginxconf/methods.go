package nginxconf

import (
	"regexp/syntax"
	"sort"
	"strings"
)

// MethodFilter is a restriction on the request method: an
// `if ($request_method OP PATTERN)` block or a `limit_except METHODS` block.
type MethodFilter struct {
	Directive *Directive
	// Op is the comparison: "=", "!=", "~", "~*", "!~", "!~*", or
	// "limit_except".
	Op      string
	Pattern string // the regex or string compared with; "" for limit_except
	// Methods are the method names the pattern matches, in pattern order
	// (e.g. ^(GET|HEAD|POST|OPTION)$ → GET HEAD POST OPTION); nil when the
	// pattern matches an open-ended set.
	Methods []string
	// Negated reports that the block runs for methods NOT matched (`!~`,
	// `!=`), i.e. Methods are the allowed ones. limit_except lists allowed
	// methods too, so it is Negated.
	Negated bool
	Pos     Pos // of the pattern (or the first method of limit_except)
}

// MethodFilters returns every $request_method condition and limit_except
// block in file order.
func (c *Config) MethodFilters() []MethodFilter {
	var out []MethodFilter
	c.Walk(func(d *Directive) bool {
		switch d.Name {
		case "if":
			if mf, ok := methodIf(d); ok {
				out = append(out, mf)
			}
		case "limit_except":
			if len(d.Args) > 0 {
				out = append(out, MethodFilter{Directive: d, Op: "limit_except", Methods: append([]string(nil), d.Args...), Negated: true, Pos: d.ArgPos[0]})
			}
		}
		return true
	})
	return out
}

// methodIf reads `if ($request_method OP PATTERN)`; nginx's tokenizer leaves
// the parentheses on the first and last words.
func methodIf(d *Directive) (MethodFilter, bool) {
	args := append([]string(nil), d.Args...)
	pos := append([]Pos(nil), d.ArgPos...)
	if len(args) > 0 {
		args[0] = strings.TrimPrefix(args[0], "(")
		last := len(args) - 1
		args[last] = strings.TrimSuffix(args[last], ")")
		if args[0] == "" {
			args, pos = args[1:], pos[1:]
		}
		if n := len(args); n > 0 && args[n-1] == "" {
			args, pos = args[:n-1], pos[:n-1]
		}
	}
	if len(args) != 3 || args[0] != "$request_method" {
		return MethodFilter{}, false
	}
	mf := MethodFilter{Directive: d, Op: args[1], Pattern: args[2], Pos: pos[2]}
	switch mf.Op {
	case "=", "!=":
		mf.Methods = []string{mf.Pattern}
	case "~", "!~", "~*", "!~*":
		mf.Methods = literalSet(mf.Pattern, strings.HasSuffix(mf.Op, "*"))
	default:
		return MethodFilter{}, false
	}
	mf.Negated = strings.HasPrefix(mf.Op, "!")
	return mf, true
}

// maxStrings bounds the expansion of a regex into the strings it matches.
const maxStrings = 64

// literalSet returns the strings a regex can match when that set is finite
// and small (alternations of literals, optional parts, small classes),
// ignoring anchors; nil otherwise. Expanding the parsed regex rather than
// splitting on '|' copes with groups, (?:…) and prefix factoring.
func literalSet(pattern string, foldCase bool) []string {
	flags := syntax.Perl
	if foldCase {
		flags |= syntax.FoldCase
	}
	re, err := syntax.Parse(pattern, flags)
	if err != nil {
		return nil
	}
	set, ok := expand(re.Simplify())
	if !ok {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range set {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func expand(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return []string{""}, true
	case syntax.OpLiteral:
		return []string{string(re.Rune)}, true
	case syntax.OpCharClass:
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if len(out) >= maxStrings {
					return nil, false
				}
				out = append(out, string(r))
			}
		}
		// A case-folded letter is one method name, not two.
		if re.Flags&syntax.FoldCase != 0 || len(out) == 2 && strings.EqualFold(out[0], out[1]) {
			out = dedupeFold(out)
		}
		return out, true
	case syntax.OpCapture:
		return expand(re.Sub[0])
	case syntax.OpQuest:
		sub, ok := expand(re.Sub[0])
		return append([]string{""}, sub...), ok
	case syntax.OpConcat:
		acc := []string{""}
		for _, sub := range re.Sub {
			part, ok := expand(sub)
			if !ok || len(acc)*len(part) > maxStrings {
				return nil, false
			}
			var next []string
			for _, a := range acc {
				for _, p := range part {
					next = append(next, a+p)
				}
			}
			acc = next
		}
		return acc, true
	case syntax.OpAlternate:
		var out []string
		for _, sub := range re.Sub {
			part, ok := expand(sub)
			if !ok || len(out)+len(part) > maxStrings {
				return nil, false
			}
			out = append(out, part...)
		}
		return out, true
	}
	return nil, false // *, +, ., unbounded repeats
}

func dedupeFold(in []string) []string {
	var out []string
	for _, s := range in {
		dup := false
		for _, o := range out {
			if strings.EqualFold(o, s) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, strings.ToUpper(s))
		}
	}
	return out
}

// httpMethods are the methods nginx accepts in requests (RFC 9110, PATCH,
// and the WebDAV methods of ngx_http_dav_module).
var httpMethods = []string{
	"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
	"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK",
}

// IsHTTPMethod reports whether m is a method name clients send.
func IsHTTPMethod(m string) bool {
	for _, h := range httpMethods {
		if h == m {
			return true
		}
	}
	return false
}

// Unknown returns the names in Methods that are not HTTP methods (typos
// such as OPTION), sorted.
func (mf MethodFilter) Unknown() []string {
	var out []string
	for _, m := range mf.Methods {
		if !IsHTTPMethod(strings.ToUpper(m)) {
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out
}

// SuggestMethod returns the HTTP method m is most likely a typo of
// (OPTION → OPTIONS, DELET → DELETE), or "".
func SuggestMethod(m string) string {
	m = strings.ToUpper(m)
	best, bestD := "", 3
	for _, h := range httpMethods {
		if d := editDistance(m, h); d < bestD {
			best, bestD = h, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
