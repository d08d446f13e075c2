package taskdef

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"time"

	smithy "github.com/aws/smithy-go"
	"github.com/aws/smithy-go/document"
)

// decoder feeds a positioned JSON tree to the SDK's own generated
// Deserialize methods (it implements smithy.ShapeDeserializer). The model's
// member names decide which keys are known, so pier accepts exactly what
// the ECS API accepts; every problem is collected with its position instead
// of stopping at the first.
type decoder struct {
	cur   *node  // the value the next Read* call consumes
	name  string // the field path of cur, e.g. containerDefinitions[app].cpu
	stack []frame
	errs  Errors
	// enums turns on checking enum values against this SDK's model: right
	// for files, wrong for definitions ECS already accepted.
	enums bool
}

type frame struct {
	n      *node
	schema *smithy.Schema
	i      int
	name   string   // field path of the struct, list or map
	keys   []string // element keys of a list, as in field paths
}

var _ smithy.ShapeDeserializer = (*decoder)(nil)

// maxErrors keeps a badly broken file from producing pages of output.
const maxErrors = 50

func newDecoder(n *node, name string) *decoder { return &decoder{cur: n, name: name} }

func (d *decoder) errorf(pos Pos, format string, args ...any) {
	if len(d.errs) < maxErrors {
		d.errs = append(d.errs, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
	}
}

// mismatch records that the current value has the wrong JSON type.
func (d *decoder) mismatch(want string) {
	d.errorf(d.cur.pos, "%s must be %s, not %s", d.name, want, describeNode(d.cur))
}

func describeNode(n *node) string {
	switch n.kind {
	case kString:
		return "the string " + strconv.Quote(n.str)
	case kNumber:
		return "the number " + n.str
	case kBool:
		return "the boolean " + strconv.FormatBool(n.b)
	case kNull:
		return "null"
	}
	return "an " + n.kind.String()
}

func (d *decoder) readInt(min, max int64) int64 {
	if d.cur.kind != kNumber {
		d.mismatch("an integer")
		return 0
	}
	v, err := strconv.ParseInt(d.cur.str, 10, 64)
	if err != nil || v < min || v > max {
		d.errorf(d.cur.pos, "%s must be an integer between %d and %d, not %s", d.name, min, max, d.cur.str)
		return 0
	}
	return v
}

func (d *decoder) ReadInt8(_ *smithy.Schema, v *int8) error {
	*v = int8(d.readInt(math.MinInt8, math.MaxInt8))
	return nil
}

func (d *decoder) ReadInt16(_ *smithy.Schema, v *int16) error {
	*v = int16(d.readInt(math.MinInt16, math.MaxInt16))
	return nil
}

func (d *decoder) ReadInt32(_ *smithy.Schema, v *int32) error {
	*v = int32(d.readInt(math.MinInt32, math.MaxInt32))
	return nil
}

func (d *decoder) ReadInt64(_ *smithy.Schema, v *int64) error {
	*v = d.readInt(math.MinInt64, math.MaxInt64)
	return nil
}

func (d *decoder) readFloat(bits int) float64 {
	if d.cur.kind != kNumber {
		d.mismatch("a number")
		return 0
	}
	f, err := strconv.ParseFloat(d.cur.str, bits)
	if err != nil {
		d.errorf(d.cur.pos, "%s: number %s out of range", d.name, d.cur.str)
	}
	return f
}

func (d *decoder) ReadFloat32(_ *smithy.Schema, v *float32) error {
	*v = float32(d.readFloat(32))
	return nil
}

func (d *decoder) ReadFloat64(_ *smithy.Schema, v *float64) error {
	*v = d.readFloat(64)
	return nil
}

func (d *decoder) ReadBool(_ *smithy.Schema, v *bool) error {
	if d.cur.kind != kBool {
		d.mismatch("true or false")
		return nil
	}
	*v = d.cur.b
	return nil
}

func (d *decoder) ReadString(s *smithy.Schema, v *string) error {
	if d.cur.kind != kString {
		d.mismatch("a string")
		return nil
	}
	*v = d.cur.str
	if d.enums && s != nil && s.Type() == smithy.ShapeTypeEnum {
		d.checkEnum(s.TargetID().Name, *v)
	}
	return nil
}

func (d *decoder) ReadBlob(_ *smithy.Schema, v *[]byte) error {
	if d.cur.kind != kString {
		d.mismatch("a base64 string")
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(d.cur.str)
	if err != nil {
		d.errorf(d.cur.pos, "%s must be base64: %v", d.name, err)
	}
	*v = b
	return nil
}

// ReadTime accepts what ECS sends (epoch seconds) and what the AWS CLI
// prints (RFC 3339), since files come from the CLI.
func (d *decoder) ReadTime(_ *smithy.Schema, v *time.Time) error {
	switch d.cur.kind {
	case kNumber:
		f, err := strconv.ParseFloat(d.cur.str, 64)
		if err == nil {
			sec, frac := math.Modf(f)
			*v = time.Unix(int64(sec), int64(frac*1e9)).UTC()
			return nil
		}
	case kString:
		t, err := time.Parse(time.RFC3339Nano, d.cur.str)
		if err == nil {
			*v = t
			return nil
		}
	}
	d.mismatch("a timestamp (epoch seconds or RFC 3339)")
	return nil
}

func (d *decoder) ReadBigInt(_ *smithy.Schema, v *big.Int) error {
	if d.cur.kind != kNumber {
		d.mismatch("an integer")
		return nil
	}
	if _, ok := v.SetString(d.cur.str, 10); !ok {
		d.errorf(d.cur.pos, "%s must be an integer, not %s", d.name, d.cur.str)
	}
	return nil
}

func (d *decoder) ReadBigFloat(_ *smithy.Schema, v *big.Float) error {
	if d.cur.kind != kNumber {
		d.mismatch("a number")
		return nil
	}
	if _, ok := v.SetString(d.cur.str); !ok {
		d.errorf(d.cur.pos, "%s must be a number, not %s", d.name, d.cur.str)
	}
	return nil
}

// ReadNil is asked before list elements; ECS rejects null elements, so a
// null is reported here and then decoded as the zero value.
func (d *decoder) ReadNil(*smithy.Schema) (bool, error) {
	if d.cur.kind == kNull {
		d.errorf(d.cur.pos, "%s: null is not allowed in a list", d.name)
		return true, nil
	}
	return false, nil
}

func (d *decoder) push(n *node, s *smithy.Schema, want kind) {
	if n.kind != want {
		d.mismatch("an " + want.String())
		n = &node{kind: want, pos: n.pos} // read nothing, keep going
	}
	f := frame{n: n, schema: s, name: d.name}
	if want == kArray {
		f.keys = elementKeys(n)
	}
	d.stack = append(d.stack, f)
}

func (d *decoder) top() *frame { return &d.stack[len(d.stack)-1] }

func (d *decoder) pop() {
	d.name = d.top().name
	d.stack = d.stack[:len(d.stack)-1]
}

func (d *decoder) ReadStruct(s *smithy.Schema) error {
	d.push(d.cur, s, kObject)
	return nil
}

// ReadStructMember returns the schema of the next known member. Unknown keys
// are reported (ECS would reject them) and skipped; null values count as
// absent, as they do for the SDK.
func (d *decoder) ReadStructMember() (*smithy.Schema, error) {
	f := d.top()
	for f.i < len(f.n.members) {
		m := f.n.members[f.i]
		f.i++
		ms := f.schema.Member(m.key)
		if ms == nil {
			d.unknown(f, m)
			continue
		}
		if m.val.kind == kNull {
			continue
		}
		d.cur, d.name = m.val, join(f.name, m.key)
		return ms, nil
	}
	d.pop()
	return nil, nil
}

func (d *decoder) unknown(f *frame, m member) {
	names := make([]string, 0, len(f.schema.Members()))
	for k := range f.schema.Members() {
		names = append(names, k)
	}
	sort.Strings(names)
	where := ""
	if f.name != "" {
		where = " in " + f.name
	}
	msg := fmt.Sprintf("unknown field %q%s (ECS would reject it)", m.key, where)
	if s := suggest(m.key, names); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	d.errorf(m.keyPos, "%s", msg)
}

func (d *decoder) ReadUnion(*smithy.Schema) (*smithy.Schema, error) {
	d.errorf(d.cur.pos, "%s: union values are not supported in task definitions", d.name)
	return nil, nil
}

func (d *decoder) ReadDocument(*smithy.Schema, *document.Value) error {
	d.errorf(d.cur.pos, "%s: document values are not supported in task definitions", d.name)
	return nil
}

func (d *decoder) ReadList(s *smithy.Schema) error {
	d.push(d.cur, s, kArray)
	return nil
}

func (d *decoder) ReadListItem(*smithy.Schema) (bool, error) {
	f := d.top()
	if f.i >= len(f.n.elems) {
		d.pop()
		return false, nil
	}
	d.cur = f.n.elems[f.i]
	d.name = f.name + "[" + f.keys[f.i] + "]"
	f.i++
	return true, nil
}

func (d *decoder) ReadMap(s *smithy.Schema) error {
	d.push(d.cur, s, kObject)
	return nil
}

func (d *decoder) ReadMapKey(*smithy.Schema) (string, bool, error) {
	f := d.top()
	for f.i < len(f.n.members) {
		m := f.n.members[f.i]
		f.i++
		if m.val.kind == kNull {
			d.errorf(m.val.pos, "%s: null is not allowed as the value of %q", f.name, m.key)
			continue
		}
		d.cur, d.name = m.val, join(f.name, m.key)
		return m.key, true, nil
	}
	d.pop()
	return "", false, nil
}
