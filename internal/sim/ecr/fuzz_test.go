package ecr

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzParseRoute checks that any request path either is refused or names a
// repository and a kind that rebuild to the same route.
func FuzzParseRoute(f *testing.F) {
	for _, p := range []string{
		"/v2/", "/v2", "/v2/_catalog", "/v2/a/b/manifests/latest", "/v2/app/blobs/uploads/",
		"/v2/app/blobs/uploads/123", "/v2/app/blobs/sha256:00", "/v2/x/tags/list", "/v2/blobs/blobs/uploads/",
	} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, path string) {
		rt, ok := parseRoute(path)
		if !ok {
			return
		}
		var again string
		switch rt.kind {
		case "ping", "catalog":
			return
		case "manifest":
			again = "/v2/" + rt.name + "/manifests/" + rt.ref
		case "blob":
			again = "/v2/" + rt.name + "/blobs/" + rt.ref
		case "upload-start":
			again = "/v2/" + rt.name + "/blobs/uploads/"
		case "upload":
			again = "/v2/" + rt.name + "/blobs/uploads/" + rt.ref
		case "tags":
			again = "/v2/" + rt.name + "/tags/list"
		default:
			t.Fatalf("unknown kind %q", rt.kind)
		}
		rt2, ok := parseRoute(again)
		if !ok || rt2 != rt {
			t.Fatalf("%q → %+v → %q → %+v", path, rt, again, rt2)
		}
	})
}

// FuzzStoreManifest feeds arbitrary manifests to the store: it must refuse or store
// them without panicking, and a stored manifest must be found by its digest.
func FuzzStoreManifest(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`), "v1")
	f.Add([]byte(`{"schemaVersion":2,"config":{"digest":"sha256:00"},"layers":[]}`), "")
	f.Add([]byte(`{}`), "bad tag!")
	f.Fuzz(func(t *testing.T, raw []byte, tag string) {
		s := New(testAccount, "eu-west-1", func() time.Time { return time.Unix(0, 0) })
		rep := newRepository("app", time.Unix(0, 0))
		img, p := s.storeManifest(rep, raw, "", tag, "")
		if p != nil {
			if img != nil || len(rep.images) != 0 {
				t.Fatal("a refused manifest was stored")
			}
			return
		}
		if rep.resolve(img.digest) != img || !strings.HasPrefix(img.digest, "sha256:") {
			t.Fatalf("stored manifest not found by digest %s", img.digest)
		}
		if tag != "" && rep.resolve(tag) != img {
			t.Fatalf("stored manifest not found by tag %q", tag)
		}
	})
}

// FuzzServeHTTP sends arbitrary operations and bodies to the control plane: every
// reply must be a 200 or a 400 carrying JSON, never a panic or a 5xx.
func FuzzServeHTTP(f *testing.F) {
	f.Add("CreateRepository", `{"repositoryName":"app","imageTagMutability":"IMMUTABLE"}`)
	f.Add("DescribeImages", `{"repositoryName":"base","imageIds":[{"imageTag":"v1"},{"imageDigest":"sha256:00"}]}`)
	f.Add("BatchGetImage", `{"repositoryName":"base","imageIds":[{}]}`)
	f.Add("ListImages", `{"repositoryName":"base","maxResults":0,"nextToken":"9"}`)
	f.Add("BatchDeleteImage", `{"repositoryName":"base","imageIds":[{"imageTag":"v1"}]}`)
	f.Add("PutImage", `{"repositoryName":"base","imageManifest":"{}"}`)
	f.Add("DescribeRepositories", `{"repositoryNames":["x"],"maxResults":5}`)
	f.Fuzz(func(t *testing.T, op, body string) {
		s := New(testAccount, "eu-west-1", func() time.Time { return time.Unix(1e9, 0) })
		if _, err := s.Seed("base", randomImage(t, 1), "v1"); err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("X-Amz-Target", TargetPrefix+op)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
			t.Fatalf("%s %q: status %d", op, body, w.Code)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s %q: reply is not JSON: %q", op, body, w.Body.String())
		}
	})
}

// TestOperationsDispatch sends every listed operation an empty request: each must
// be routed (a reply other than UnknownOperationException), and an unlisted one not.
func TestOperationsDispatch(t *testing.T) {
	s := New(testAccount, "eu-west-1", nil)
	ops := s.Operations()
	if len(ops) < 10 {
		t.Fatalf("Operations() = %v", ops)
	}
	for _, op := range append(ops, "InitiateLayerUpload") {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
		r.Header.Set("X-Amz-Target", TargetPrefix+op)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		unknown := strings.Contains(w.Body.String(), "UnknownOperationException")
		if unknown != (op == "InitiateLayerUpload") {
			t.Errorf("%s: %d %s", op, w.Code, w.Body.String())
		}
	}
}
