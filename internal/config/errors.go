package config

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// String renders the position as file:line:col, leaving out the parts that
// are unknown, so editors and CI annotations can jump to it.
func (p Pos) String() string {
	s := p.File
	if p.Line > 0 {
		if s != "" {
			s += ":"
		}
		s += strconv.Itoa(p.Line)
		if p.Col > 0 {
			s += ":" + strconv.Itoa(p.Col)
		}
	}
	return s
}

// IsValid reports whether the position names at least a line.
func (p Pos) IsValid() bool { return p.Line > 0 }

// Error is one problem in an input file, at a position.
type Error struct {
	Pos Pos
	Msg string
	// after is the error this one follows from (a misspelt key), which the
	// list puts first.
	after *Error
	key   string // for an unknown key, the key
}

func (e *Error) Error() string {
	if s := e.Pos.String(); s != "" {
		return s + ": " + e.Msg
	}
	return e.Msg
}

// Errors is every problem found in one file, sorted by position, each
// knock-on error right after the error it follows from. The parser
// reports them all at once so a user fixes a file in one round.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// AsErrors flattens err into the list of positioned errors it carries: a
// single *Error, an Errors list, or anything wrapping them. It returns nil when
// err carries no position, so callers can tell input errors from I/O errors.
func AsErrors(err error) Errors {
	var list Errors
	if errors.As(err, &list) {
		return list
	}
	var one *Error
	if errors.As(err, &one) {
		return Errors{one}
	}
	return nil
}

func (es Errors) sort() {
	sort.SliceStable(es, func(i, j int) bool {
		ac, ar, ap := es[i].sortKey()
		bc, br, bp := es[j].sortKey()
		switch {
		case ac != bc:
			return posLess(ac, bc)
		case ar != br:
			return ar < br
		}
		return posLess(ap, bp)
	})
}

// Suggest returns the candidate closest to word when it is close enough to be
// a plausible typo, else "". Case and `_`/`-` differences count as nothing, so
// `task_definition` finds `taskDefinition`.
func Suggest(word string, candidates []string) string {
	best, bestD := "", -1
	w := fold(word)
	for _, c := range candidates {
		d := editDistance(w, fold(c))
		limit := 2
		if len(c) <= 4 {
			limit = 1
		}
		if d <= limit && (bestD < 0 || d < bestD) {
			best, bestD = c, d
		}
	}
	return best
}

// didYouMean formats Suggest's answer for an error message.
func didYouMean(word string, candidates []string) string {
	if s := Suggest(word, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

func fold(s string) string {
	s = strings.ToLower(s)
	return strings.NewReplacer("_", "", "-", "").Replace(s)
}

// editDistance is the Damerau (optimal string alignment) distance, so a swap
// of two letters (`contianers`) costs one edit.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
