package elbv2

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/pier-deploy/pier/internal/sim/clock"
)

type env struct {
	svc    *Service
	clock  *clock.Clock // the simulator's virtual clock; tests advance it by hand
	client *elb.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clk := clock.New(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC))
	svc := New("123456789012", "eu-west-1", WithClock(clk.Now))
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	client := elb.NewFromConfig(aws.Config{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDSIM", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
		HTTPClient:   srv.Client(),
	})
	return &env{svc: svc, clock: clk, client: client}
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// attached creates a target group behind an ALB listener and returns its ARN.
func (e *env) attached(t *testing.T, name string) string {
	t.Helper()
	ctx := context.Background()
	tg := e.targetGroup(t, name)
	lb, err := e.client.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
		Name: aws.String(name + "-alb"), Subnets: []string{"subnet-a", "subnet-b"},
	})
	if err != nil {
		t.Fatalf("CreateLoadBalancer: %v", err)
	}
	_, err = e.client.CreateListener(ctx, &elb.CreateListenerInput{
		LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Port: aws.Int32(80), Protocol: types.ProtocolEnumHttp,
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}},
	})
	if err != nil {
		t.Fatalf("CreateListener: %v", err)
	}
	return tg
}

func (e *env) targetGroup(t *testing.T, name string) string {
	t.Helper()
	out, err := e.client.CreateTargetGroup(context.Background(), &elb.CreateTargetGroupInput{
		Name: aws.String(name), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(8080), VpcId: aws.String("vpc-1"),
		HealthCheckPath: aws.String("/health"), HealthCheckIntervalSeconds: aws.Int32(10),
	})
	if err != nil {
		t.Fatalf("CreateTargetGroup(%s): %v", name, err)
	}
	return aws.ToString(out.TargetGroups[0].TargetGroupArn)
}

