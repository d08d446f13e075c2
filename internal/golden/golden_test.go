package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder stands in for the test that calls Check, keeping what Check reports
// instead of failing the real test.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "testdata", "out.golden")

	// -update creates the directory and the file.
	rec := &recorder{TB: t}
	Check(rec, path, []byte("one\n"), true)
	if b, err := os.ReadFile(path); err != nil || string(b) != "one\n" {
		t.Fatalf("after update the golden file holds %q (%v), want %q", b, err, "one\n")
	}

	tests := []struct {
		name, got string
		wantErr   bool
	}{
		{"same output", "one\n", false},
		{"changed output", "two\n", true},
		{"missing newline", "one", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			Check(rec, path, []byte(tt.got), false)
			if got := len(rec.errors) > 0; got != tt.wantErr {
				t.Fatalf("Check(%q) reported %q; want an error: %v", tt.got, rec.errors, tt.wantErr)
			}
			if tt.wantErr && !strings.Contains(rec.errors[0], path) {
				t.Errorf("the report %q does not name the golden file %s", rec.errors[0], path)
			}
		})
	}
}
