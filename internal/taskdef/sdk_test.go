package taskdef

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// echoECS is an HTTP client for the real SDK that records the
// RegisterTaskDefinition body the SDK serialized and answers like ECS: the
// registered definition with the read-only fields added.
type echoECS struct {
	bodies [][]byte
}

func (e *echoECS) Do(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if got := r.Header.Get("X-Amz-Target"); got != "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition" {
		return nil, fmt.Errorf("unexpected operation %q", got)
	}
	e.bodies = append(e.bodies, body)
	var def map[string]any
	if err := json.Unmarshal(body, &def); err != nil {
		return nil, err
	}
	tags := def["tags"]
	delete(def, "tags")
	def["taskDefinitionArn"] = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/" + def["family"].(string) + ":8"
	def["revision"] = 8
	def["status"] = "ACTIVE"
	def["registeredAt"] = 1.7e9
	def["compatibilities"] = []string{"EC2", "FARGATE"}
	out, _ := json.Marshal(map[string]any{"taskDefinition": def, "tags": tags})
	return &http.Response{
		StatusCode: 200,
		Header:     http.Header{"Content-Type": {"application/x-amz-json-1.1"}},
		Body:       io.NopCloser(bytes.NewReader(out)),
		Request:    r,
	}, nil
}

func newECS(h *echoECS) *ecs.Client {
	return ecs.NewFromConfig(aws.Config{
		Region:       "ap-northeast-2",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String("http://127.0.0.1:1"),
		HTTPClient:   h,
	})
}

func generic(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
	return v
}

// pier's rendering must be exactly what the SDK would send: it decodes
// strictly into the SDK's input type, and the SDK serializes that (and
// pier's RegisterInput) to the same JSON.
func TestRenderMatchesSDK(t *testing.T) {
	for _, name := range append(fixtures, "kitchen-sink.json") {
		t.Run(name, func(t *testing.T) {
			path := fixture(name)
			if name == "kitchen-sink.json" {
				path = "testdata/kitchen-sink.json"
			}
			td := mustLoad(t, path)
			rendered := td.JSON()

			var strict ecs.RegisterTaskDefinitionInput
			dec := json.NewDecoder(bytes.NewReader(rendered))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&strict); err != nil {
				t.Fatalf("pier's JSON does not decode strictly into RegisterTaskDefinitionInput: %v", err)
			}

			h := &echoECS{}
			client := newECS(h)
			in, err := td.RegisterInput()
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if _, err := client.RegisterTaskDefinition(ctx, &strict); err != nil {
				t.Fatal(err)
			}
			out, err := client.RegisterTaskDefinition(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			want := generic(t, h.bodies[0])
			if got := generic(t, rendered); !reflect.DeepEqual(got, want) {
				t.Errorf("pier renders\n%s\nthe SDK sends\n%s", rendered, h.bodies[0])
			}
			// The SDK writes maps in Go's random order: compare values.
			if !reflect.DeepEqual(generic(t, h.bodies[0]), generic(t, h.bodies[1])) {
				t.Errorf("RegisterInput serializes to\n%s\nnot\n%s", h.bodies[1], h.bodies[0])
			}

			// What ECS answers converts back to the same definition.
			live := FromECS(out.TaskDefinition, out.Tags...)
			if !bytes.Equal(live.JSON(), rendered) {
				t.Errorf("FromECS(registered) renders\n%s\nwant\n%s", live.JSON(), rendered)
			}
			if d := diff(t, live, td); len(d) != 0 {
				t.Errorf("Diff(FromECS(registered), file) = %v", d)
			}
		})
	}
}

// fill sets every exported field of v (recursively) to a non-zero value.
func fill(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Pointer:
		if depth > 8 {
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), depth+1)
	case reflect.Struct:
		if v.Type().String() == "time.Time" {
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth+1)
			}
		}
	case reflect.Slice:
		if depth > 8 {
			return
		}
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), depth+1)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, depth+1)
		fill(e, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.String:
		v.SetString("v-" + v.Type().Name())
		if m := v.MethodByName("Values"); m.IsValid() { // an enum: take a valid value
			v.SetString(m.Call(nil)[0].Index(0).String())
		}
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		v.SetInt(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(0.5)
	}
}

// Every member the SDK can send, at every depth, survives pier's decoder and
// renderer unchanged; this pins pier to the SDK's model, not to a hand-made
// list of field names.
func TestEveryMemberRoundTrips(t *testing.T) {
	var in ecs.RegisterTaskDefinitionInput
	fill(reflect.ValueOf(&in).Elem(), 0)
	h := &echoECS{}
	if _, err := newECS(h).RegisterTaskDefinition(context.Background(), &in); err != nil {
		t.Fatal(err)
	}
	sent := h.bodies[0]
	td, err := Parse("sent.json", sent)
	if err != nil {
		t.Fatalf("parsing what the SDK sends: %v", err)
	}
	if got, want := generic(t, td.JSON()), generic(t, sent); !reflect.DeepEqual(got, want) {
		t.Errorf("round trip changed the definition\ngot  %s\nwant %s", td.JSON(), sent)
	}
	for _, key := range []string{"linuxParameters", "firelensConfiguration", "proxyConfiguration", "fsxWindowsFileServerVolumeConfiguration", "restartPolicy", "dockerLabels"} {
		if !strings.Contains(string(sent), `"`+key+`"`) {
			t.Errorf("the filled input should exercise %q", key)
		}
	}
}

// FromECS keeps every registrable member of a live definition.
func TestFromECSKeepsEveryMember(t *testing.T) {
	var def types.TaskDefinition
	fill(reflect.ValueOf(&def).Elem(), 0)
	td := FromECS(&def, types.Tag{Key: aws.String("k"), Value: aws.String("v")})
	v := reflect.ValueOf(td.Input)
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if f.IsExported() && v.Field(i).IsZero() {
			t.Errorf("FromECS dropped %s", f.Name)
		}
	}
	for _, ro := range ReadOnlyFields {
		if bytes.Contains(td.JSON(), []byte(`"`+ro+`"`)) {
			t.Errorf("FromECS kept the read-only field %q", ro)
		}
	}
}
