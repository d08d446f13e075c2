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
	NotFatal        Kind = ""
	CannotPlace     Kind = "cannot-place"
	CannotPull      Kind = "cannot-pull"
	ResourceInit    Kind = "resource-initialization"
	ContainerExit   Kind = "container-exited"
	OutOfMemory     Kind = "out-of-memory"
	ELBUnhealthy    Kind = "elb-health-check"
	ContainerHealth Kind = "container-health-check"
	CannotStart     Kind = "unable-to-start"

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

var (
	// "(service x) was unable to place a task because no container instance met
	// all of its requirements. The closest matching (container-instance 0123)
	// has insufficient CPU units available. For more information, see the …"
	placeRE = regexp.MustCompile(`unable to place a task because no container instance met all of its requirements\.\s*(.*?)(?:\s*For more information|$)`)
	// "(service x) (port 80) is unhealthy in (target-group arn:…) due to (reason Health checks failed with these codes: [502])."
	elbEventRE = regexp.MustCompile(`\(port (\d+)\) is unhealthy in \(target-group ([^)]+)\) due to \(reason ([^)]*)\)`)
	// "(service x) (task 0123abcd) failed container health checks."
	containerHealthRE = regexp.MustCompile(`\(task ([^)]+)\) failed container health checks`)
)

// ClassifyEvent reads one service event. Placement failures, ELB and
// container health-check failures and "unable to consistently start tasks"
// are fatal; started/stopped/registered/steady-state messages are not.
func ClassifyEvent(msg string) Cause {
	switch {
	case strings.Contains(msg, "was unable to place a task"):
		reason := "no container instance met all of its requirements"
		if m := placeRE.FindStringSubmatch(msg); m != nil && strings.TrimSpace(m[1]) != "" {
			reason = strings.TrimSuffix(strings.TrimSpace(m[1]), ".")
		}
		return Cause{CannotPlace, "ECS cannot place a task: " + reason}
	case elbEventRE.MatchString(msg):
		m := elbEventRE.FindStringSubmatch(msg)
		return Cause{ELBUnhealthy, fmt.Sprintf("targets on port %s fail the load balancer's health checks in %s: %s", m[1], m[2], m[3])}
	case containerHealthRE.MatchString(msg):
		m := containerHealthRE.FindStringSubmatch(msg)
		return Cause{ContainerHealth, fmt.Sprintf("task %s failed its container health checks", m[1])}
	case strings.Contains(msg, "is unable to consistently start tasks successfully"):
		return Cause{CannotStart, "ECS is unable to consistently start tasks successfully"}
	}
	return Cause{}
}

// ClassifyStoppedTask reads a stopped task of our deployment: its
// stoppedReason, stop code and containers' exit codes and reasons.
func ClassifyStoppedTask(t types.Task) Cause {
	reason := str(t.StoppedReason)
	id := taskID(str(t.TaskArn))
	switch {
	case strings.Contains(reason, "CannotPullContainerError"):
		return Cause{CannotPull, fmt.Sprintf("task %s could not pull its image: %s", id, reason)}
	case strings.Contains(reason, "ResourceInitializationError"):
		return Cause{ResourceInit, fmt.Sprintf("task %s could not initialize its resources: %s", id, reason)}
	case strings.Contains(reason, "failed ELB health checks"):
		return Cause{ELBUnhealthy, fmt.Sprintf("task %s: %s", id, reason)}
	case strings.Contains(reason, "failed container health checks"):
		return Cause{ContainerHealth, fmt.Sprintf("task %s: %s", id, reason)}
	}
	for _, c := range t.Containers {
		if r := str(c.Reason); strings.Contains(r, "CannotPullContainerError") {
			return Cause{CannotPull, fmt.Sprintf("task %s, container %s could not pull its image: %s", id, str(c.Name), r)}
		}
	}
	if strings.Contains(reason, "Essential container in task exited") || t.StopCode == types.TaskStopCodeEssentialContainerExited {
		if c := exitedContainer(t.Containers); c != nil {
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
	// Scheduler and user stops (scaling, a newer deployment) are not failures.
	return Cause{}
}

// exitedContainer picks the container that ended the task: one killed for
// memory first, then one that failed on its own, before the others that
// merely got SIGTERM (143) or SIGKILL when the task was torn down.
func exitedContainer(cs []types.Container) *types.Container {
	var pick *types.Container
	rank := 0
	for i := range cs {
		c := &cs[i]
		if c.ExitCode == nil || *c.ExitCode == 0 {
			continue
		}
		r := 1
		switch {
		case strings.Contains(str(c.Reason), "OutOfMemory"):
			r = 4
		case *c.ExitCode == 137:
			r = 3
		case *c.ExitCode != 143:
			r = 2
		}
		if r > rank {
			pick, rank = c, r
		}
	}
	return pick
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
