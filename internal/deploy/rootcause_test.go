package deploy

import (
	"testing"

	"github.com/pier-deploy/pier/internal/report"
)

func TestReportedKind(t *testing.T) {
	exit1, exit143 := int32(1), int32(143)
	pull := report.StoppedTask{ID: "t1", Reason: "CannotPullContainerError: pull image manifest has been retried 5 time(s)", StopCode: "TaskFailedToStart"}
	crash := report.StoppedTask{ID: "t2", Reason: "Essential container in task exited", StopCode: "EssentialContainerExited",
		Containers: []report.ContainerExit{{Name: "app", ExitCode: &exit1}, {Name: "sidecar", ExitCode: &exit143}}}
	elb := report.StoppedTask{ID: "t3", Reason: "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:…:targetgroup/api/1)"}
	scaled := report.StoppedTask{ID: "t4", Reason: "Scaling activity initiated by (deployment ecs-svc/1)", StopCode: "ServiceSchedulerInitiated"}
	failedToStart := report.StoppedTask{ID: "t5", Reason: "Task failed to start", StopCode: "TaskFailedToStart"}
	tests := []struct {
		name    string
		cause   Kind
		stopped []report.StoppedTask
		want    Kind
	}{
		{"breaker explained by a pull failure", CircuitBreaker, []report.StoppedTask{pull}, CannotPull},
		{"breaker explained by a crash", CircuitBreaker, []report.StoppedTask{scaled, crash}, ContainerExit},
		{"breaker explained by ELB checks", CircuitBreaker, []report.StoppedTask{elb}, ELBUnhealthy},
		{"failed deployment explained", DeploymentFailed, []report.StoppedTask{pull}, CannotPull},
		{"unable to start explained", CannotStart, []report.StoppedTask{failedToStart, crash}, ContainerExit},
		{"breaker with only scheduler stops", CircuitBreaker, []report.StoppedTask{scaled}, CircuitBreaker},
		{"breaker with nothing stopped", CircuitBreaker, nil, CircuitBreaker},
		{"a specific cause stays", ELBUnhealthy, []report.StoppedTask{pull}, ELBUnhealthy},
		{"timeout stays", TimedOut, []report.StoppedTask{pull}, TimedOut},
		{"success has none", NotFatal, []report.StoppedTask{pull}, NotFatal},
	}
	for _, tt := range tests {
		if got := reported(Cause{Kind: tt.cause}, tt.stopped); got != tt.want {
			t.Errorf("%s: reported = %q, want %q", tt.name, got, tt.want)
		}
	}
}
