package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A misspelt top-level key is the root cause of what follows from it: it
// comes first, and every message names the file as given to -f, which need
// not be called pier.yaml.
func TestInputErrorsCausalOrder(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		first    string // the first line, after the file name
		then     string // a later line that follows from the first
	}{
		{"misspelt services", "services:\n", "servics:\n",
			`:26:1: unknown key "servics" in the top level of FILE (did you mean "services"?)`,
			`:4:1: FILE has no services: section: add one service per ECS service to deploy (probably because of the unknown key "servics" at line 26)`},
		{"misspelt images", "images:\n", "imagse:\n",
			`:10:1: unknown key "imagse" in the top level of FILE (did you mean "images"?)`,
			`uses image "front-next", which is not a key of images: (probably because of the unknown key "imagse" at line 10)`},
		{"misspelt cluster", "cluster: inforum\n", "clustr: inforum\n",
			`:5:1: unknown key "clustr" in the top level of FILE (did you mean "cluster"?)`,
			`:27:3: service "frontend" has no cluster: set cluster: at the top of the file or in the service (probably because of the unknown key "clustr" at line 5)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pier := copyInforum(t, map[string][2]string{"pier.yaml": {tt.old, tt.new}})
			file := filepath.Join(filepath.Dir(pier), "deploy", "inforum.yml")
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(pier, file); err != nil {
				t.Fatal(err)
			}
			for _, cmd := range []string{"lint", "plan", "render", "deploy"} {
				code, stdout, stderr := runPier(t, nil, cmd, "-f", file)
				if code != ExitUsage || stdout != "" {
					t.Fatalf("%s: exit %d, want %d; stdout %q", cmd, code, ExitUsage, stdout)
				}
				lines := strings.Split(strings.TrimSpace(stderr), "\n")
				if !strings.HasPrefix(lines[0], file+strings.ReplaceAll(tt.first, "FILE", file)) {
					t.Errorf("%s: first line\n%s\nwant\n%s%s", cmd, lines[0], file, strings.ReplaceAll(tt.first, "FILE", file))
				}
				if !strings.Contains(stderr, strings.ReplaceAll(tt.then, "FILE", file)) {
					t.Errorf("%s: no knock-on error %q:\n%s", cmd, tt.then, stderr)
				}
				if strings.Contains(stderr, "pier.yaml") {
					t.Errorf("%s: a message calls %s pier.yaml:\n%s", cmd, file, stderr)
				}
			}
		})
	}
}