func TestTargetGroups(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	out, err := e.client.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
		Name: aws.String("backend"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(8080), VpcId: aws.String("vpc-1"),
		HealthCheckPath: aws.String("/actuator/health"), HealthCheckIntervalSeconds: aws.Int32(10),
		Matcher: &types.Matcher{HttpCode: aws.String("200-299")},
	})
	if err != nil {
		t.Fatalf("CreateTargetGroup: %v", err)
	}
	tg := out.TargetGroups[0]
	arn := aws.ToString(tg.TargetGroupArn)
	if !strings.HasPrefix(arn, "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/backend/") ||
		aws.ToInt32(tg.Port) != 8080 || tg.TargetType != types.TargetTypeEnumInstance ||
		aws.ToString(tg.HealthCheckPath) != "/actuator/health" || aws.ToInt32(tg.HealthCheckIntervalSeconds) != 10 ||
		aws.ToInt32(tg.HealthyThresholdCount) != 5 || aws.ToString(tg.Matcher.HttpCode) != "200-299" ||
		aws.ToString(tg.HealthCheckPort) != "traffic-port" || !aws.ToBool(tg.HealthCheckEnabled) {
		t.Errorf("CreateTargetGroup returned %+v", tg)
	}
	if hc, ok := e.svc.HealthCheck(arn); !ok || hc.Interval != 10*time.Second || hc.UnhealthyThreshold != 2 {
		t.Errorf("HealthCheck(%s) = %+v, %v", arn, hc, ok)
	}
	// Identical settings return the same group; different ones are refused.
	again, err := e.client.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
		Name: aws.String("backend"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(8080), VpcId: aws.String("vpc-1"),
		HealthCheckPath: aws.String("/actuator/health"), HealthCheckIntervalSeconds: aws.Int32(10),
		Matcher: &types.Matcher{HttpCode: aws.String("200-299")},
	})
	if err != nil || aws.ToString(again.TargetGroups[0].TargetGroupArn) != arn {
		t.Errorf("idempotent CreateTargetGroup: %v", err)
	}
	var dup *types.DuplicateTargetGroupNameException
	if _, err := e.client.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
		Name: aws.String("backend"), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(9090), VpcId: aws.String("vpc-1"),
	}); !errors.As(err, &dup) {
		t.Errorf("CreateTargetGroup with other settings: %v, want DuplicateTargetGroupName", err)
	}
	e.targetGroup(t, "frontend")

	tests := []struct {
		name    string
		in      elb.DescribeTargetGroupsInput
		want    []string
		wantErr string
	}{
		{name: "all", want: []string{"backend", "frontend"}},
		{name: "by arn", in: elb.DescribeTargetGroupsInput{TargetGroupArns: []string{arn}}, want: []string{"backend"}},
		{name: "by name", in: elb.DescribeTargetGroupsInput{Names: []string{"frontend", "backend"}}, want: []string{"frontend", "backend"}},
		{name: "missing arn", in: elb.DescribeTargetGroupsInput{TargetGroupArns: []string{arn + "x"}}, wantErr: "TargetGroupNotFound"},
		{name: "missing name", in: elb.DescribeTargetGroupsInput{Names: []string{"nexus"}}, wantErr: "TargetGroupNotFound"},
		{name: "page", in: elb.DescribeTargetGroupsInput{PageSize: aws.Int32(1)}, want: []string{"backend"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := e.client.DescribeTargetGroups(ctx, &tt.in)
			if tt.wantErr != "" {
				var nf *types.TargetGroupNotFoundException
				if !errors.As(err, &nf) || code(err) != tt.wantErr {
					t.Fatalf("got %v, want typed %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, g := range out.TargetGroups {
				got = append(got, aws.ToString(g.TargetGroupName))
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	if _, err := e.client.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: aws.String(arn)}); err != nil {
		t.Fatalf("DeleteTargetGroup: %v", err)
	}
	if e.svc.TargetGroupExists(arn) {
		t.Error("the target group exists after DeleteTargetGroup")
	}
}

func TestLoadBalancersAndListeners(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tg := e.attached(t, "web")
	lbs := e.svc.LoadBalancerArns(tg)
	if len(lbs) != 1 || !strings.Contains(lbs[0], ":loadbalancer/app/web-alb/") {
		t.Fatalf("LoadBalancerArns = %v", lbs)
	}
	out, err := e.client.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{tg}})
	if err != nil || len(out.TargetGroups[0].LoadBalancerArns) != 1 || out.TargetGroups[0].LoadBalancerArns[0] != lbs[0] {
		t.Errorf("target group's LoadBalancerArns: %v %v", out, err)
	}
	lb, err := e.client.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{"web-alb"}})
	if err != nil {
		t.Fatal(err)
	}
	l := lb.LoadBalancers[0]
	if l.Type != types.LoadBalancerTypeEnumApplication || l.State.Code != types.LoadBalancerStateEnumActive ||
		len(l.AvailabilityZones) != 2 || !aws.ToTime(l.CreatedTime).Equal(e.clock.Now()) || !strings.HasPrefix(aws.ToString(l.DNSName), "web-alb-") {
		t.Errorf("DescribeLoadBalancers: %+v", l)
	}
	ls, err := e.client.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: l.LoadBalancerArn})
	if err != nil || len(ls.Listeners) != 1 || aws.ToString(ls.Listeners[0].DefaultActions[0].TargetGroupArn) != tg {
		t.Fatalf("DescribeListeners: %+v %v", ls, err)
	}
	var inUse *types.ResourceInUseException
	if _, err := e.client.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: aws.String(tg)}); !errors.As(err, &inUse) {
		t.Errorf("deleting an attached target group: %v, want ResourceInUse", err)
	}
	var lbnf *types.LoadBalancerNotFoundException
	if _, err := e.client.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{"nope"}}); !errors.As(err, &lbnf) {
		t.Errorf("DescribeLoadBalancers(nope): %v", err)
	}
	var dup *types.DuplicateListenerException
	if _, err := e.client.CreateListener(ctx, &elb.CreateListenerInput{
		LoadBalancerArn: l.LoadBalancerArn, Port: aws.Int32(80),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{
			TargetGroups: []types.TargetGroupTuple{{TargetGroupArn: aws.String(tg)}},
		}}},
	}); !errors.As(err, &dup) {
		t.Errorf("second listener on port 80: %v", err)
	}
}

