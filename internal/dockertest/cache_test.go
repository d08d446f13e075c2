package dockertest

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

func TestEntry(t *testing.T) {
	boom := errors.New("debootstrap died")
	tests := []struct {
		name     string
		before   func(t *testing.T, cache string) // what an earlier run left
		fill     func(tmp string) error
		wantMade bool
		wantErr  error
		wantFile string // a file the entry must hold afterwards; "" = no entry at all
	}{
		{
			name:     "empty cache: fill runs and the entry is published",
			fill:     writeFile("rootfs.tar"),
			wantMade: true, wantFile: "rootfs.tar",
		},
		{
			name:    "a fill that fails half-way leaves no entry",
			fill:    func(tmp string) error { _ = writeFile("rootfs.tar")(tmp); return boom },
			wantErr: boom,
		},
		{
			name: "a finished entry is taken as it is",
			before: func(t *testing.T, cache string) {
				mkEntry(t, filepath.Join(cache, "k"), "old.tar", "done")
			},
			fill:     func(string) error { t.Error("fill ran over a finished entry"); return nil },
			wantFile: "old.tar",
		},
		{
			name: "an entry without done and a killed build's tree are replaced",
			before: func(t *testing.T, cache string) {
				mkEntry(t, filepath.Join(cache, "k"), "half.tar")
				mkEntry(t, filepath.Join(cache, ".tmp-k-123"), "half.tar")
			},
			fill:     writeFile("rootfs.tar"),
			wantMade: true, wantFile: "rootfs.tar",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache := t.TempDir()
			if tt.before != nil {
				tt.before(t, cache)
			}
			made, err := entry(t, cache, "k", 1, "a test entry", tt.fill)
			if made != tt.wantMade || !errors.Is(err, tt.wantErr) {
				t.Fatalf("entry = %v, %v; want %v, %v", made, err, tt.wantMade, tt.wantErr)
			}
			if tt.wantFile == "" {
				if _, err := os.Stat(filepath.Join(cache, "k")); !os.IsNotExist(err) {
					t.Errorf("a failed build left an entry: %v", err)
				}
			} else {
				for _, f := range []string{tt.wantFile, "done"} {
					if _, err := os.Stat(filepath.Join(cache, "k", f)); err != nil {
						t.Errorf("entry lacks %s: %v", f, err)
					}
				}
			}
			if tmps, _ := filepath.Glob(filepath.Join(cache, ".tmp-*")); len(tmps) != 0 {
				t.Errorf("temporary trees left behind: %v", tmps)
			}
		})
	}
}

// TestEntryConcurrent: callers racing for one entry wait for one builder.
func TestEntryConcurrent(t *testing.T) {
	cache := t.TempDir()
	var fills atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := entry(t, cache, "k", 1, "a test entry", func(tmp string) error {
				fills.Add(1)
				return writeFile("rootfs.tar")(tmp)
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := fills.Load(); n != 1 {
		t.Errorf("%d callers built the entry, want 1", n)
	}
}

func writeFile(name string) func(string) error {
	return func(dir string) error { return os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644) }
}

func mkEntry(t *testing.T, dir string, files ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := writeFile(f)(dir); err != nil {
			t.Fatal(err)
		}
	}
}
