package sim

import (
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"
)

// FuzzECSRequest sends arbitrary bodies to every ECS operation of a world
// with a cluster, a service and tasks: the simulator answers 200 or a 400
// error, never panics and never a 5xx (no faults are set).
func FuzzECSRequest(f *testing.F) {
	ops := make([]string, 0, len(ecsOps))
	for op := range ecsOps {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for i := range ops {
		f.Add(uint8(i), `{"cluster":"c","service":"web","services":["web"],"taskDefinition":"web"}`)
	}
	f.Add(uint8(0), `{"loadBalancers":[{}],"deploymentConfiguration":{"deploymentCircuitBreaker":{}}}`)
	f.Add(uint8(3), `{"containerDefinitions":[{"name":"a","image":"b","portMappings":[{}],"links":["a:b"]}],"family":"f","volumes":[{"efsVolumeConfiguration":{}}]}`)
	f.Add(uint8(9), `[1,2`)
	f.Add(uint8(5), `{"cluster":null,"tasks":[""],"maxResults":-1,"nextToken":"p99999"}`)

	f.Fuzz(func(t *testing.T, pick uint8, body string) {
		// A fresh world each time: state accumulated over thousands of
		// inputs would make the fuzzer measure the world's size.
		w := New()
		call := func(op, body string) *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			req.Header.Set("X-Amz-Target", ecsTargetPrefix+op)
			rec := httptest.NewRecorder()
			w.ServeHTTP(rec, req)
			return rec
		}
		call("CreateCluster", `{"clusterName":"c"}`)
		call("RegisterContainerInstance", `{"cluster":"c"}`)
		call("RegisterTaskDefinition", `{"family":"web","containerDefinitions":[{"name":"web","image":"nginx","memory":128,"portMappings":[{"containerPort":80}]}]}`)
		call("CreateService", `{"cluster":"c","serviceName":"web","taskDefinition":"web","desiredCount":2}`)
		w.Clock().Advance(20 * time.Second)

		op := ops[int(pick)%len(ops)]
		rec := call(op, body)
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("%s %q: HTTP %d %s", op, body, rec.Code, rec.Body)
		}
		w.Clock().Advance(30 * time.Second)
	})
}
