package deploy

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pier-deploy/pier/internal/awsapi"
	"github.com/pier-deploy/pier/internal/plan"
	"github.com/pier-deploy/pier/internal/taskdef"
)

// Observe reads the live state the plan needs: each service, its current
// revision, an identical existing revision to reuse when the current one
// differs, and the container instances of EC2 clusters where a rollout
// will place tasks. It makes as few calls as that allows: one
// DescribeServices per ten services of a cluster, one DescribeTaskDefinition
// per service, one more only when the definition changed.
func Observe(ctx context.Context, api ECSReader, desired []plan.DesiredService) (plan.Observed, error) {
	o := plan.Observed{Services: map[string]plan.ObservedService{}, Clusters: map[string]plan.Cluster{}}
	byCluster := map[string][]plan.DesiredService{}
	var clusters []string
	for _, d := range desired {
		if _, ok := byCluster[d.Cluster]; !ok {
			clusters = append(clusters, d.Cluster)
		}
		byCluster[d.Cluster] = append(byCluster[d.Cluster], d)
	}
	sort.Strings(clusters)
	needCapacity := map[string]bool{}
	for _, c := range clusters {
		ds := byCluster[c]
		for i := 0; i < len(ds); i += maxDescribe {
			chunk := ds[i:min(i+maxDescribe, len(ds))]
			names := make([]string, len(chunk))
			for j, d := range chunk {
				names[j] = d.Service
			}
			out, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(c), Services: names})
			if err != nil {
				return o, fmt.Errorf("describing services %s in cluster %s: %w", strings.Join(names, ", "), c, awsapi.Explain(err))
			}
			found := map[string]*types.Service{}
			for k := range out.Services {
				found[str(out.Services[k].ServiceName)] = &out.Services[k]
			}
			for _, d := range chunk {
				svc := found[d.Service]
				if svc == nil {
					o.Services[d.Name] = plan.ObservedService{}
					continue
				}
				os, err := observeService(ctx, api, d, svc)
				if err != nil {
					return o, err
				}
				o.Services[d.Name] = os
				if os.LaunchType == "EC2" && !d.Fields.Equal(os.Current) {
					needCapacity[c] = true
				}
			}
		}
	}
	for _, c := range clusters {
		if needCapacity[c] {
			cl, err := observeCluster(ctx, api, c)
			if err != nil {
				return o, err
			}
			o.Clusters[c] = cl
		}
	}
	return o, nil
}

// ECSReader is the read-only part of the ECS API that Observe and Status use.
type ECSReader interface {
	DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinition(context.Context, *ecs.DescribeTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	ListContainerInstances(context.Context, *ecs.ListContainerInstancesInput, ...func(*ecs.Options)) (*ecs.ListContainerInstancesOutput, error)
	DescribeContainerInstances(context.Context, *ecs.DescribeContainerInstancesInput, ...func(*ecs.Options)) (*ecs.DescribeContainerInstancesOutput, error)
}

func observeService(ctx context.Context, api ECSReader, d plan.DesiredService, svc *types.Service) (plan.ObservedService, error) {
	os := plan.ObservedService{
		Found: true, Status: str(svc.Status),
		TaskDefinition: revision(str(svc.TaskDefinition)),
		DesiredCount:   desired(svc), RunningCount: svc.RunningCount,
		LaunchType: launchType(svc),
	}
	os.Deployment = deploymentConfig(svc)
	if dc := svc.DeploymentController; dc != nil {
		os.Controller = string(dc.Type)
	}
	for _, dep := range svc.Deployments {
		od := plan.ObservedDeployment{ID: str(dep.Id), Status: str(dep.Status), TaskDefinition: str(dep.TaskDefinition), RolloutState: string(dep.RolloutState)}
		if od.Status == "PRIMARY" {
			os.Deployments = append([]plan.ObservedDeployment{od}, os.Deployments...)
		} else {
			os.Deployments = append(os.Deployments, od)
		}
	}
	if os.Status != "ACTIVE" {
		return os, nil
	}
	cur, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: svc.TaskDefinition})
	if err != nil {
		return os, fmt.Errorf("describing task definition %s of service %s: %w", shortTD(str(svc.TaskDefinition)), d.Service, awsapi.Explain(err))
	}
	if os.Current, err = taskdef.FromECS(cur.TaskDefinition).Fields(); err != nil {
		return os, err
	}
	if d.Fields.Equal(os.Current) {
		return os, nil
	}
	// The family's newest revision may already be what we want (an earlier
	// run registered it and then failed, or it was rolled back from).
	latest, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(d.Family)})
	if err != nil {
		return os, nil // a family that does not exist yet has no revision to reuse
	}
	if arn := str(latest.TaskDefinition.TaskDefinitionArn); arn != str(svc.TaskDefinition) {
		f, err := taskdef.FromECS(latest.TaskDefinition).Fields()
		if err != nil {
			return os, err
		}
		os.Candidates = append(os.Candidates, plan.Candidate{Revision: revision(arn), Fields: f})
	}
	return os, nil
}

