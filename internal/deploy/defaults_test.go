package deploy

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pier-deploy/pier/internal/plan"
)

// ECS's documented defaults for a deploymentConfiguration left out, in
// whole or in part (the lax proxy tests the replica cases on the wire;
// the simulator has no DAEMON services).
func TestDeploymentConfigDefaults(t *testing.T) {
	for _, tt := range []struct {
		name string
		svc  types.Service
		want plan.DeploymentConfig
	}{
		{"replica, none", types.Service{}, plan.DeploymentConfig{MinimumHealthyPercent: 100, MaximumPercent: 200}},
		{"replica, explicit REPLICA", types.Service{SchedulingStrategy: types.SchedulingStrategyReplica}, plan.DeploymentConfig{MinimumHealthyPercent: 100, MaximumPercent: 200}},
		{"daemon, none", types.Service{SchedulingStrategy: types.SchedulingStrategyDaemon}, plan.DeploymentConfig{MinimumHealthyPercent: 0, MaximumPercent: 100}},
		{"daemon, only the circuit breaker", types.Service{SchedulingStrategy: types.SchedulingStrategyDaemon,
			DeploymentConfiguration: &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true}}},
			plan.DeploymentConfig{MinimumHealthyPercent: 0, MaximumPercent: 100, CircuitBreaker: true}},
		{"replica, only maximumPercent", types.Service{DeploymentConfiguration: &types.DeploymentConfiguration{MaximumPercent: aws.Int32(150)}},
			plan.DeploymentConfig{MinimumHealthyPercent: 100, MaximumPercent: 150}},
		{"replica, an explicit 0 stays 0", types.Service{DeploymentConfiguration: &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(0)}},
			plan.DeploymentConfig{MinimumHealthyPercent: 0, MaximumPercent: 200}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := deploymentConfig(&tt.svc); got != tt.want {
				t.Errorf("deploymentConfig = %+v, want %+v", got, tt.want)
			}
		})
	}
}
