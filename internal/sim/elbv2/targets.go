package elbv2

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Target health states, as DescribeTargetHealth reports them.
const (
	StateInitial     = "initial"
	StateHealthy     = "healthy"
	StateUnhealthy   = "unhealthy"
	StateUnused      = "unused"
	StateDraining    = "draining"
	StateUnavailable = "unavailable"
)

// descriptions are ELBv2's texts for its reason codes; SetTargetHealth uses them when
// the caller gives a reason without a description.
var descriptions = map[string]string{
	"Elb.RegistrationInProgress":      "Target registration is in progress",
	"Elb.InitialHealthChecking":       "Initial health checks in progress",
	"Elb.InternalError":               "Health checks failed due to an internal error",
	"Target.ResponseCodeMismatch":     "Health checks failed with these codes: [502]",
	"Target.Timeout":                  "Request timed out",
	"Target.FailedHealthChecks":       "Health checks failed",
	"Target.NotRegistered":            "Target is not registered to the target group",
	"Target.NotInUse":                 "Target group is not configured to receive traffic from the load balancer",
	"Target.DeregistrationInProgress": "Target deregistration is in progress",
	"Target.InvalidState":             "Target is in the stopped state",
	"Target.IpUnusable":               "The target IP address is reserved for use by a load balancer",
	"Target.HealthCheckDisabled":      "Health checks are disabled",
}

type target struct {
	id, az                     string
	port                       int32
	state, reason, description string
	drainUntil                 time.Time // when a draining target disappears
}

// TargetState is one registered target as the model holds it.
type TargetState struct {
	ID          string
	Port        int32
	State       string
	Reason      string
	Description string
}

// expire drops targets whose draining has ended; callers hold s.mu.
func (s *Service) expire(tg *targetGroup) {
	now := s.now()
	kept := tg.targets[:0]
	for _, t := range tg.targets {
		if t.state == StateDraining && !now.Before(t.drainUntil) {
			continue
		}
		kept = append(kept, t)
	}
	tg.targets = kept
}

func (tg *targetGroup) find(id string, port int32) *target {
	for _, t := range tg.targets {
		if t.id == id && t.port == port {
			return t
		}
	}
	return nil
}

func (t *target) set(state, reason, description string) {
	if description == "" {
		description = descriptions[reason]
	}
	t.state, t.reason, t.description = state, reason, description
}

// deregistrationDelay reads the target group's attribute; callers hold s.mu.
func (tg *targetGroup) deregistrationDelay() time.Duration {
	n, _ := strconv.Atoi(tg.attrs["deregistration_delay.timeout_seconds"])
	return time.Duration(n) * time.Second
}

// TargetGroupExists reports whether arn names a target group.
func (s *Service) TargetGroupExists(arn string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tgs[arn] != nil
}

// HealthCheck returns the health-check settings of the target group arn.
func (s *Service) HealthCheck(arn string) (HealthCheck, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tg := s.tgs[arn]
	if tg == nil {
		return HealthCheck{}, false
	}
	return tg.hc, true
}

// DeregistrationDelay returns how long a deregistered target of arn drains
// (deregistration_delay.timeout_seconds), or 0 for an unknown target group.
func (s *Service) DeregistrationDelay(arn string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tg := s.tgs[arn]; tg != nil {
		return tg.deregistrationDelay()
	}
	return 0
}

// RegisterTarget registers id:port with the target group, as ECS does for a task's
// host port: it starts in initial (Elb.RegistrationInProgress), or unused
// (Target.NotInUse) while no load balancer forwards to the group. Registering a
// draining target makes it initial again; registering a registered one changes nothing.
func (s *Service) RegisterTarget(tgArn, id string, port int32) error {
	return s.changeTarget(tgArn, "registering", id, port, func(tg *targetGroup) error {
		s.registerLocked(tg, id, port, "")
		return nil
	})
}

// changeTarget runs f on the target group tgArn with s.mu held, for the model methods
// that change the one target id:port; doing names the change for the error when
// there is no such group.
func (s *Service) changeTarget(tgArn, doing, id string, port int32, f func(*targetGroup) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tg, err := s.lookupTG(tgArn)
	if err != nil {
		return fmt.Errorf("%s target %s:%d: %w", doing, id, port, err)
	}
	return f(tg)
}

