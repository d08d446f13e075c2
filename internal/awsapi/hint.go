package awsapi

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/aws/smithy-go"
)

// Explain returns err with a sentence on what the user can do, for the AWS
// errors a deploy meets most: missing or expired credentials, a denied
// permission, a cluster or service that is not there, an endpoint that
// cannot be reached. Other errors come back unchanged.
func Explain(err error) error {
	if err == nil {
		return nil
	}
	if h := hint(err); h != "" {
		return &explained{err: err, hint: h}
	}
	return err
}

type explained struct {
	err  error
	hint string
}

func (e *explained) Error() string { return e.err.Error() + " (" + e.hint + ")" }
func (e *explained) Unwrap() error { return e.err }

func hint(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException", "SignatureDoesNotMatch":
			return "the AWS credentials are not valid for this account: check AWS_PROFILE / AWS_ACCESS_KEY_ID, or the role the workflow assumes"
		case "ExpiredTokenException", "ExpiredToken", "RequestExpired":
			return "the AWS session has expired: log in again (aws sso login) or re-run the step that assumes the role"
		case "AccessDeniedException", "AccessDenied", "UnauthorizedOperation":
			return "the identity lacks a permission named above: `pier iam-policy` prints the policy pier needs"
		case "ClusterNotFoundException":
			return "check cluster: in pier.yaml and the region"
		case "ServiceNotFoundException", "ServiceNotActiveException":
			return "check service: and cluster: in pier.yaml; pier updates existing services only"
		}
		return ""
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "failed to retrieve credentials") || strings.Contains(msg, "failed to refresh cached credentials") ||
		strings.Contains(msg, "no EC2 IMDS role found"):
		return "no AWS credentials were found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or configure aws-actions/configure-aws-credentials in the workflow; --sandbox needs none"
	}
	var ne net.Error
	var oe *net.OpError
	var de *net.DNSError
	if errors.As(err, &de) || errors.As(err, &oe) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Sprintf("the AWS endpoint could not be reached: check the network, the region, and AWS_ENDPOINT_URL_* if set (%s)", endpointVars)
	}
	return ""
}

const endpointVars = "AWS_ENDPOINT_URL_ECS, AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2"
