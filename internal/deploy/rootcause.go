package deploy

import (
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pier-deploy/pier/internal/report"
)

// reported is the class a run's cause is reported under (report causeKind):
// what went wrong, not how ECS reacted to it. A circuit-breaker rollback, a
// FAILED deployment and "unable to consistently start tasks" are ECS's
// reactions; the tasks of our deployment that stopped say why. Reading the
// class from them gives one fault one class whether pier saw the stopped
// tasks before the breaker tripped (a quick poll) or after (a slow one, or a
// sandbox at --speed 600). c itself is left as it is: the engine acts on its
// Kind (who rolls back).
func reported(c Cause, stopped []report.StoppedTask) Kind {
	switch c.Kind {
	case CircuitBreaker, DeploymentFailed, CannotStart:
	default:
		return c.Kind
	}
	for _, st := range stopped {
		t := types.Task{StoppedReason: &st.Reason, StopCode: types.TaskStopCode(st.StopCode)}
		for _, ce := range st.Containers {
			t.Containers = append(t.Containers, types.Container{Name: &ce.Name, ExitCode: ce.ExitCode, Reason: &ce.Reason})
		}
		if k := ClassifyStoppedTask(t).Kind; k != NotFatal && k != CannotStart {
			return k
		}
	}
	return c.Kind
}
