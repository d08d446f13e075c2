package sim

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func TestServiceReachesSteadyState(t *testing.T) {
	e := start(t)
	e.cluster(t, "c1", 4096)
	td := e.bridgeTask(t, "web", "1024", "nginx:1.27")
	must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("c1"), ServiceName: aws.String("web"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(2),
	}))(t)
	e.advance(2 * time.Minute)
	s := e.service(t, "c1", "web")
	if s.RunningCount != 2 || len(s.Deployments) != 1 || s.Deployments[0].RolloutState != ecstypes.DeploymentRolloutStateCompleted {
		t.Fatalf("running %d, deployments %+v\n%s", s.RunningCount, s.Deployments, eventLog(s))
	}
	if !hasEvent(s, "(service web) has reached a steady state.") {
		t.Errorf("no steady-state event:\n%s", eventLog(s))
	}
	t.Log(eventLog(s))
}
