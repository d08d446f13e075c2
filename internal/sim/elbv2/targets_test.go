package elbv2

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// health returns "id:port=state/reason" for every target DescribeTargetHealth reports.
func (e *env) health(t *testing.T, tg string, targets ...types.TargetDescription) []string {
	t.Helper()
	out, err := e.client.DescribeTargetHealth(context.Background(), &elb.DescribeTargetHealthInput{
		TargetGroupArn: aws.String(tg), Targets: targets,
	})
	if err != nil {
		t.Fatalf("DescribeTargetHealth: %v", err)
	}
	var got []string
	for _, d := range out.TargetHealthDescriptions {
		h := d.TargetHealth
		s := fmt.Sprintf("%s:%d=%s", aws.ToString(d.Target.Id), aws.ToInt32(d.Target.Port), h.State)
		if h.Reason != "" {
			s += "/" + string(h.Reason)
		}
		if aws.ToString(d.HealthCheckPort) != fmt.Sprint(aws.ToInt32(d.Target.Port)) {
			s += " hc-port " + aws.ToString(d.HealthCheckPort)
		}
		got = append(got, s)
	}
	return got
}

func TestTargetLifecycle(t *testing.T) {
	e := newEnv(t)
	tg := e.attached(t, "backend")
	if err := e.svc.RegisterTarget(tg, "i-0a", 32768); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RegisterTarget(tg, "i-0a", 32769); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name string
		do   func() error
		want []string
	}{
		{
			name: "registered",
			do:   func() error { return nil },
			want: []string{"i-0a:32768=initial/Elb.RegistrationInProgress", "i-0a:32769=initial/Elb.RegistrationInProgress"},
		},
		{
			name: "one healthy, one failing",
			do: func() error {
				if err := e.svc.SetTargetHealth(tg, "i-0a", 32768, StateHealthy, "", ""); err != nil {
					return err
				}
				return e.svc.SetTargetHealth(tg, "i-0a", 32769, StateUnhealthy, "Target.ResponseCodeMismatch", "")
			},
			want: []string{"i-0a:32768=healthy", "i-0a:32769=unhealthy/Target.ResponseCodeMismatch"},
		},
		{
			name: "deregistered target drains",
			do:   func() error { return e.svc.DeregisterTarget(tg, "i-0a", 32769) },
			want: []string{"i-0a:32768=healthy", "i-0a:32769=draining/Target.DeregistrationInProgress"},
		},
		{
			name: "still draining just before the delay",
			do:   func() error { e.clock.Advance(299 * time.Second); return nil },
			want: []string{"i-0a:32768=healthy", "i-0a:32769=draining/Target.DeregistrationInProgress"},
		},
		{
			name: "gone after the delay",
			do:   func() error { e.clock.Advance(time.Second); return nil },
			want: []string{"i-0a:32768=healthy"},
		},
		{
			name: "removed at once",
			do:   func() error { return e.svc.RemoveTarget(tg, "i-0a", 32768) },
			want: nil,
		},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := e.health(t, tg); fmt.Sprint(got) != fmt.Sprint(st.want) {
			t.Errorf("%s: DescribeTargetHealth = %v, want %v", st.name, got, st.want)
		}
	}

	if err := e.svc.SetTargetHealth(tg, "i-0b", 1, StateHealthy, "", ""); err == nil {
		t.Error("SetTargetHealth of an unregistered target succeeded")
	}
	if err := e.svc.SetTargetHealth(tg, "i-0a", 32768, "sick", "", ""); err == nil {
		t.Error("SetTargetHealth accepted state sick")
	}
	if err := e.svc.RegisterTarget(tg+"x", "i-0a", 1); err == nil {
		t.Error("RegisterTarget in a missing group succeeded")
	}
}

func TestTargetsThroughAPI(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tg := e.targetGroup(t, "nexus")
	reg := func(targets ...types.TargetDescription) error {
		_, err := e.client.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(tg), Targets: targets})
		return err
	}
	if err := reg(types.TargetDescription{Id: aws.String("i-1")}, types.TargetDescription{Id: aws.String("i-2"), Port: aws.Int32(9000)}); err != nil {
		t.Fatalf("RegisterTargets: %v", err)
	}
	// Without a load balancer the group receives no traffic.
	want := []string{"i-1:8080=unused/Target.NotInUse", "i-2:9000=unused/Target.NotInUse"}
	if got := e.health(t, tg); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("before attaching: %v, want %v", got, want)
	}
	lb, err := e.client.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("nexus"), Subnets: []string{"s-1", "s-2"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CreateListener(ctx, &elb.CreateListenerInput{
		LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn, Port: aws.Int32(443), Protocol: types.ProtocolEnumHttp,
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}},
	}); err != nil {
		t.Fatal(err)
	}
	want = []string{"i-1:8080=initial/Elb.RegistrationInProgress", "i-2:9000=initial/Elb.RegistrationInProgress"}
	if got := e.health(t, tg); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after attaching: %v, want %v", got, want)
	}
	// Asking for a target that is not registered reports it unused.
	got := e.health(t, tg, types.TargetDescription{Id: aws.String("i-1")}, types.TargetDescription{Id: aws.String("i-9"), Port: aws.Int32(1234)})
	want = []string{"i-1:8080=initial/Elb.RegistrationInProgress", "i-9:1234=unused/Target.NotRegistered"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("selected targets: %v, want %v", got, want)
	}

	if _, err := e.client.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{
		TargetGroupArn: aws.String(tg), Targets: []types.TargetDescription{{Id: aws.String("i-1")}},
	}); err != nil {
		t.Fatal(err)
	}
	if st := e.svc.Targets(tg); len(st) != 2 || st[0].State != StateDraining || st[0].Description != "Target deregistration is in progress" {
		t.Errorf("Targets after DeregisterTargets: %+v", st)
	}

	var invalid *types.InvalidTargetException
	if err := reg(types.TargetDescription{Id: aws.String("10.0.0.1")}); !errors.As(err, &invalid) {
		t.Errorf("registering an IP in an instance group: %v, want InvalidTarget", err)
	}
	if _, err := e.client.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{
		TargetGroupArn: aws.String(tg), Targets: []types.TargetDescription{{Id: aws.String("i-7")}},
	}); !errors.As(err, &invalid) {
		t.Errorf("deregistering an unknown target: %v, want InvalidTarget", err)
	}
	var nf *types.TargetGroupNotFoundException
	if _, err := e.client.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg + "0")}); !errors.As(err, &nf) {
		t.Errorf("DescribeTargetHealth of a missing group: %v, want TargetGroupNotFoundException", err)
	}
}

func TestHealthChecksDisabled(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tg := e.attached(t, "quiet")
	if _, err := e.client.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: aws.String(tg), HealthCheckEnabled: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RegisterTarget(tg, "i-1", 80); err != nil {
		t.Fatal(err)
	}
	want := []string{"i-1:80=unavailable/Target.HealthCheckDisabled"}
	if got := e.health(t, tg); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("with health checks off: %v, want %v", got, want)
	}
}