func TestAttributes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tg := e.targetGroup(t, "nexus")
	if d := e.svc.DeregistrationDelay(tg); d != 300*time.Second {
		t.Errorf("default deregistration delay %v", d)
	}
	_, err := e.client.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{
		TargetGroupArn: aws.String(tg),
		Attributes:     []types.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("30")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.client.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(tg)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range out.Attributes {
		got[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	if got["deregistration_delay.timeout_seconds"] != "30" || got["stickiness.enabled"] != "false" || e.svc.DeregistrationDelay(tg) != 30*time.Second {
		t.Errorf("attributes after modify: %v", got)
	}
	for _, bad := range []types.TargetGroupAttribute{
		{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("4000")},
		{Key: aws.String("no.such.key"), Value: aws.String("1")},
	} {
		_, err := e.client.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{
			TargetGroupArn: aws.String(tg), Attributes: []types.TargetGroupAttribute{bad},
		})
		if code(err) != "ValidationError" {
			t.Errorf("setting %s=%s: %v, want ValidationError", aws.ToString(bad.Key), aws.ToString(bad.Value), err)
		}
	}
	var nf *types.TargetGroupNotFoundException
	if _, err := e.client.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(tg + "0")}); !errors.As(err, &nf) {
		t.Errorf("attributes of a missing group: %v", err)
	}
}

func TestModifyAndFilter(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tg := e.attached(t, "web")
	other := e.targetGroup(t, "spare")
	out, err := e.client.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{
		TargetGroupArn: aws.String(tg), HealthCheckIntervalSeconds: aws.Int32(15), HealthyThresholdCount: aws.Int32(3),
		HealthCheckPath: aws.String("/ready"), Matcher: &types.Matcher{HttpCode: aws.String("200,204")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if g := out.TargetGroups[0]; aws.ToString(g.HealthCheckPath) != "/ready" || aws.ToInt32(g.HealthyThresholdCount) != 3 {
		t.Errorf("ModifyTargetGroup returned %+v", g)
	}
	if hc, _ := e.svc.HealthCheck(tg); hc.Interval != 15*time.Second || hc.HealthyThreshold != 3 || hc.Matcher != "200,204" {
		t.Errorf("HealthCheck after modify: %+v", hc)
	}
	if _, err := e.client.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{
		TargetGroupArn: aws.String(tg), HealthCheckTimeoutSeconds: aws.Int32(20),
	}); code(err) != "ValidationError" {
		t.Errorf("a timeout longer than the interval: %v, want ValidationError", err)
	}

	lbs := e.svc.LoadBalancerArns(tg)
	byLB, err := e.client.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{LoadBalancerArn: aws.String(lbs[0])})
	if err != nil || len(byLB.TargetGroups) != 1 || aws.ToString(byLB.TargetGroups[0].TargetGroupArn) != tg {
		t.Errorf("target groups of the load balancer: %+v %v (spare %s must not be listed)", byLB, err, other)
	}

	// An operation the simulator does not implement fails loudly, naming itself.
	_, err = e.client.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(lbs[0])})
	if code(err) != "InvalidAction" || !strings.Contains(err.Error(), "DeleteLoadBalancer") {
		t.Errorf("DeleteLoadBalancer: %v, want InvalidAction naming it", err)
	}
}

// TestConcurrentTargets drives the model from goroutines while clients read it, so the
// race detector sees the locking.
func TestConcurrentTargets(t *testing.T) {
	e := newEnv(t)
	tg := e.attached(t, "busy")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			port := int32(32768 + i)
			_ = e.svc.RegisterTarget(tg, "i-1", port)
			_ = e.svc.SetTargetHealth(tg, "i-1", port, StateHealthy, "", "")
			_ = e.svc.DeregisterTarget(tg, "i-1", port)
		}()
		go func() {
			defer wg.Done()
			_, _ = e.client.DescribeTargetHealth(context.Background(), &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
		}()
	}
	wg.Wait()
	ts := e.svc.Targets(tg)
	if len(ts) != 8 {
		t.Fatalf("%d targets, want 8 draining", len(ts))
	}
	for _, x := range ts {
		if x.State != StateDraining {
			t.Errorf("target %s:%d is %s, want draining", x.ID, x.Port, x.State)
		}
	}
}
