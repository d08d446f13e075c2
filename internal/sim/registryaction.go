package sim

import "strings"

// RegistryAction names the ECR IAM action that authorizes one request of the
// registry's data plane (the Docker Registry HTTP API V2), as ECR documents
// it for docker push and pull: a HEAD of a blob is BatchCheckLayerAvailability,
// starting, sending and finishing an upload are InitiateLayerUpload,
// UploadLayerPart and CompleteLayerUpload, putting a manifest is PutImage,
// reading one BatchGetImage, reading a blob GetDownloadUrlForLayer, listing
// tags ListImages. The version check (/v2/) needs only the token: "".
// World.Calls counts these as "registry.<action>", so a test can hold what a
// client did against an IAM policy.
func RegistryAction(method, path string) string {
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok || rest == "" {
		return ""
	}
	switch {
	case strings.HasSuffix(rest, "/tags/list"):
		return "ListImages"
	case strings.Contains(rest, "/blobs/uploads"):
		switch method {
		case "POST":
			return "InitiateLayerUpload"
		case "PATCH":
			return "UploadLayerPart"
		case "PUT":
			return "CompleteLayerUpload"
		}
	case strings.Contains(rest, "/blobs/"):
		if method == "HEAD" {
			return "BatchCheckLayerAvailability"
		}
		return "GetDownloadUrlForLayer"
	case strings.Contains(rest, "/manifests/"):
		if method == "PUT" {
			return "PutImage"
		}
		return "BatchGetImage"
	}
	return ""
}
