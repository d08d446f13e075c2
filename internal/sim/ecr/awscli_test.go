package ecr

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/sim/simtest"
)

// TestAWSCLI checks the wire format with a second, independent client: the AWS CLI
// (botocore) serializes requests and parses replies on its own.
func TestAWSCLI(t *testing.T) {
	e := newEnv(t)
	cli := simtest.NewCLI(t, e.srv.URL, "eu-west-1")
	out, stderr, err := cli.Run(t, "ecr", "create-repository", "--repository-name", "inforum/frontend",
		"--image-tag-mutability", "IMMUTABLE", "--image-scanning-configuration", "scanOnPush=true")
	if err != nil {
		t.Fatalf("create-repository: %v\n%s", err, stderr)
	}
	var created struct {
		Repository struct {
			RepositoryURI              string          `json:"repositoryUri"`
			ImageTagMutability         string          `json:"imageTagMutability"`
			CreatedAt                  json.RawMessage `json:"createdAt"`
			ImageScanningConfiguration struct {
				ScanOnPush bool `json:"scanOnPush"`
			} `json:"imageScanningConfiguration"`
		} `json:"repository"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("create-repository printed %s: %v", out, err)
	}
	r := created.Repository
	at, perr := simtest.Timestamp(r.CreatedAt)
	if r.RepositoryURI != e.host+"/inforum/frontend" || r.ImageTagMutability != "IMMUTABLE" || !r.ImageScanningConfiguration.ScanOnPush ||
		perr != nil || !at.Equal(e.clock.Now()) {
		t.Errorf("created %+v (createdAt: %v)", r, perr)
	}

	// The CLI's password opens the registry.
	pw, stderr, err := cli.Run(t, "ecr", "get-login-password")
	if err != nil {
		t.Fatalf("get-login-password: %v\n%s", err, stderr)
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v2/", nil)
	req.SetBasicAuth("AWS", strings.TrimSpace(pw))
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v2/ with the CLI's password: %d", resp.StatusCode)
	}

	img := randomImage(t, 2)
	if err := e.push(t, "inforum/frontend:v1", img, e.auth(t)); err != nil {
		t.Fatal(err)
	}
	out, stderr, err = cli.Run(t, "ecr", "describe-images", "--repository-name", "inforum/frontend", "--image-ids", "imageTag=v1")
	if err != nil {
		t.Fatalf("describe-images: %v\n%s", err, stderr)
	}
	var images struct {
		ImageDetails []struct {
			ImageDigest      string   `json:"imageDigest"`
			ImageTags        []string `json:"imageTags"`
			ImageSizeInBytes int64    `json:"imageSizeInBytes"`
		} `json:"imageDetails"`
	}
	if err := json.Unmarshal([]byte(out), &images); err != nil || len(images.ImageDetails) != 1 {
		t.Fatalf("describe-images printed %s (%v)", out, err)
	}
	if d := images.ImageDetails[0]; d.ImageDigest != digest(t, img) || strings.Join(d.ImageTags, ",") != "v1" || d.ImageSizeInBytes == 0 {
		t.Errorf("describe-images %+v", d)
	}

	_, stderr, err = cli.Run(t, "ecr", "describe-repositories", "--repository-names", "ghost")
	if err == nil || !strings.Contains(stderr, "RepositoryNotFoundException") {
		t.Errorf("describe-repositories ghost: %v, stderr %q", err, stderr)
	}
}
