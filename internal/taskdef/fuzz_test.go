package taskdef

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, name := range fixtures {
		data, err := os.ReadFile(fixture(name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2]) // truncated
	}
	if data, err := os.ReadFile("testdata/kitchen-sink.json"); err == nil {
		f.Add(data)
	}
	for _, s := range []string{`{}`, `[]`, `{"taskDefinition": {}}`, `{"a": "\ud83d\ude00"}`, `{"cpu": 1e999}`, `"x"`, `{"family":"f","containerDefinitions":[{"name":"a","portMappings":[{"containerPort":-0}]}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The positioned parser agrees with encoding/json on what is JSON;
		// it is only stricter about duplicate keys, nesting depth and invalid
		// UTF-8 (which encoding/json silently replaces).
		_, perr := parseJSON("f.json", data)
		valid := json.Valid(data)
		if perr == nil && !valid {
			t.Fatalf("parser accepted invalid JSON %q", data)
		}
		if perr != nil && valid && !strings.Contains(perr.Error(), "duplicate key") && !strings.Contains(perr.Error(), "nesting deeper") && !strings.Contains(perr.Error(), "invalid UTF-8") {
			t.Fatalf("parser rejected valid JSON %q: %v", data, perr)
		}
		if perr != nil && !strings.HasPrefix(perr.Error(), "f.json:") {
			t.Fatalf("syntax error without a position: %v", perr)
		}

		td, err := Parse("f.json", data)
		if err != nil {
			for _, e := range err.(Errors) {
				if !e.Pos.IsValid() {
					t.Fatalf("error without a position: %v", e)
				}
			}
			return
		}
		// What pier renders reads back as the same definition.
		out := td.JSON()
		back, err := Parse("out.json", out)
		if err != nil {
			t.Fatalf("re-parsing the rendering failed: %v\n%s", err, out)
		}
		if !bytes.Equal(back.JSON(), out) {
			t.Fatalf("rendering is not stable:\n%s\n%s", out, back.JSON())
		}
		n := td.Normalize()
		if !bytes.Equal(n.Normalize().JSON(), n.JSON()) {
			t.Fatalf("Normalize is not idempotent:\n%s", n.JSON())
		}
		if d := diff(t, td, back); len(d) != 0 {
			t.Fatalf("Diff(parsed, re-parsed) = %v", d)
		}
	})
}
