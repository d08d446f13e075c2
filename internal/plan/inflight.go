package plan

import (
	"fmt"
	"strings"
)

// RolloutInProgress is the check that warns, before anything changes, that
// another rollout of the service is still under way.
const RolloutInProgress = "rollout-in-progress"

// inFlight warns when a change would start while the service is still in
// another rollout: more than one deployment, or a PRIMARY that is not
// COMPLETED. It warns and does not block: ECS accepts the update (the new
// deployment becomes PRIMARY and the one in flight is drained), and the
// rollout in flight is often the stuck or failed one this deploy means to
// replace; but the person should know pier will cut it short, and that
// someone else's update landing during pier's rollout makes pier's verdict
// a failure (superseded).
func inFlight(s Service, os ObservedService) *Finding {
	if !s.Changed() {
		return nil // no change: the "has not settled" warning says it
	}
	var parts []string
	busy := len(os.Deployments) > 1
	for _, d := range os.Deployments {
		part := d.ID + " " + d.Status
		if d.TaskDefinition != "" {
			part += " " + shortRevision(d.TaskDefinition)
		}
		if d.RolloutState != "" {
			part += " " + d.RolloutState
		}
		parts = append(parts, part)
		if d.Status == "PRIMARY" && d.RolloutState != "" && d.RolloutState != "COMPLETED" {
			busy = true
		}
	}
	if !busy {
		return nil
	}
	return &Finding{Severity: Warning, Check: RolloutInProgress,
		Message: fmt.Sprintf("another rollout of %s is in progress (%s): this deploy replaces it, and ECS stops the tasks of a deployment that is no longer PRIMARY",
			s.Service, strings.Join(parts, "; ")),
		Fix: "wait until `pier status " + s.Name + "` shows a single COMPLETED deployment, or deploy now if that rollout is stuck or failed; " +
			"another update landing during pier's rollout makes its verdict a failure"}
}

// shortRevision is family:revision of a task-definition ARN.
func shortRevision(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
