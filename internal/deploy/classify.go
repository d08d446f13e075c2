package deploy

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Kind names why a rollout failed, or that a message is harmless.
type Kind string

// Failure kinds. The first group is read from ECS's words (events, stopped
// reasons); the second from the deployment's state.
const (
	NotFatal Kind = ""
	// CannotPlace is the cluster's capacity: no container instance met the
	// task's requirements (CPU, memory, ports, attributes, an agent, or no
	// instance at all).
	CannotPlace Kind = "cannot-place"
	// PlacementQuota is an account limit ECS named as the placement reason
	// (concurrent tasks or vCPUs, CPU or memory configuration above the limit).
	PlacementQuota Kind = "account-quota"
	// CapacityProvider is a capacity provider the service names that ECS
	// cannot use (missing, not associated with the cluster, inactive).
	CapacityProvider Kind = "capacity-provider"
	// CapacityUnavailable is Fargate (or Spot) without capacity right now:
	// ECS retries, so it becomes the cause only if nothing starts.
	CapacityUnavailable Kind = "capacity-unavailable"
	// PlacementOther is a placement reason pier does not know: reported as
	// ECS wrote it, never as capacity.
	PlacementOther  Kind = "cannot-place-other"
	CannotPull      Kind = "cannot-pull"
	ResourceInit    Kind = "resource-initialization"
	ContainerExit   Kind = "container-exited"
	OutOfMemory     Kind = "out-of-memory"
	ELBUnhealthy    Kind = "elb-health-check"
	ContainerHealth Kind = "container-health-check"
	CannotStart     Kind = "unable-to-start"
	// DeploymentConfig: minimumHealthyPercent and maximumPercent leave ECS
	// no task it may stop or start; the rollout cannot move.
	DeploymentConfig Kind = "deployment-configuration"
	// TargetRegistration: ECS could not register the service's tasks with
	// its target group.
	TargetRegistration Kind = "target-registration"

	DeploymentFailed Kind = "deployment-failed"
	CircuitBreaker   Kind = "circuit-breaker"
	Superseded       Kind = "superseded"
	ScaledToZero     Kind = "desired-count-zero"
	ServiceGone      Kind = "service-inactive"
	TimedOut         Kind = "timeout"
	HealthURL        Kind = "health-check-url"
	Cancelled        Kind = "cancelled"
	APIError         Kind = "api-error"
)

// Cause is a classified failure: its kind and a sentence for the user.
type Cause struct {
	Kind    Kind
	Message string
}

func (c Cause) String() string { return c.Message }

// Placement reports whether a kind is ECS's "unable to place a task", for
// whatever reason: while a rollback waits, the old tasks still serve.
func Placement(k Kind) bool {
	switch k {
	case CannotPlace, PlacementQuota, CapacityProvider, CapacityUnavailable, PlacementOther:
		return true
	}
	return false
}

// class is what one service event means for the rollout.
type class int

const (
	harmless class = iota
	// stopped: the event names tasks ECS stopped (or is stopping for failed
	// ELB health checks); their stopped reasons say whether they were ours
	// and why, so pier reads them in the same round.
	stopped
	// throttledEvent: ECS's scheduler itself is throttled and will try again; no
	// placement failure counts against its grace while it says so.
	throttledEvent
	// stuck: the rollout cannot go on for this reason now, but ECS retries
	// and room or capacity may appear; it becomes the verdict when no task
	// starts for a grace period after it.
	stuck
	// fatal: waiting will not change it; the verdict in the same round.
	fatal
)

// reading is one event as pier understands it.
type reading struct {
	class class
	cause Cause
	// capacity: a stuck placement for lack of room on the cluster's
	// instances, the one reason preflight can predict (see rollout.noRoom).
	capacity bool
}

var (
	// "(service x) was unable to place a task because no container instance met
	// all of its requirements. The closest matching (container-instance 0123)
	// has insufficient CPU units available. For more information, see the …"
	placeRE = regexp.MustCompile(`unable to place a task because no container instance met all of its requirements\.\s*(.*?)\s*(?:For more information|$)`)
	// "(service x) was unable to place a task. Reason: You've reached the limit
	// on the number of tasks you can run concurrently. For more information, …"
	placeReasonRE = regexp.MustCompile(`unable to place a task\. Reason: (.*?)\s*(?:For more information|$)`)
	// "(service x) (port 80) is unhealthy in (target-group arn:…) due to (reason Health checks failed with these codes: [502])."
	elbEventRE = regexp.MustCompile(`\(port (\d+)\) is unhealthy in \(target-group ([^)]+)\) due to \(reason ([^)]*)\)`)
	// "(service x) (task 0123abcd) failed container health checks."
	containerHealthRE = regexp.MustCompile(`\(task ([^)]+)\) failed container health checks`)
	// "(service x) failed to register targets in (target-group arn:…) with (error …)"
	registerRE = regexp.MustCompile(`failed to register targets in \(target-group ([^)]+)\)(?: with \(error (.*)\))?`)
)

