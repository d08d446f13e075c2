package integration

import (
	"path/filepath"
	"testing"
)

// recorder stands in for the test that calls Program, keeping how it would have
// ended instead of ending the real test.
type recorder struct {
	testing.TB
	skipped, failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Skipf(string, ...any)  { r.skipped = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }

func TestProgram(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-program")
	tests := []struct {
		name        string
		names       []string
		integration string
		want        string // a path, a name on PATH, or "" when Program finds nothing
		skip, fail  bool
	}{
		{name: "on PATH", names: []string{"sh"}, want: "sh"},
		{name: "first that exists wins", names: []string{missing, "/bin/sh", "sh"}, want: "/bin/sh"},
		{name: "missing skips", names: []string{missing}, skip: true},
		{name: "missing fails under PIER_INTEGRATION=1", names: []string{missing}, integration: "1", fail: true},
		{name: "other values still skip", names: []string{missing}, integration: "0", skip: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(Env, tt.integration)
			rec := &recorder{TB: t}
			got := Program(rec, "pkg", tt.names...)
			if rec.skipped != tt.skip || rec.failed != tt.fail {
				t.Errorf("skipped %v, failed %v; want %v, %v", rec.skipped, rec.failed, tt.skip, tt.fail)
			}
			want := tt.want
			if want != "" && !filepath.IsAbs(want) {
				got = filepath.Base(got)
			}
			if got != want {
				t.Errorf("Program = %q, want %q", got, want)
			}
		})
	}
}
