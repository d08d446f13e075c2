package sim

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// BenchmarkFiftyServicesRolling measures how fast the simulator runs virtual
// time while 50 load-balanced services (3 tasks each) roll out a new
// revision at once: virtual seconds per real second.
func BenchmarkFiftyServicesRolling(b *testing.B) {
	const services, tasks = 50, 3
	e := start(b)
	ctx := e.ctx
	must(e.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("big")}))(b)
	for range 40 {
		must(e.ecs.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String("big"), TotalResources: []ecstypes.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 4096},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 15742},
		}}))(b)
	}
	register := func(family, image string) string {
		out := must(e.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family: aws.String(family), Cpu: aws.String("256"), Memory: aws.String("512"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String(image),
				PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(80)}}}},
		}))(b)
		return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	}
	for i := range services {
		name := fmt.Sprintf("svc%02d", i)
		tg, _ := e.targetGroup(b, name)
		must(e.ecs.CreateService(ctx, &ecs.CreateServiceInput{
			Cluster: aws.String("big"), ServiceName: aws.String(name), TaskDefinition: aws.String(register(name, "web:1")), DesiredCount: aws.Int32(tasks),
			LoadBalancers: []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String("web"), ContainerPort: aws.Int32(80)}},
		}))(b)
	}
	e.advance(10 * time.Minute)
	b.ResetTimer()
	var virtual time.Duration
	round := 0
	for b.Loop() {
		round++
		b.StopTimer()
		for i := range services {
			name := fmt.Sprintf("svc%02d", i)
			must(e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("big"), Service: aws.String(name),
				TaskDefinition: aws.String(register(name, fmt.Sprintf("web:%d", round+1)))}))(b)
		}
		b.StartTimer()
		// A rollout with 300 s of draining per batch takes about 20 virtual minutes.
		e.advance(20 * time.Minute)
		virtual += 20 * time.Minute
	}
	b.StopTimer()
	done := 0
	for i := range services {
		out := must(e.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("big"), Services: []string{fmt.Sprintf("svc%02d", i)}}))(b)
		if d := out.Services[0].Deployments; len(d) == 1 && d[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted {
			done++
		}
	}
	if done != services {
		b.Fatalf("%d of %d rollouts completed", done, services)
	}
	b.ReportMetric(virtual.Seconds()/b.Elapsed().Seconds(), "virtual-s/s")
	b.ReportMetric(float64(services), "services")
}