// ClassifyEvent reads one service event and returns the cause it names
// when it can end a rollout (at once or after a grace period); harmless and
// informational messages give NotFatal.
func ClassifyEvent(msg string) Cause {
	if r := readEvent(msg); r.class >= stuck {
		return r.cause
	}
	return Cause{}
}

// readEvent classifies one service event by what it says. The texts are
// ECS's own, as the "Amazon ECS service event messages" page lists them.
func readEvent(msg string) reading {
	switch {
	case strings.Contains(msg, "was unable to place a task"):
		return readPlacement(msg)
	case strings.Contains(msg, "unable to stop or start tasks during a deployment because of the service deployment configuration"):
		return reading{class: fatal, cause: Cause{DeploymentConfig, "ECS can neither stop nor start a task under the service's deployment configuration: " +
			"minimumHealthyPercent and maximumPercent leave it no room to move (fix: lower minimumHealthyPercent or raise maximumPercent so that at least one task can stop or start)"}}
	case strings.Contains(msg, "operations are being throttled"):
		return reading{class: throttledEvent}
	case strings.Contains(msg, "failed to register targets in"):
		return readRegister(msg)
	case elbEventRE.MatchString(msg):
		m := elbEventRE.FindStringSubmatch(msg)
		return reading{class: fatal, cause: Cause{ELBUnhealthy, fmt.Sprintf("targets on port %s fail the load balancer's health checks in %s: %s", m[1], m[2], m[3])}}
	case containerHealthRE.MatchString(msg):
		m := containerHealthRE.FindStringSubmatch(msg)
		return reading{class: fatal, cause: Cause{ContainerHealth, fmt.Sprintf("task %s failed its container health checks", m[1])}}
	case strings.Contains(msg, "is unable to consistently start tasks successfully"):
		return reading{class: fatal, cause: Cause{CannotStart, "ECS is unable to consistently start tasks successfully"}}
	case strings.Contains(msg, "failed ELB health checks in"), strings.Contains(msg, ") has stopped "):
		// Whose task it was (ours, or an old one) only its stopped reason
		// and startedBy tell: read them now rather than guess from the text.
		return reading{class: stopped}
	}
	return reading{}
}

// readPlacement sorts "unable to place a task" by its reason. Only reasons
// that waiting cannot change are fatal; capacity and unknown reasons wait
// for their grace, and an unknown one is quoted as ECS wrote it.
func readPlacement(msg string) reading {
	if m := placeRE.FindStringSubmatch(msg); m != nil {
		detail := strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(m[1], "Reason: ")), ".")
		if detail == "" {
			detail = "no container instance met all of its requirements"
		}
		return reading{class: stuck, capacity: true, cause: Cause{CannotPlace, "ECS cannot place a task: " + detail}}
	}
	reason := ""
	if m := placeReasonRE.FindStringSubmatch(msg); m != nil {
		reason = strings.TrimSuffix(strings.TrimSpace(m[1]), ".")
	}
	if reason == "" {
		return reading{class: stuck, cause: Cause{PlacementOther, "ECS cannot place a task: " + strings.TrimSpace(msg)}}
	}
	say := "ECS cannot place a task: " + reason
	lower := strings.ToLower(reason)
	switch {
	case strings.Contains(lower, "cannotpullcontainererror"):
		return reading{class: fatal, cause: Cause{CannotPull, say}}
	case strings.Contains(lower, "resourceinitializationerror"):
		return reading{class: fatal, cause: Cause{ResourceInit, say}}
	case strings.Contains(lower, "reached the limit on the number of"), strings.Contains(lower, "configuration is above your limit"):
		return reading{class: fatal, cause: Cause{PlacementQuota, say + " (an account quota: request an increase in Service Quotas, or lower the desired count or the task size)"}}
	case strings.Contains(lower, "no container instances were found"), strings.Contains(lower, "no container instance met all of its requirements"):
		// "Reason: No Container Instances were found in your cluster" (or
		// in your capacity provider): room, like the closest-instance texts.
		return reading{class: stuck, capacity: true, cause: Cause{CannotPlace, say}}
	case strings.Contains(lower, "capacity is unavailable at this time"):
		return reading{class: stuck, cause: Cause{CapacityUnavailable, say}}
	case strings.Contains(lower, "capacity provider"):
		return reading{class: fatal, cause: Cause{CapacityProvider, say + " (check the service's capacity provider strategy against the cluster's capacity providers)"}}
	case strings.Contains(lower, "internal error"):
		// ECS documents this one as a subnet in an Availability Zone that
		// Fargate does not support; it may also pass, so it waits.
		return reading{class: stuck, cause: Cause{PlacementOther, say + " (ECS documents this for a subnet in an Availability Zone Fargate does not support)"}}
	}
	return reading{class: stuck, cause: Cause{PlacementOther, say}}
}

