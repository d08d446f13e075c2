package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/config"
)

// pier rollback --report reads where each service was before the failed
// run from the run's JSON report, and refuses a report that does not say.
func TestRevisionsBeforeFromAReport(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("run.json", `{"command":"deploy","result":"not-restored","services":[
		{"name":"backend","outcome":"not-restored","old":{"family":"ecs-backend-task","revision":3,"arn":"arn:aws:ecs:ap-northeast-2:123456789012:task-definition/ecs-backend-task:3"},
		 "new":{"family":"ecs-backend-task","revision":5},"final":{"family":"ecs-backend-task","revision":5}}]}`)
	backend := []*config.Service{{Name: "backend"}}
	for _, tt := range []struct {
		name, file string
		services   []*config.Service
		want, err  string
	}{
		{"no report", "", backend, "", ""},
		{"the revision before the run", good, backend, "ecs-backend-task:3", ""},
		{"a service the report lacks", good, []*config.Service{{Name: "nexus"}}, "", "names no revision service nexus ran before"},
		{"not a report", write("bad.json", "revision 3"), backend, "", "it must be the JSON of pier deploy --output json"},
		{"no file", filepath.Join(dir, "missing.json"), backend, "", "reading the report"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			to, err := revisionsBefore(tt.file, tt.services)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil || to["backend"] != tt.want {
				t.Fatalf("revisionsBefore = %v, %v; want backend → %q", to, err, tt.want)
			}
		})
	}
}
