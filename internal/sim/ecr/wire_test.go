package ecr

import (
	"bytes"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pier-deploy/pier/internal/golden"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestWireGolden records the exact bytes the control plane answers to a fixed
// conversation in testdata/wire.golden, so any change of the wire format shows up
// in review. Rewrite with go test -update.
func TestWireGolden(t *testing.T) {
	s := New(testAccount, "eu-west-1", func() time.Time { return time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC) })
	s.SetRegistryHost("registry.test:5000")
	idx, err := SyntheticImage("registry.test:5000/inforum/backend:v1", []string{"linux/amd64"})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct{ op, body string }{
		{"CreateRepository", `{"repositoryName":"inforum/backend","imageTagMutability":"IMMUTABLE","imageScanningConfiguration":{"scanOnPush":true}}`},
		{"CreateRepository", `{"repositoryName":"inforum/backend"}`},
		{"CreateRepository", `{"repositoryName":"Bad_Name"}`},
		{"DescribeRepositories", `{}`},
		{"DescribeRepositories", `{"repositoryNames":["ghost"]}`},
		{"seed", ""},
		{"DescribeImages", `{"repositoryName":"inforum/backend","imageIds":[{"imageTag":"v1"}]}`},
		{"DescribeImages", `{"repositoryName":"inforum/backend","imageIds":[{"imageTag":"v2"}]}`},
		{"ListImages", `{"repositoryName":"inforum/backend"}`},
		{"BatchGetImage", `{"repositoryName":"inforum/backend","imageIds":[{"imageTag":"v1"},{"imageTag":"v2"}]}`},
		{"PutImageTagMutability", `{"repositoryName":"inforum/backend","imageTagMutability":"MUTABLE"}`},
		{"StartImageScan", `{}`},
	}
	var out bytes.Buffer
	for _, st := range steps {
		if st.op == "seed" {
			d, err := s.Seed("inforum/backend", idx, "v1")
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&out, "### seed inforum/backend:v1 = %s\n\n", d)
			continue
		}
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(st.body))
		r.Header.Set("X-Amz-Target", TargetPrefix+st.op)
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		fmt.Fprintf(&out, "### %s %s\n%d %s\n%s\n", st.op, st.body, w.Code, w.Header().Get("Content-Type"), strings.TrimSpace(w.Body.String()))
		out.WriteString("\n")
	}
	golden.Check(t, filepath.Join("testdata", "wire.golden"), out.Bytes(), *update)
}