// readRegister reads "failed to register targets": a target group that is
// gone or has no load balancer will not heal; anything else may pass.
func readRegister(msg string) reading {
	m := registerRE.FindStringSubmatch(msg)
	if m == nil {
		return reading{class: stuck, cause: Cause{TargetRegistration, "ECS could not register the service's tasks as targets: " + strings.TrimSpace(msg)}}
	}
	say := "ECS could not register the service's tasks as targets in " + m[1]
	if m[2] != "" {
		say += ": " + strings.TrimSuffix(m[2], ".")
	}
	lower := strings.ToLower(m[2])
	for _, permanent := range []string{"not found", "does not exist", "does not have an associated load balancer", "accessdenied", "not authorized", "is not in the same vpc"} {
		if strings.Contains(lower, permanent) {
			return reading{class: fatal, cause: Cause{TargetRegistration, say}}
		}
	}
	return reading{class: stuck, cause: Cause{TargetRegistration, say}}
}

// stoppedErrors are the stopped-task error codes ECS documents for a task
// that could not start its containers, in the order they are tested.
var stoppedErrors = []struct {
	code string
	kind Kind
	what string
}{
	{"CannotPullContainerError", CannotPull, "could not pull its image"},
	{"ResourceInitializationError", ResourceInit, "could not initialize its resources"},
	{"CannotStartContainerError", CannotStart, "could not start a container"},
	{"CannotCreateContainerError", CannotStart, "could not create a container"},
	{"ContainerRuntimeTimeoutError", CannotStart, "timed out in the container runtime"},
	{"ContainerRuntimeError", CannotStart, "failed in the container runtime"},
}

// ClassifyStoppedTask reads a stopped task of our deployment: its
// stoppedReason, stop code and containers' exit codes and reasons.
func ClassifyStoppedTask(t types.Task) Cause { return classifyStopped(t, nil) }

// classifyStopped is ClassifyStoppedTask knowing which containers are
// essential (nil: unknown). DescribeTasks does not say, and where a
// non-essential container crashed too, the essential one ended the task.
func classifyStopped(t types.Task, essential map[string]bool) Cause {
	reason := str(t.StoppedReason)
	id := taskID(str(t.TaskArn))
	for _, e := range stoppedErrors {
		if strings.Contains(reason, e.code) {
			return Cause{e.kind, fmt.Sprintf("task %s %s: %s", id, e.what, reason)}
		}
	}
	switch {
	case strings.Contains(reason, "failed ELB health checks"):
		return Cause{ELBUnhealthy, fmt.Sprintf("task %s: %s", id, reason)}
	case strings.Contains(reason, "failed container health checks"):
		return Cause{ContainerHealth, fmt.Sprintf("task %s: %s", id, reason)}
	}
	for _, c := range t.Containers {
		r := str(c.Reason)
		for _, e := range stoppedErrors {
			if strings.Contains(r, e.code) {
				return Cause{e.kind, fmt.Sprintf("task %s, container %s %s: %s", id, str(c.Name), e.what, r)}
			}
		}
	}
	if strings.Contains(reason, "Essential container in task exited") || t.StopCode == types.TaskStopCodeEssentialContainerExited {
		if c := exitedContainer(t.Containers, essential); c != nil {
			if *c.ExitCode == 137 || strings.Contains(str(c.Reason), "OutOfMemory") {
				return Cause{OutOfMemory, fmt.Sprintf("task %s: container %s exited with code %d (out of memory: raise its memory or the task's)", id, str(c.Name), *c.ExitCode)}
			}
			msg := fmt.Sprintf("task %s: essential container %s exited with code %d", id, str(c.Name), *c.ExitCode)
			if r := str(c.Reason); r != "" {
				msg += " (" + r + ")"
			}
			return Cause{ContainerExit, msg}
		}
		return Cause{ContainerExit, fmt.Sprintf("task %s: %s", id, reason)}
	}
	if t.StopCode == types.TaskStopCodeTaskFailedToStart {
		return Cause{CannotStart, fmt.Sprintf("task %s failed to start: %s", id, reason)}
	}
	// Scheduler and user stops (scaling, a newer deployment, a host going
	// away, a Spot interruption) are not the revision's failures.
	return Cause{}
}

// exitedContainer picks the container that ended the task: one killed for
// memory first, then one that failed on its own, before the others that
// merely got SIGTERM (143) or SIGKILL when the task was torn down; among
// equals, an essential one.
func exitedContainer(cs []types.Container, essential map[string]bool) *types.Container {
	var pick *types.Container
	rank := 0
	for i := range cs {
		c := &cs[i]
		if c.ExitCode == nil || *c.ExitCode == 0 {
			continue
		}
		r := 2
		switch {
		case strings.Contains(str(c.Reason), "OutOfMemory"):
			r = 8
		case *c.ExitCode == 137:
			r = 6
		case *c.ExitCode != 143:
			r = 4
		}
		if essential[str(c.Name)] {
			r++
		}
		if r > rank {
			pick, rank = c, r
		}
	}
	return pick
}

// essentials are the names of the essential containers of a definition
// pier registers (essential is true where the definition leaves it out).
func essentials(cds []types.ContainerDefinition) map[string]bool {
	if len(cds) == 0 {
		return nil
	}
	m := map[string]bool{}
	for _, cd := range cds {
		m[str(cd.Name)] = cd.Essential == nil || *cd.Essential
	}
	return m
}

// taskID is the last part of a task ARN.
func taskID(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
