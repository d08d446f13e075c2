package sim

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/pier-deploy/pier/internal/golden"
)

var update = flag.Bool("update", false, "rewrite golden files")

// checkGolden compares got with testdata/sim/name (rewritten with -update).
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("..", "..", "testdata", "sim", name), []byte(got), *update)
}
