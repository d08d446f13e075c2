package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// The SDK's serializers leave out a non-pointer number or boolean that holds
// its zero value (they were written for requests, where that means "not
// set"). ECS's replies do carry those members: a deployment with nothing
// pending says "pendingCount": 0 and "failedTasks": 0, an instance says
// "pendingTasksCount": 0, a resource lists "doubleValue", "longValue" and
// "integerValue", a container definition without a reservation "cpu": 0. The
// SDK reads a missing member as 0 too, but a second client does not: the aws
// CLI prints nothing for it and `--query deployments[0].failedTasks` yields
// null. withZeros puts those members back, walking the reply alongside the
// SDK value it was encoded from.

// withZeros returns body (the encoding of out) with every zero-valued
// non-pointer number and boolean of out present.
func withZeros(body []byte, out any) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("re-reading the encoded reply: %w", err)
	}
	if !fillZeros(reflect.ValueOf(out), doc) {
		return body, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encoding the reply: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// memberName is the awsJson1_1 member name of a Go field of an SDK type.
func memberName(field string) string { return strings.ToLower(field[:1]) + field[1:] }

// fillZeros adds the missing zero members to doc (the decoded encoding of
// v) and reports whether it added any.
func fillZeros(v reflect.Value, doc any) bool {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return false
		}
		v = v.Elem()
	}
	changed := false
	switch v.Kind() {
	case reflect.Struct:
		m, ok := doc.(map[string]any)
		if !ok || v.Type() == timeType {
			return false
		}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() || f.Name == "ResultMetadata" {
				continue
			}
			key := memberName(f.Name)
			fv := v.Field(i)
			if sub, ok := m[key]; ok {
				changed = fillZeros(fv, sub) || changed
				continue
			}
			switch fv.Kind() {
			case reflect.Int32, reflect.Int64:
				m[key] = json.Number("0")
				changed = true
			case reflect.Float64:
				m[key] = json.Number("0.0")
				changed = true
			case reflect.Bool:
				m[key] = false
				changed = true
			}
		}
	case reflect.Slice:
		list, ok := doc.([]any)
		if !ok || len(list) != v.Len() {
			return false
		}
		for i := range list {
			changed = fillZeros(v.Index(i), list[i]) || changed
		}
	}
	return changed
}
