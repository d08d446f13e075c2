package sim

import (
	"net/http"

	"github.com/pier-deploy/pier/internal/sim/elbv2"
)

// elbTargets adapts the ELBv2 simulator to the ECS model: ECS decides when
// a task's target turns healthy or unhealthy (from the group's health-check
// settings and the image's behaviour) and ELBv2 shows it to clients.
type elbTargets struct{ svc *elbv2.Service }

func (e elbTargets) exists(arn string) bool { return e.svc.TargetGroupExists(arn) }

func (e elbTargets) attached(arn string) bool { return len(e.svc.LoadBalancerArns(arn)) > 0 }

func (e elbTargets) settings(arn string) tgSettings {
	st := defaultTGSettings()
	if hc, ok := e.svc.HealthCheck(arn); ok {
		if hc.Interval > 0 {
			st.interval = hc.Interval
		}
		if hc.HealthyThreshold > 0 {
			st.healthyThreshold = hc.HealthyThreshold
		}
		if hc.UnhealthyThreshold > 0 {
			st.unhealthyThreshold = hc.UnhealthyThreshold
		}
		st.deregistration = e.svc.DeregistrationDelay(arn)
	}
	return st
}

// The ELBv2 calls below fail only for a target group deleted under a running
// service; ECS keeps going then too, so the errors are dropped on purpose.

func (e elbTargets) register(arn, id string, port int32) { _ = e.svc.RegisterTarget(arn, id, port) }

func (e elbTargets) setHealth(arn, id string, port int32, state, reason, description string) {
	_ = e.svc.SetTargetHealth(arn, id, port, state, reason, description)
}

func (e elbTargets) deregister(arn, id string, port int32) { _ = e.svc.DeregisterTarget(arn, id, port) }

func (e elbTargets) remove(arn, id string, port int32) { _ = e.svc.RemoveTarget(arn, id, port) }

// ELBv2 returns the world's ELBv2 service.
func (w *World) ELBv2() *elbv2.Service { return w.elb }

func (w *World) serveELBv2(rw http.ResponseWriter, r *http.Request) { w.elb.ServeHTTP(rw, r) }