// deploymentConfig reads the part of the service's deployment
// configuration that decides how a rollout proceeds. A member ECS leaves
// out reads as ECS's documented default, never as zero: a replica service
// rolls with minimumHealthyPercent 100 and maximumPercent 200, a DAEMON
// service with 0 and 100, and the circuit breaker is off.
func deploymentConfig(svc *types.Service) plan.DeploymentConfig {
	c := plan.DeploymentConfig{MinimumHealthyPercent: 100, MaximumPercent: 200}
	if svc.SchedulingStrategy == types.SchedulingStrategyDaemon {
		c = plan.DeploymentConfig{MinimumHealthyPercent: 0, MaximumPercent: 100}
	}
	if dc := svc.DeploymentConfiguration; dc != nil {
		if dc.MinimumHealthyPercent != nil {
			c.MinimumHealthyPercent = *dc.MinimumHealthyPercent
		}
		if dc.MaximumPercent != nil {
			c.MaximumPercent = *dc.MaximumPercent
		}
		if cb := dc.DeploymentCircuitBreaker; cb != nil {
			c.CircuitBreaker, c.Rollback = cb.Enable, cb.Rollback
		}
	}
	return c
}

// launchType is EC2 for services on EC2 capacity, by launch type or by a
// capacity provider strategy that names no Fargate provider.
func launchType(svc *types.Service) string {
	if svc.LaunchType != "" {
		return string(svc.LaunchType)
	}
	for _, cp := range svc.CapacityProviderStrategy {
		if strings.HasPrefix(str(cp.CapacityProvider), "FARGATE") {
			return "FARGATE"
		}
	}
	if len(svc.CapacityProviderStrategy) > 0 {
		return "EC2"
	}
	return ""
}

func observeCluster(ctx context.Context, api ECSReader, name string) (plan.Cluster, error) {
	cl := plan.Cluster{Name: name}
	var arns []string
	var token *string
	for {
		out, err := api.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String(name),
			Status: types.ContainerInstanceStatusActive, NextToken: token})
		if err != nil {
			return cl, fmt.Errorf("listing container instances of cluster %s: %w", name, awsapi.Explain(err))
		}
		arns = append(arns, out.ContainerInstanceArns...)
		if token = out.NextToken; token == nil {
			break
		}
	}
	for i := 0; i < len(arns); i += 100 {
		out, err := api.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(name), ContainerInstances: arns[i:min(i+100, len(arns))]})
		if err != nil {
			return cl, fmt.Errorf("describing container instances of cluster %s: %w", name, awsapi.Explain(err))
		}
		for _, ci := range out.ContainerInstances {
			in := plan.Instance{ID: taskID(str(ci.ContainerInstanceArn))}
			for _, a := range ci.Attributes {
				if str(a.Name) == "ecs.cpu-architecture" {
					in.Arch = str(a.Value)
				}
			}
			for _, res := range ci.RemainingResources {
				switch str(res.Name) {
				case "CPU":
					in.RemainingCPU = int64(res.IntegerValue)
				case "MEMORY":
					in.RemainingMemory = int64(res.IntegerValue)
				case "PORTS":
					for _, p := range res.StringSetValue {
						var n int32
						if _, err := fmt.Sscan(p, &n); err == nil {
							in.UsedPorts = append(in.UsedPorts, n)
						}
					}
				}
			}
			cl.Instances = append(cl.Instances, in)
		}
	}
	return cl, nil
}
