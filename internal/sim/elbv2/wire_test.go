package elbv2

import (
	"bytes"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pier-deploy/pier/internal/golden"
	"github.com/pier-deploy/pier/internal/sim/clock"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestWireGolden records the exact bytes ELBv2 answers to a fixed conversation in
// testdata/wire.golden, so any change of the wire format shows up in review.
// Rewrite with go test -update.
func TestWireGolden(t *testing.T) {
	clk := clock.New(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC))
	s := New("123456789012", "eu-west-1", WithClock(clk.Now))
	const tg = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/backend/9e3779b97f4a7c15"
	const lb = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/inforum/3c6ef372fe94f82a"
	steps := []struct {
		body string
		then func()
	}{
		{body: "Action=CreateTargetGroup&Name=backend&Protocol=HTTP&Port=8080&VpcId=vpc-1&HealthCheckPath=%2Factuator%2Fhealth"},
		{body: "Action=CreateLoadBalancer&Name=inforum&Subnets.member.1=subnet-a&Subnets.member.2=subnet-b"},
		{body: "Action=CreateListener&LoadBalancerArn=" + lb + "&Port=80&Protocol=HTTP&DefaultActions.member.1.Type=forward&DefaultActions.member.1.TargetGroupArn=" + tg},
		{body: "Action=RegisterTargets&TargetGroupArn=" + tg + "&Targets.member.1.Id=i-0abc&Targets.member.1.Port=32768&Targets.member.2.Id=i-0abc&Targets.member.2.Port=32769",
			then: func() {
				_ = s.SetTargetHealth(tg, "i-0abc", 32769, StateUnhealthy, "Target.ResponseCodeMismatch", "")
			}},
		{body: "Action=DescribeTargetHealth&TargetGroupArn=" + tg},
		{body: "Action=DeregisterTargets&TargetGroupArn=" + tg + "&Targets.member.1.Id=i-0abc&Targets.member.1.Port=32769"},
		{body: "Action=DescribeTargetHealth&TargetGroupArn=" + tg + "&Targets.member.1.Id=i-0abc&Targets.member.1.Port=32769&Targets.member.2.Id=i-0def&Targets.member.2.Port=80"},
		{body: "Action=DescribeTargetGroups&Names.member.1=backend"},
		{body: "Action=DescribeTargetGroups&Names.member.1=nexus"},
		{body: "Action=DescribeTargetGroupAttributes&TargetGroupArn=" + tg},
		{body: "Action=DescribeListeners&LoadBalancerArn=" + lb},
		{body: "Action=DeleteLoadBalancer&LoadBalancerArn=" + lb},
	}
	var out bytes.Buffer
	for _, st := range steps {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(st.body+"&Version="+APIVersion))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		fmt.Fprintf(&out, "### %s\n%d %s\n%s\n\n", st.body, w.Code, w.Header().Get("Content-Type"), w.Body.String())
		if st.then != nil {
			st.then()
		}
	}
	golden.Check(t, filepath.Join("testdata", "wire.golden"), out.Bytes(), *update)
}