func (s *Service) registerLocked(tg *targetGroup, id string, port int32, az string) {
	s.expire(tg)
	t := tg.find(id, port)
	if t != nil && t.state != StateDraining {
		return
	}
	if t == nil {
		t = &target{id: id, port: port, az: az}
		tg.targets = append(tg.targets, t)
	}
	t.drainUntil = time.Time{}
	s.startChecking(tg, t)
}

// startChecking gives a newly registered target its first state: unused while no
// load balancer forwards to the group, unavailable without health checks, else
// initial until the ECS simulator reports the checks' outcome. Callers hold s.mu.
func (s *Service) startChecking(tg *targetGroup, t *target) {
	switch {
	case len(s.lbArnsOf(tg.arn)) == 0:
		t.set(StateUnused, "Target.NotInUse", "")
	case !tg.hc.Enabled:
		t.set(StateUnavailable, "Target.HealthCheckDisabled", "")
	default:
		t.set(StateInitial, "Elb.RegistrationInProgress", "")
	}
}

// SetTargetHealth sets a registered target's state, reason code and description (the
// standard text of the reason when description is ""). A healthy target has no reason.
func (s *Service) SetTargetHealth(tgArn, id string, port int32, state, reason, description string) error {
	switch state {
	case StateInitial, StateHealthy, StateUnhealthy, StateUnused, StateDraining, StateUnavailable:
	default:
		return fmt.Errorf("setting the health of target %s:%d in %s: unknown state %q", id, port, tgArn, state)
	}
	return s.changeTarget(tgArn, "setting the health of", id, port, func(tg *targetGroup) error {
		s.expire(tg)
		t := tg.find(id, port)
		if t == nil {
			return fmt.Errorf("setting the health of target %s:%d in %s: the target is not registered", id, port, tg.name)
		}
		if state == StateHealthy {
			reason, description = "", ""
		}
		t.set(state, reason, description)
		if state == StateDraining && t.drainUntil.IsZero() {
			t.drainUntil = s.now().Add(tg.deregistrationDelay())
		}
		return nil
	})
}

// DeregisterTarget starts draining id:port (Target.DeregistrationInProgress); the
// target disappears once the deregistration delay has passed on the clock, at once
// when the delay is 0 or no load balancer uses the group.
func (s *Service) DeregisterTarget(tgArn, id string, port int32) error {
	return s.changeTarget(tgArn, "deregistering", id, port, func(tg *targetGroup) error {
		if !s.deregisterLocked(tg, id, port) {
			return fmt.Errorf("deregistering target %s:%d from %s: the target is not registered", id, port, tg.name)
		}
		return nil
	})
}

func (s *Service) deregisterLocked(tg *targetGroup, id string, port int32) bool {
	s.expire(tg)
	t := tg.find(id, port)
	if t == nil {
		return false
	}
	if t.state == StateDraining {
		return true
	}
	t.set(StateDraining, "Target.DeregistrationInProgress", "")
	t.drainUntil = s.now().Add(tg.deregistrationDelay())
	if len(s.lbArnsOf(tg.arn)) == 0 {
		t.drainUntil = s.now()
	}
	s.expire(tg)
	return true
}

// RemoveTarget drops id:port from the group at once, whatever its state.
func (s *Service) RemoveTarget(tgArn, id string, port int32) error {
	return s.changeTarget(tgArn, "removing", id, port, func(tg *targetGroup) error {
		kept := tg.targets[:0]
		for _, t := range tg.targets {
			if t.id != id || t.port != port {
				kept = append(kept, t)
			}
		}
		tg.targets = kept
		return nil
	})
}

// Targets returns the targets of the group in registration order (draining ones
// included until their delay ends).
func (s *Service) Targets(tgArn string) []TargetState {
	s.mu.Lock()
	defer s.mu.Unlock()
	tg := s.tgs[tgArn]
	if tg == nil {
		return nil
	}
	s.expire(tg)
	out := make([]TargetState, len(tg.targets))
	for i, t := range tg.targets {
		out[i] = TargetState{ID: t.id, Port: t.port, State: t.state, Reason: t.reason, Description: t.description}
	}
	return out
}

