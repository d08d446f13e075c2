package sim

import "time"

// targetModel is what the ECS model needs from ELBv2: it registers each
// task's host:port, reports health as the simulated checks decide, and
// drains on deregistration. The ECS side owns the timing; the ELBv2 side
// shows the state to clients (DescribeTargetHealth).
type targetModel interface {
	exists(tgArn string) bool
	// attached reports whether a load balancer's listener forwards to the group.
	attached(tgArn string) bool
	settings(tgArn string) tgSettings
	register(tgArn, id string, port int32)
	setHealth(tgArn, id string, port int32, state, reason, description string)
	deregister(tgArn, id string, port int32)
	remove(tgArn, id string, port int32)
}

// tgSettings are the health-check settings of a target group.
type tgSettings struct {
	interval           time.Duration
	healthyThreshold   int
	unhealthyThreshold int
	deregistration     time.Duration
}

func defaultTGSettings() tgSettings {
	return tgSettings{interval: 30 * time.Second, healthyThreshold: 5, unhealthyThreshold: 2, deregistration: 300 * time.Second}
}

// imageStore is what the ECS model needs from ECR: whether an image that
// lives in the simulated registry can be pulled, and its digest.
type imageStore interface {
	// lookup reports whether ref names the simulated registry (ours) and,
	// if so, whether the image exists there and its digest.
	lookup(ref string) (digest string, ours, ok bool)
	// platforms lists the os/arch an image index provides (nil: a
	// single-platform image or unknown).
	platforms(ref string) []string
}
