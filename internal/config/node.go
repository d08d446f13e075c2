package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decoder walks the YAML node tree of one file, expanding ${VAR} in every
// scalar it reads and collecting every error instead of stopping at the first.
type decoder struct {
	file   string
	getenv func(string) string
	errs   Errors

	// merging holds the mappings whose << merge keys are being expanded, to
	// stop an anchor merged into itself; mergeBudget bounds the work a file
	// of nested merges can cause.
	merging     map[*yaml.Node]bool
	mergeBudget int

	// clusterGiven records that the file has a cluster: key, so a bad value
	// there is not reported again as "no cluster" on every service.
	clusterGiven bool

	// root is the file's top mapping, whose x- keys are extensions.
	root *yaml.Node
	// unknown holds, per mapping, the unknown keys by the known key each
	// is a near miss of (see causes.go).
	unknown map[*yaml.Node]map[string]*Error
	// clusterCause is, per service without cluster:, the misspelt key in
	// it that was probably meant to be one.
	clusterCause map[*Service]*Error
}

func (d *decoder) pos(n *yaml.Node) Pos {
	return Pos{File: d.file, Line: n.Line, Col: n.Column}
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, &Error{Pos: d.pos(n), Msg: fmt.Sprintf(format, args...)})
}

// resolve follows aliases (`*name`) to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// entry is one key/value pair of a mapping, merge keys already applied.
type entry struct {
	key  string
	k, v *yaml.Node
}

// entries lists the pairs of a mapping node in file order. `<<: *anchor`
// merge keys are honoured (explicit keys win), duplicate keys are errors,
// and user-defined keys are ${VAR}-expanded when expandKeys is set.
func (d *decoder) entries(n *yaml.Node, what string, expandKeys bool) ([]entry, bool) {
	n = resolve(n)
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping (key: value lines), not %s", what, describe(n))
		return nil, false
	}
	if d.merging == nil {
		d.merging = map[*yaml.Node]bool{}
	}
	d.merging[n] = true
	defer delete(d.merging, n)
	var out []entry
	seen := map[string]*yaml.Node{}
	var merged []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Tag == "!!merge" {
			merged = append(merged, d.mergeEntries(v, what, expandKeys)...)
			continue
		}
		if resolve(k).Kind != yaml.ScalarNode {
			d.errorf(k, "%s: a key must be a plain string", what)
			continue
		}
		key := resolve(k).Value
		if expandKeys {
			var ok bool
			if key, ok = d.expandAt(k, key); !ok {
				continue
			}
		}
		if prev, dup := seen[key]; dup {
			d.errorf(k, "%s: duplicate key %q (first at line %d)", what, key, prev.Line)
			continue
		}
		seen[key] = k
		out = append(out, entry{key, k, v})
	}
	for _, e := range merged {
		if _, dup := seen[e.key]; !dup {
			seen[e.key] = e.k
			out = append(out, e)
		}
	}
	return out, true
}

func (d *decoder) mergeEntries(v *yaml.Node, what string, expandKeys bool) []entry {
	at := v
	v = resolve(v)
	if d.merging[v] {
		d.errorf(at, "%s: this << merges a mapping into itself", what)
		return nil
	}
	if d.mergeBudget++; d.mergeBudget > maxMerges {
		if d.mergeBudget == maxMerges+1 {
			d.errorf(at, "%s: more than %d << merges: simplify the anchors", what, maxMerges)
		}
		return nil
	}
	if v.Kind == yaml.SequenceNode {
		var out []entry
		seen := map[string]bool{}
		for _, item := range v.Content {
			for _, e := range d.mergeEntries(item, what, expandKeys) {
				if !seen[e.key] { // earlier maps in a merge list win
					seen[e.key] = true
					out = append(out, e)
				}
			}
		}
		return out
	}
	if !strings.HasSuffix(what, mergedSuffix) {
		what += mergedSuffix
	}
	es, _ := d.entries(v, what, expandKeys)
	return es
}

const mergedSuffix = " (merged with <<)"

// maxMerges is far more << merges than a hand-written file has.
const maxMerges = 1000