// readTargets reads Targets.member.N; a target without Port gets the group's.
func readTargets(q query, tg *targetGroup) ([]target, error) {
	var out []target
	for _, m := range q.members("Targets") {
		t := target{id: m.get("Id"), az: m.get("AvailabilityZone"), port: tg.port}
		if t.id == "" {
			return nil, errorf("ValidationError", "A target ID must be specified")
		}
		if p, ok, err := m.int32("Port"); err != nil {
			return nil, err
		} else if ok {
			t.port = p
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, errorf("ValidationError", "At least one target must be specified")
	}
	return out, nil
}

func (s *Service) registerTargets(q query, tg *targetGroup) (any, error) {
	ts, err := readTargets(q, tg)
	if err != nil {
		return nil, err
	}
	var bad []string
	for _, t := range ts {
		switch {
		case t.port < 1 || t.port > 65535:
			return nil, errorf("ValidationError", "Port %d of target '%s' must be between 1 and 65535", t.port, t.id)
		case tg.targetType == "instance" && !strings.HasPrefix(t.id, "i-"):
			bad = append(bad, t.id)
		case tg.targetType == "ip" && net.ParseIP(t.id) == nil:
			bad = append(bad, t.id)
		}
	}
	if len(bad) > 0 {
		return nil, errorf("InvalidTarget", "The following targets are not valid %s targets: '%s'", tg.targetType, strings.Join(bad, "', '"))
	}
	for _, t := range ts {
		s.registerLocked(tg, t.id, t.port, t.az)
	}
	return &struct{}{}, nil
}

func (s *Service) deregisterTargets(q query, tg *targetGroup) (any, error) {
	ts, err := readTargets(q, tg)
	if err != nil {
		return nil, err
	}
	s.expire(tg)
	var missing []string
	for _, t := range ts {
		if tg.find(t.id, t.port) == nil {
			missing = append(missing, fmt.Sprintf("%s:%d", t.id, t.port))
		}
	}
	if len(missing) > 0 {
		return nil, errorf("InvalidTarget", "The following targets are not registered in target group '%s': '%s'", tg.name, strings.Join(missing, "', '"))
	}
	for _, t := range ts {
		s.deregisterLocked(tg, t.id, t.port)
	}
	return &struct{}{}, nil
}

type wireTarget struct {
	ID               string `xml:"Id"`
	Port             int32  `xml:"Port"`
	AvailabilityZone string `xml:"AvailabilityZone,omitempty"`
}

type wireTargetHealth struct {
	State       string `xml:"State"`
	Reason      string `xml:"Reason,omitempty"`
	Description string `xml:"Description,omitempty"`
}

type wireTargetHealthDescription struct {
	Target          wireTarget       `xml:"Target"`
	HealthCheckPort string           `xml:"HealthCheckPort"`
	TargetHealth    wireTargetHealth `xml:"TargetHealth"`
}

type targetHealthResult struct {
	TargetHealthDescriptions []wireTargetHealthDescription `xml:"TargetHealthDescriptions>member"`
}

func (s *Service) describeTargetHealth(q query, tg *targetGroup) (any, error) {
	s.expire(tg)
	describe := func(id string, port int32, az string, t *target) wireTargetHealthDescription {
		hcPort := tg.hc.Port
		if hcPort == "traffic-port" || hcPort == "" {
			hcPort = strconv.Itoa(int(port))
		}
		d := wireTargetHealthDescription{Target: wireTarget{ID: id, Port: port, AvailabilityZone: az}, HealthCheckPort: hcPort}
		if t == nil {
			d.TargetHealth = wireTargetHealth{State: StateUnused, Reason: "Target.NotRegistered", Description: descriptions["Target.NotRegistered"]}
		} else {
			d.TargetHealth = wireTargetHealth{State: t.state, Reason: t.reason, Description: t.description}
		}
		return d
	}
	out := &targetHealthResult{TargetHealthDescriptions: []wireTargetHealthDescription{}}
	if len(q.members("Targets")) == 0 {
		for _, t := range tg.targets {
			out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, describe(t.id, t.port, t.az, t))
		}
		return out, nil
	}
	ts, err := readTargets(q, tg)
	if err != nil {
		return nil, err
	}
	for _, want := range ts {
		t := tg.find(want.id, want.port)
		az := want.az
		if t != nil && az == "" {
			az = t.az
		}
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, describe(want.id, want.port, az, t))
	}
	return out, nil
}
