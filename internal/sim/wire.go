package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/schemas"
	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
)

// The awsJson1_1 wire. Replies are encoded by the SDK's own schema-driven
// codec (the output types know how to serialize themselves), so member names,
// string-typed numbers and epoch-second timestamps match what the SDK's
// strict deserializer expects byte for byte. Requests are decoded into the
// SDK's input types by decodeJSON11, which maps lowerCamel members onto the
// Go fields and epoch-second numbers onto timestamps.

var ecsProtocol = awsjson.New11(schemas.AmazonEC2ContainerServiceV20141113)

// encodeJSON11 renders out with the awsJson1_1 codec, zero counts and
// false flags included as ECS sends them (see withZeros).
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
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("encoding reply: %w", err)
	}
	return withZeros(body, out)
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

// decodeJSON11 reads a request body into in (a pointer to an SDK input
// type). Members match the Go fields by name, first letter aside
// ("taskDefinition" → TaskDefinition); timestamps are epoch seconds, as the
// SDK sends them.
func decodeJSON11(body []byte, in any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return errorf(errSerialization, "reading the request body: %v", err)
	}
	if err := decodeValue(raw, reflect.ValueOf(in).Elem(), ""); err != nil {
		return errorf(errSerialization, "%v", err)
	}
	return nil
}

var timeType = reflect.TypeOf(time.Time{})

// decodeValue stores a decoded JSON value in v; path names the member for errors.
func decodeValue(raw any, v reflect.Value, path string) error {
	if raw == nil {
		return nil
	}
	mismatch := func(want string) error {
		if path == "" {
			path = "the request"
		}
		return fmt.Errorf("member %s: expected %s, found %T", path, want, raw)
	}
	switch {
	case v.Kind() == reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if err := decodeValue(raw, p.Elem(), path); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case v.Type() == timeType:
		n, ok := raw.(json.Number)
		if !ok {
			return mismatch("a timestamp (epoch seconds)")
		}
		f, err := n.Float64()
		if err != nil {
			return mismatch("a timestamp (epoch seconds)")
		}
		sec, frac := math.Modf(f)
		v.Set(reflect.ValueOf(time.Unix(int64(sec), int64(frac*1e9)).UTC()))
		return nil
	}
	switch v.Kind() {
	case reflect.Struct:
		m, ok := raw.(map[string]any)
		if !ok {
			return mismatch("a structure")
		}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			key := strings.ToLower(f.Name[:1]) + f.Name[1:]
			val, ok := m[key]
			if !ok {
				for k, x := range m {
					if strings.EqualFold(k, f.Name) {
						val, ok = x, true
					}
				}
			}
			if !ok {
				continue
			}
			if err := decodeValue(val, v.Field(i), strings.TrimPrefix(path+"."+key, ".")); err != nil {
				return err
			}
		}
	case reflect.Slice:
		list, ok := raw.([]any)
		if !ok {
			return mismatch("a list")
		}
		out := reflect.MakeSlice(v.Type(), len(list), len(list))
		for i, x := range list {
			if err := decodeValue(x, out.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		v.Set(out)
	case reflect.Map:
		m, ok := raw.(map[string]any)
		if !ok || v.Type().Key().Kind() != reflect.String {
			return mismatch("a map")
		}
		out := reflect.MakeMapWithSize(v.Type(), len(m))
		for k, x := range m {
			e := reflect.New(v.Type().Elem()).Elem()
			if err := decodeValue(x, e, path+"."+k); err != nil {
				return err
			}
			out.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), e)
		}
		v.Set(out)
	case reflect.String:
		str, ok := raw.(string)
		if !ok {
			return mismatch("a string")
		}
		v.SetString(str)
	case reflect.Bool:
		b, ok := raw.(bool)
		if !ok {
			return mismatch("a boolean")
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := raw.(json.Number)
		if !ok {
			return mismatch("an integer")
		}
		i, err := n.Int64()
		if err != nil || v.OverflowInt(i) {
			return mismatch("an integer in range")
		}
		v.SetInt(i)
	case reflect.Float32, reflect.Float64:
		n, ok := raw.(json.Number)
		if !ok {
			return mismatch("a number")
		}
		f, err := n.Float64()
		if err != nil {
			return mismatch("a number")
		}
		v.SetFloat(f)
	default:
		// Documents and unions: no supported operation takes one.
	}
	return nil
}
