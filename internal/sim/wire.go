package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/schemas"
	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
)

// The awsJson1_1 wire. Replies are encoded by the SDK's own schema-driven
// codec (the output types know how to serialize themselves), so member names,
// string-typed numbers and epoch-second timestamps match what the SDK's
// strict deserializer expects byte for byte. Requests are decoded with
// encoding/json into the SDK's input types: JSON field matching is
// case-insensitive, which maps lowerCamel wire members onto the Go fields.

var ecsProtocol = awsjson.New11(schemas.AmazonEC2ContainerServiceV20141113)

// encodeJSON11 renders out with the awsJson1_1 codec.
func encodeJSON11(out smithy.Serializable) ([]byte, error) {
	req := smithyhttp.NewStackRequest().(*smithyhttp.Request)
	// Only the operation's name and "has input" matter to the encoder.
	op := smithy.NewOperationSchema(schemas.DescribeServices, schemas.DescribeServicesResponse, nil)
	if err := ecsProtocol.SerializeRequest(context.Background(), op, out, req); err != nil {
		return nil, fmt.Errorf("encoding reply: %w", err)
	}
	r := req.GetStream()
	if r == nil {
		return []byte("{}"), nil
	}
	return io.ReadAll(r)
}

// apiError is an error as the AWS wire carries it: a type name, a message and
// the HTTP status (400 for client errors, 5xx only for injected faults).
type apiError struct {
	Code    string
	Message string
	Status  int
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

// ECS's error types.
const (
	errClient          = "ClientException"
	errInvalidParam    = "InvalidParameterException"
	errClusterNotFound = "ClusterNotFoundException"
	errServiceNotFound = "ServiceNotFoundException"
	errServiceInactive = "ServiceNotActiveException"
	errThrottling      = "ThrottlingException"
	errServer          = "ServerException"
	errUnknownOp       = "UnknownOperationException"
	errSerialization   = "SerializationException"
	errNotFound        = "NotFoundException"
	errPlatformUnknown = "PlatformUnknownException"
)

func writeJSONError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{Code: errServer, Message: err.Error(), Status: http.StatusInternalServerError}
	}
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{ae.Code, ae.Message})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", ae.Code)
	w.WriteHeader(ae.Status)
	w.Write(body)
}

func writeJSONReply(w http.ResponseWriter, out smithy.Serializable) {
	body, err := encodeJSON11(out)
	if err != nil {
		writeJSONError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// decodeJSON11 reads a request body into in (an SDK input type).
func decodeJSON11(body []byte, in any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, in); err != nil {
		return errorf(errSerialization, "reading the request body: %v", err)
	}
	return nil
}
