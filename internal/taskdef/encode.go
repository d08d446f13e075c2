package taskdef

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"sort"
	"strconv"
	"time"

	smithy "github.com/aws/smithy-go"
	"github.com/aws/smithy-go/document"
)

// encoder turns SDK values into a JSON tree through their generated
// Serialize methods (it implements smithy.ShapeSerializer), so member names
// and which zero values are left out match the SDK's wire format exactly.
type encoder struct {
	root  *node
	stack []*node
	key   []string // pending map key per open map
}

var _ smithy.ShapeSerializer = (*encoder)(nil)

// toTree serializes v into a JSON tree.
func toTree(v smithy.Serializable) *node {
	e := &encoder{}
	v.Serialize(e)
	return e.root
}

// add places n as the value of member s in the open struct, the next
// element of the open list, or the value for the pending map key.
func (e *encoder) add(s *smithy.Schema, n *node) {
	if len(e.stack) == 0 {
		e.root = n
		return
	}
	parent := e.stack[len(e.stack)-1]
	switch {
	case parent.kind == kArray:
		parent.elems = append(parent.elems, n)
	case parent.str == "map":
		k := e.key[len(e.key)-1]
		parent.members = append(parent.members, member{key: k, val: n})
	default:
		parent.members = append(parent.members, member{key: s.MemberName(), val: n})
	}
}

func (e *encoder) open(s *smithy.Schema, n *node) {
	e.add(s, n)
	e.stack = append(e.stack, n)
}

func (e *encoder) close() {
	n := e.stack[len(e.stack)-1]
	e.stack = e.stack[:len(e.stack)-1]
	if n.str == "map" {
		// Go maps iterate in random order; sort for a stable rendering.
		n.str = ""
		e.key = e.key[:len(e.key)-1]
		sort.SliceStable(n.members, func(i, j int) bool { return n.members[i].key < n.members[j].key })
	}
}

func (e *encoder) Bytes() []byte {
	var buf bytes.Buffer
	writeJSON(&buf, e.root, "", "")
	return buf.Bytes()
}

func (e *encoder) num(s *smithy.Schema, lit string) { e.add(s, &node{kind: kNumber, str: lit}) }

func (e *encoder) WriteInt8(s *smithy.Schema, v int8)   { e.num(s, strconv.FormatInt(int64(v), 10)) }
func (e *encoder) WriteInt16(s *smithy.Schema, v int16) { e.num(s, strconv.FormatInt(int64(v), 10)) }
func (e *encoder) WriteInt32(s *smithy.Schema, v int32) { e.num(s, strconv.FormatInt(int64(v), 10)) }
func (e *encoder) WriteInt64(s *smithy.Schema, v int64) { e.num(s, strconv.FormatInt(v, 10)) }
func (e *encoder) WriteFloat32(s *smithy.Schema, v float32) {
	e.num(s, strconv.FormatFloat(float64(v), 'g', -1, 32))
}
func (e *encoder) WriteFloat64(s *smithy.Schema, v float64) {
	e.num(s, strconv.FormatFloat(v, 'g', -1, 64))
}
func (e *encoder) WriteBool(s *smithy.Schema, v bool) { e.add(s, &node{kind: kBool, b: v}) }
func (e *encoder) WriteString(s *smithy.Schema, v string) {
	e.add(s, &node{kind: kString, str: v})
}
func (e *encoder) WriteBigInt(s *smithy.Schema, v *big.Int)     { e.num(s, v.String()) }
func (e *encoder) WriteBigFloat(s *smithy.Schema, v *big.Float) { e.num(s, v.Text('g', -1)) }
func (e *encoder) WriteBlob(s *smithy.Schema, v []byte) {
	e.WriteString(s, base64.StdEncoding.EncodeToString(v))
}

// WriteTime writes epoch seconds, as awsJson1_1 does.
func (e *encoder) WriteTime(s *smithy.Schema, v time.Time) {
	e.num(s, strconv.FormatFloat(float64(v.UnixNano())/1e9, 'f', -1, 64))
}

func (e *encoder) WriteUnion(schema, variant *smithy.Schema) {
	e.open(schema, &node{kind: kObject})
}
func (e *encoder) CloseUnion() { e.close() }

func (e *encoder) WriteDocument(s *smithy.Schema, v document.Value) {
	b, err := json.Marshal(v)
	if err != nil {
		e.add(s, &node{kind: kNull})
		return
	}
	n, err := parseJSON("", b)
	if err != nil {
		n = &node{kind: kNull}
	}
	e.add(s, n)
}

func (e *encoder) WriteNil(s *smithy.Schema)    { e.add(s, &node{kind: kNull}) }
func (e *encoder) WriteStruct(s *smithy.Schema) { e.open(s, &node{kind: kObject}) }
func (e *encoder) CloseStruct()                 { e.close() }
func (e *encoder) WriteList(s *smithy.Schema)   { e.open(s, &node{kind: kArray}) }
func (e *encoder) CloseList()                   { e.close() }

// WriteMap opens an object whose keys come from WriteKey; str marks it as a
// map while it is open.
func (e *encoder) WriteMap(s *smithy.Schema) {
	e.open(s, &node{kind: kObject, str: "map"})
	e.key = append(e.key, "")
}
func (e *encoder) WriteKey(_ *smithy.Schema, k string) { e.key[len(e.key)-1] = k }
func (e *encoder) CloseMap()                           { e.close() }

// writeJSON prints n. With an indent it puts one member or element per line;
// empty objects and arrays stay on one line. Keys keep the tree's order.
func writeJSON(buf *bytes.Buffer, n *node, prefix, indent string) {
	nl := func(depth string) {
		if indent != "" {
			buf.WriteByte('\n')
			buf.WriteString(depth)
		}
	}
	inner := prefix + indent
	switch n.kind {
	case kNull:
		buf.WriteString("null")
	case kBool:
		buf.WriteString(strconv.FormatBool(n.b))
	case kNumber:
		buf.WriteString(n.str)
	case kString:
		writeString(buf, n.str)
	case kArray:
		buf.WriteByte('[')
		for i, el := range n.elems {
			if i > 0 {
				buf.WriteByte(',')
			}
			nl(inner)
			writeJSON(buf, el, inner, indent)
		}
		if len(n.elems) > 0 {
			nl(prefix)
		}
		buf.WriteByte(']')
	case kObject:
		buf.WriteByte('{')
		for i, m := range n.members {
			if i > 0 {
				buf.WriteByte(',')
			}
			nl(inner)
			writeString(buf, m.key)
			buf.WriteByte(':')
			if indent != "" {
				buf.WriteByte(' ')
			}
			writeJSON(buf, m.val, inner, indent)
		}
		if len(n.members) > 0 {
			nl(prefix)
		}
		buf.WriteByte('}')
	}
}

// writeString writes s as a JSON string without encoding/json's HTML
// escaping, so "<" and "&" stay readable in `pier render`.
func writeString(buf *bytes.Buffer, s string) { writeStringTo(buf, s) }

func writeStringTo(w io.Writer, s string) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)              // cannot fail for a string
	w.Write(b.Bytes()[:b.Len()-1]) // Encode appends a newline
}
