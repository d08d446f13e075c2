package taskdef

import (
	"reflect"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// enumValues maps an ECS enum shape name (e.g. "NetworkMode") to the values
// the API accepts. The SDK's schemas name enum members but not their wire
// values; the generated Go types know them (Values()), and their names are
// the shape names.
var enumValues = func() map[string][]string {
	out := map[string][]string{}
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		if seen[t] {
			return
		}
		seen[t] = true
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map:
			walk(t.Elem())
		case reflect.Struct:
			for i := 0; i < t.NumField(); i++ {
				if t.Field(i).IsExported() {
					walk(t.Field(i).Type)
				}
			}
		case reflect.String:
			m := reflect.Zero(t).MethodByName("Values")
			if t.Name() == "" || !m.IsValid() {
				return
			}
			vals := m.Call(nil)[0]
			for i := 0; i < vals.Len(); i++ {
				out[t.Name()] = append(out[t.Name()], vals.Index(i).String())
			}
		}
	}
	walk(reflect.TypeOf(types.TaskDefinition{}))
	return out
}()

// checkEnum reports a value ECS does not accept for an enum member.
func (d *decoder) checkEnum(shape, v string) {
	vals, ok := enumValues[shape]
	if !ok {
		return
	}
	for _, a := range vals {
		if a == v {
			return
		}
	}
	msg := d.name + " must be one of " + strings.Join(vals, ", ") + ", not " + quote(v)
	if s := suggest(v, vals); s != "" {
		msg += "; did you mean " + quote(s) + "?"
	}
	d.errorf(d.cur.pos, "%s", msg)
}

func quote(s string) string {
	var sb strings.Builder
	writeStringTo(&sb, s)
	return sb.String()
}
