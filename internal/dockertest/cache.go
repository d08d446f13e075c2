package dockertest

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// entry makes sure the cache entry cache/key exists and is whole. Under an
// exclusive flock on cache/key.lock, an entry marked done is taken as it is;
// otherwise fill makes it in a fresh temporary directory beside it, which is
// marked done and renamed into place only once fill has succeeded, so a build
// that fails or is killed never leaves an entry that looks finished. Before
// fill runs, need bytes must be free in cache (see RequireDisk). made says
// whether fill ran.
func entry(tb testing.TB, cache, key string, need uint64, what string, fill func(tmp string) error) (made bool, err error) {
	tb.Helper()
	unlock := lock(tb, filepath.Join(cache, key+".lock"))
	defer unlock()
	dir := filepath.Join(cache, key)
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return false, nil
	}
	RequireDisk(tb, cache, need, what)
	// Temporary trees of builds that were killed: their lock is ours now.
	stale, _ := filepath.Glob(filepath.Join(cache, ".tmp-"+key+"-*"))
	for _, s := range stale {
		if err := os.RemoveAll(s); err != nil {
			return false, fmt.Errorf("removing %s, left by a build that did not finish: %w", s, err)
		}
	}
	tmp, err := os.MkdirTemp(cache, ".tmp-"+key+"-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp's 0700 would hide the entry from other users
		return false, err
	}
	if err := fill(tmp); err != nil {
		return false, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "done"), []byte(key+"\n"), 0o644); err != nil {
		return false, err
	}
	// An entry without "done" cannot come from this code; whatever it is, it goes.
	if err := os.RemoveAll(dir); err != nil {
		return false, err
	}
	return true, os.Rename(tmp, dir)
}

// lock takes an exclusive flock on path, waiting for whoever holds it.
func lock(tb testing.TB, path string) (unlock func()) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		tb.Fatalf("opening lock %s: %v", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		tb.Fatalf("locking %s: %v", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
}
