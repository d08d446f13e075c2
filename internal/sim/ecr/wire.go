package ecr

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// epoch is a timestamp on the awsJson wire: seconds since 1970 as a JSON number,
// with millisecond precision like the real service.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	ms := time.Time(e).UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)), nil
}

func ts(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

// apiError is an awsJson1_1 error reply.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func errorf(code, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, msg: fmt.Sprintf(format, args...)}
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "ServerException", "encoding the reply: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// handle decodes the request into In, runs f and writes its result or error.
func handle[In any, Out any](w http.ResponseWriter, r *http.Request, f func(*In) (*Out, error)) {
	var in In
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "SerializationException", "reading the request body: "+err.Error())
		return
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			writeError(w, http.StatusBadRequest, "SerializationException", "decoding the request body: "+err.Error())
			return
		}
	}
	out, err := f(&in)
	if err != nil {
		if ae, ok := err.(*apiError); ok {
			writeError(w, ae.status, ae.code, ae.msg)
			return
		}
		writeError(w, http.StatusInternalServerError, "ServerException", err.Error())
		return
	}
	writeJSON(w, out)
}

// page cuts items to at most max entries (100 when unset, as ECR does) starting at the
// opaque token, which is the index of the next item. ECR's tokens are opaque too;
// clients only echo them.
func page[T any](items []T, token *string, max *int32, limit int) ([]T, *string, error) {
	start := 0
	if token != nil && *token != "" {
		n, err := strconv.Atoi(*token)
		if err != nil || n < 0 || n > len(items) {
			return nil, nil, errorf("InvalidParameterException", "Invalid parameter at 'nextToken': the token %q was not issued by this service", *token)
		}
		start = n
	}
	size := min(100, limit)
	if max != nil {
		if *max < 1 || int(*max) > limit {
			return nil, nil, errorf("InvalidParameterException", "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value between 1 and %d'", limit)
		}
		size = int(*max)
	}
	end := min(start+size, len(items))
	var next *string
	if end < len(items) {
		t := strconv.Itoa(end)
		next = &t
	}
	return items[start:end], next, nil
}
