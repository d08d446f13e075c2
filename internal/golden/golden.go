// Package golden checks what a test produced against a golden file under testdata,
// which `go test ./... -update` rewrites for review as a diff.
//
// Each package with golden files keeps its own flag,
//
//	var update = flag.Bool("update", false, "rewrite golden files")
//
// and passes *update to Check: a flag registered here would clash with the packages
// that define theirs.
package golden

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Check compares got with the golden file at path. With update it writes got there
// instead, creating the directory, and the test passes.
func Check(tb testing.TB, path string, got []byte, update bool) {
	tb.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatalf("rewriting golden file: %v", err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatalf("rewriting golden file: %v", err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("reading golden file (go test -update creates it): %v", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("the test's output differs from %s (go test -update rewrites it; review the diff):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
