package sandbox

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/golden"
	"github.com/pier-deploy/pier/internal/sim"
)

var update = flag.Bool("update", false, "rewrite golden files")

// checkGolden compares got with testdata/sim/name (rewritten with -update).
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("..", "..", "testdata", "sim", name), []byte(got), *update)
}

// rawCall posts an awsJson1_1 request by hand and returns the reply as the
// wire carries it, indented (json.Indent keeps number literals as they are).
func rawCall(t *testing.T, srv *sim.Server, target, body string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		t.Fatalf("reply is not JSON: %v\n%s", err, raw)
	}
	return resp.Status + " " + resp.Header.Get("Content-Type") + "\n" + out.String() + "\n"
}

// The wire as a reviewer sees it: lowerCamel members, strings for cpu and
// memory, epoch-second numbers for timestamps, errors with __type.
func TestWireGolden(t *testing.T) {
	e := startSandbox(t, "")
	checkGolden(t, "wire-describe-services.txt", rawCall(t, e.srv, "AmazonEC2ContainerServiceV20141113.DescribeServices",
		`{"cluster":"inforum","services":["backend","ghost"]}`))
	checkGolden(t, "wire-error.txt", rawCall(t, e.srv, "AmazonEC2ContainerServiceV20141113.UpdateService",
		`{"cluster":"inforum","service":"ghost","desiredCount":1}`)+
		rawCall(t, e.srv, "AmazonEC2ContainerServiceV20141113.UpdateService", `{"cluster":"inforum","service":"backend","desiredCount":"2"}`)+
		rawCall(t, e.srv, "AmazonEC2ContainerServiceV20141113.Deploy", `{}`))
}
