package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pier-deploy/pier/internal/redact"
)

// Fields is a task definition flattened to leaf paths and their values, e.g.
// "containerDefinitions[nginx].image" → "….amazonaws.com/backend-nginx@sha256:…".
// Flattening the normalized RegisterTaskDefinition input (taskdef's JSON
// rendering) lets plan compare and diff definitions without importing the
// SDK: two definitions ECS treats as equal have equal Fields.
type Fields map[string]string

// Flatten turns a JSON object into Fields. Lists of objects that all carry a
// string "name" (containers, environment, secrets, volumes, named port
// mappings) are keyed by name, so reordering them is no change and a diff
// names the container; other lists are keyed by index. Empty lists, empty
// objects and nulls are dropped: ECS reads them as absent.
func Flatten(data []byte) (Fields, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("flattening task definition: %w", err)
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, fmt.Errorf("flattening task definition: want a JSON object, got %T", v)
	}
	f := Fields{}
	flatten(f, "", v)
	return f, nil
}

func flatten(f Fields, prefix string, v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(f, p, e)
		}
	case []any:
		byName := len(v) > 0
		for _, e := range v {
			m, ok := e.(map[string]any)
			if !ok {
				byName = false
				break
			}
			if _, ok := m["name"].(string); !ok {
				byName = false
				break
			}
		}
		for i, e := range v {
			key := strconv.Itoa(i)
			if byName {
				key = e.(map[string]any)["name"].(string)
			}
			flatten(f, prefix+"["+key+"]", e)
		}
	case string:
		f[prefix] = v
	case json.Number:
		f[prefix] = v.String()
	case bool:
		f[prefix] = strconv.FormatBool(v)
	case nil:
	}
}

// Equal reports whether two flattened definitions are the same to ECS.
func (f Fields) Equal(g Fields) bool {
	if len(f) != len(g) {
		return false
	}
	for k, v := range f {
		if w, ok := g[k]; !ok || !sameValue(k, v, w) {
			return false
		}
	}
	return true
}

// sameValue reports whether two values of the field at path are the same to
// ECS: equal, or one IAM role given by name and by ARN.
func sameValue(path, a, b string) bool {
	return a == b || sameRole(path, a, b)
}

// sameRole treats "name" and "arn:…:role/…/name" as the same IAM role: ECS
// accepts either and DescribeTaskDefinition returns what was registered.
func sameRole(path, a, b string) bool {
	if path != "taskRoleArn" && path != "executionRoleArn" {
		return false
	}
	if strings.HasPrefix(a, "arn:") == strings.HasPrefix(b, "arn:") {
		return false
	}
	return roleName(a) == roleName(b)
}

func roleName(s string) string {
	if i := strings.LastIndexByte(s, '/'); strings.HasPrefix(s, "arn:") && i >= 0 {
		return s[i+1:]
	}
	return s
}

// Diff lists the fields that differ from old to f, sorted by path. A
// sensitive field (redact.Field: a secret-looking environment name, or a
// value shaped like a credential, on either side) keeps its path, but its
// values are stand-ins that show a change and tell values apart without
// saying what they are: every view of a plan (text, JSON, Markdown, the
// action's outputs) is made from these Changes, so none can print a secret.
func (f Fields) Diff(old Fields) []Change {
	var out []Change
	for k, v := range f {
		if o, ok := old[k]; !ok || !sameValue(k, o, v) {
			out = append(out, change(k, o, v))
		}
	}
	for k, o := range old {
		if _, ok := f[k]; !ok {
			out = append(out, change(k, o, ""))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func change(path, old, new string) Change {
	if redact.Field(path, old) || redact.Field(path, new) {
		return Change{Path: path, Old: redact.StandIn(old), New: redact.StandIn(new), Sensitive: true}
	}
	return Change{Path: path, Old: old, New: new}
}

// Secrets returns the sensitive values of f (see Diff), each once, sorted:
// what the GitHub action masks and error messages are scrubbed of.
func (f Fields) Secrets() []string {
	seen := map[string]bool{}
	var out []string
	for k, v := range f {
		if v != "" && !seen[v] && redact.Field(k, v) {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// Digest is a stable hash of the fields, recorded in a plan so a saved plan
// can be matched against a fresh computation. Sensitive values enter it as
// their stand-ins: a full hash over a definition whose other fields are in
// the repository would let anyone test guesses of a secret against the plan.
// A changed secret still changes the digest (but for one change in 65,536).
func (f Fields) Digest() string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		v := f[k]
		if redact.Field(k, v) {
			v = redact.StandIn(v)
		}
		fmt.Fprintf(h, "%q=%q\n", k, v)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Int returns the integer value at path, or 0 when absent or not a number.
func (f Fields) Int(path string) int64 {
	n, err := strconv.ParseInt(f[path], 10, 64)
	if err != nil {
		return 0
	}
	return n
}