// fields is entries for a mapping of pier's own schema: every key must be
// one of known, else an error with a did-you-mean suggestion.
func (d *decoder) fields(n *yaml.Node, what string, known []string) map[string]entry {
	es, ok := d.entries(n, what, false)
	if !ok {
		return nil
	}
	out := make(map[string]entry, len(es))
	for _, e := range es {
		if resolve(n) == d.root && strings.HasPrefix(e.key, "x-") {
			continue // extension fields hold YAML anchors to reuse with <<, as in compose files
		}
		if !contains(known, e.key) {
			d.errorf(e.k, "unknown key %q in %s%s; known keys: %s", e.key, what, didYouMean(e.key, known), strings.Join(known, ", "))
			if s := Suggest(e.key, known); s != "" {
				d.misspelt(n, e.key, s, d.errs[len(d.errs)-1])
			}
			continue
		}
		out[e.key] = e
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return fmt.Sprintf("the value %q", n.Value)
	}
	return "something else"
}

// expandAt expands ${VAR} in s, the text of node n, reporting errors at the
// column of the offending reference when the value sits on one line.
func (d *decoder) expandAt(n *yaml.Node, s string) (string, bool) {
	out, err := expand(s, d.getenv)
	if err == nil {
		return out, true
	}
	p := d.pos(n)
	if ee, ok := err.(*expandError); ok && !strings.Contains(s, "\n") {
		switch n.Style {
		case 0, yaml.TaggedStyle, yaml.FlowStyle:
			p.Col += ee.off
		case yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
			p.Col += ee.off + 1
		}
	}
	d.errs = append(d.errs, &Error{Pos: p, Msg: err.Error()})
	return "", false
}

// str reads a scalar as an expanded string.
func (d *decoder) str(n *yaml.Node, what string) (string, bool) {
	r := resolve(n)
	if isNull(r) {
		d.errorf(n, "%s needs a value", what)
		return "", false
	}
	if r.Kind != yaml.ScalarNode {
		d.errorf(n, "%s must be a single value, not %s", what, describe(r))
		return "", false
	}
	return d.expandAt(r, r.Value)
}

func (d *decoder) int(n *yaml.Node, what string, lo, hi int64) (int64, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || v < lo || v > hi {
		d.errorf(n, "%s must be a whole number from %d to %d, not %q", what, lo, hi, s)
		return 0, false
	}
	return v, true
}

func (d *decoder) bool(n *yaml.Node, what string) (bool, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return false, false
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	d.errorf(n, "%s must be true or false, not %q", what, s)
	return false, false
}

// duration reads a Go duration such as 90s, 5m or 1h30m; it must be positive.
func (d *decoder) duration(n *yaml.Node, what string) (time.Duration, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return 0, false
	}
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || v <= 0 {
		d.errorf(n, "%s must be a positive duration such as 90s, 5m or 1h30m, not %q", what, s)
		return 0, false
	}
	return v, true
}

// strList reads a list of scalars.
func (d *decoder) strList(n *yaml.Node, what string) ([]string, bool) {
	r := resolve(n)
	if isNull(r) {
		return nil, true
	}
	if r.Kind != yaml.SequenceNode {
		d.errorf(n, "%s must be a list such as [a, b], not %s", what, describe(r))
		return nil, false
	}
	out := make([]string, 0, len(r.Content))
	ok := true
	for _, item := range r.Content {
		s, good := d.str(item, what+" entry")
		ok = ok && good
		out = append(out, s)
	}
	return out, ok
}

// strMap reads a mapping of user-chosen keys to scalars, with key positions.
func (d *decoder) strMap(n *yaml.Node, what string) (map[string]string, map[string]Pos, bool) {
	es, ok := d.entries(n, what, true)
	if !ok {
		return nil, nil, false
	}
	vals := make(map[string]string, len(es))
	pos := make(map[string]Pos, len(es))
	for _, e := range es {
		s, good := d.str(e.v, fmt.Sprintf("%s %q", what, e.key))
		ok = ok && good
		vals[e.key] = s
		pos[e.key] = d.pos(e.k)
	}
	return vals, pos, ok
}

// ECR's repository-name pattern.
var repoName = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)

// A Docker/OCI tag.
var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// os/arch[/variant] as in linux/amd64 or linux/arm64/v8.
var platformPattern = regexp.MustCompile(`^[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?$`)
