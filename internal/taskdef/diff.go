package taskdef

import (
	"bytes"
	"sort"
	"strings"
)

// Change is one leaf field that differs between two definitions.
type Change struct {
	// Path names the field, with list items keyed by their name where they
	// have one: "containerDefinitions[nginx].image",
	// "containerDefinitions[app].environment[JAVA_OPTS].value", "cpu".
	Path string `json:"path"`
	// Old and New are the values: strings as they are, numbers and
	// booleans as JSON literals; empty when the field is absent on that side.
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
}

// Equal reports whether ECS treats a and b as the same definition: their
// normalized forms have no Change. Tags are metadata of a revision, not part
// of what runs, so they are not compared.
func Equal(a, b *TaskDef) bool { return len(Diff(a, b)) == 0 }

// Diff lists the fields that differ between the normalized forms of a (old)
// and b (new), sorted by path. Tags are not compared (see Equal). A role
// given by name on one side and by ARN on the other is the same role.
func Diff(a, b *TaskDef) []Change {
	fa, fb := leaves(a.Normalize()), leaves(b.Normalize())
	var out []Change
	for p, va := range fa {
		vb, ok := fb[p]
		if !ok || (va != vb && !sameRole(p, va, vb)) {
			out = append(out, Change{Path: p, Old: va, New: vb})
		}
	}
	for p, vb := range fb {
		if _, ok := fa[p]; !ok {
			out = append(out, Change{Path: p, New: vb})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// leaves flattens the definition (without tags) to path → value.
func leaves(td *TaskDef) map[string]string {
	out := map[string]string{}
	var walk func(path string, n *node)
	walk = func(path string, n *node) {
		switch n.kind {
		case kObject:
			for _, m := range n.members {
				if path == "" && m.key == "tags" {
					continue
				}
				walk(join(path, m.key), m.val)
			}
		case kArray:
			keys := elementKeys(n)
			for i, el := range n.elems {
				walk(path+"["+keys[i]+"]", el)
			}
		case kString:
			out[path] = n.str
		default:
			var buf bytes.Buffer
			writeJSON(&buf, n, "", "")
			out[path] = buf.String()
		}
	}
	walk("", toTree(&td.Input))
	return out
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
