package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The troubleshooting table of docs/existing-accounts.md has a row for
// every cause class the engine can report, so a new class cannot ship
// without telling users what to do about it.
func TestTroubleshootingCoversEveryCause(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "existing-accounts.md"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(repoRoot, "internal", "deploy", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	kind := regexp.MustCompile(`\bKind = "([a-z-]+)"`)
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range kind.FindAllSubmatch(src, -1) {
			found++
			if !strings.Contains(string(doc), "| `"+string(m[1])+"` |") {
				t.Errorf("docs/existing-accounts.md has no troubleshooting row for cause %q (%s)", m[1], filepath.Base(f))
			}
		}
	}
	if found < 20 {
		t.Fatalf("found only %d cause kinds in internal/deploy", found)
	}
}
