package sim

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func (w *World) findService(c *cluster, ref string) (*service, error) {
	s, ok := c.services[lastPart(ref)]
	if !ok || s.status == "INACTIVE" {
		return nil, errorf(errServiceNotFound, "Service not found.")
	}
	return s, nil
}

// findAnyService finds the service ref in the cluster cref, an INACTIVE (deleted)
// one included: UpdateService and ListServiceDeployments answer for those in their
// own words, where findService says it does not exist.
func (w *World) findAnyService(cref, ref *string) (*cluster, *service, error) {
	c, err := w.findCluster(cref)
	if err != nil {
		return nil, nil, err
	}
	s, ok := c.services[lastPart(aws.ToString(ref))]
	if !ok {
		return nil, nil, errorf(errServiceNotFound, "Service not found.")
	}
	return c, s, nil
}

// activeTaskDef resolves the task definition a service is to run; ECS
// refuses an unknown one and a deregistered one with different words.
func (w *World) activeTaskDef(ref string) (*taskDef, error) {
	td, err := w.findTaskDef(ref)
	if err != nil {
		return nil, errorf(errClient, "TaskDefinition not found.")
	}
	if td.def.Status != ecstypes.TaskDefinitionStatusActive {
		return nil, errorf(errClient, "TaskDefinition is inactive")
	}
	return td, nil
}

// defaultDeploymentConfig fills what ECS fills when a field is left out.
func defaultDeploymentConfig(in *ecstypes.DeploymentConfiguration) ecstypes.DeploymentConfiguration {
	out := ecstypes.DeploymentConfiguration{
		MaximumPercent:           aws.Int32(200),
		MinimumHealthyPercent:    aws.Int32(100),
		DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{},
		Strategy:                 ecstypes.DeploymentStrategyRolling,
	}
	if in == nil {
		return out
	}
	if in.MaximumPercent != nil {
		out.MaximumPercent = aws.Int32(*in.MaximumPercent)
	}
	if in.MinimumHealthyPercent != nil {
		out.MinimumHealthyPercent = aws.Int32(*in.MinimumHealthyPercent)
	}
	if in.DeploymentCircuitBreaker != nil {
		cb := *in.DeploymentCircuitBreaker
		out.DeploymentCircuitBreaker = &cb
	}
	if in.Alarms != nil {
		out.Alarms = in.Alarms
	}
	return out
}

// validateDeploymentConfig applies ECS's rules on the two percentages.
func validateDeploymentConfig(dc ecstypes.DeploymentConfiguration) error {
	maxP, minP := aws.ToInt32(dc.MaximumPercent), aws.ToInt32(dc.MinimumHealthyPercent)
	if minP < 0 || minP > 100 {
		return errorf(errInvalidParam, "minimumHealthyPercent must be between 0 and 100.")
	}
	if maxP < 100 || maxP > 200 {
		return errorf(errInvalidParam, "maximumPercent must be between 100 and 200.")
	}
	return nil
}

// checkLoadBalancers verifies the target groups exist and the container
// serves the port, as CreateService does.
func (w *World) checkLoadBalancers(lbs []ecstypes.LoadBalancer, td *taskDef) error {
	for _, lb := range lbs {
		tg := aws.ToString(lb.TargetGroupArn)
		if tg == "" {
			return errorf(errInvalidParam, "Load balancer name or target group ARN must be specified.")
		}
		if !w.targets.exists(tg) {
			return errorf(errInvalidParam, "The target group with targetGroupArn %s does not exist.", tg)
		}
		if !w.targets.attached(tg) {
			return errorf(errInvalidParam, "The target group with targetGroupArn %s does not have an associated load balancer.", tg)
		}
		name, port := aws.ToString(lb.ContainerName), aws.ToInt32(lb.ContainerPort)
		found := false
		for _, c := range td.def.ContainerDefinitions {
			if aws.ToString(c.Name) != name {
				continue
			}
			for _, pm := range c.PortMappings {
				if aws.ToInt32(pm.ContainerPort) == port {
					found = true
				}
			}
			if !found {
				return errorf(errInvalidParam, "The container %s did not have a container port %d defined.", name, port)
			}
		}
		if !found {
			return errorf(errInvalidParam, "The container %s does not exist in the task definition.", name)
		}
	}
	return nil
}

func launchTypeOf(lt ecstypes.LaunchType, cps []ecstypes.CapacityProviderStrategyItem) ecstypes.LaunchType {
	if lt != "" {
		return lt
	}
	for _, c := range cps {
		if p := aws.ToString(c.CapacityProvider); p == "FARGATE" || p == "FARGATE_SPOT" {
			return ecstypes.LaunchTypeFargate
		}
	}
	return ecstypes.LaunchTypeEc2
}

// checkPlacementInputs applies ECS's launch-type and network checks.
func checkPlacementInputs(lt ecstypes.LaunchType, td *taskDef, net *ecstypes.NetworkConfiguration) error {
	if lt == ecstypes.LaunchTypeFargate {
		ok := false
		for _, c := range td.def.Compatibilities {
			if c == ecstypes.CompatibilityFargate {
				ok = true
			}
		}
		if !ok {
			return errorf(errInvalidParam, "Task definition does not support launch_type FARGATE.")
		}
	}
	if td.def.NetworkMode == ecstypes.NetworkModeAwsvpc && (net == nil || net.AwsvpcConfiguration == nil || len(net.AwsvpcConfiguration.Subnets) == 0) {
		return errorf(errInvalidParam, "Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	}
	return nil
}

func (w *World) opCreateService(in *ecs.CreateServiceInput) (*ecs.CreateServiceOutput, error) {
	c, err := w.findCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	name := aws.ToString(in.ServiceName)
	if !validName(name) {
		return nil, errorf(errInvalidParam, "Service name can only contain letters (uppercase and lowercase), numbers, hyphens, and underscores, up to 255 characters.")
	}
	if d := aws.ToInt32(in.DesiredCount); d < 0 || d > maxDesired {
		return nil, errorf(errInvalidParam, "desiredCount must be between 0 and %d (the tasks-per-service quota).", maxDesired)
	}
	if s, ok := c.services[name]; ok && s.status != "INACTIVE" {
		return nil, errorf(errInvalidParam, "Creation of service was not idempotent.")
	}
	if in.TaskDefinition == nil {
		return nil, errorf(errInvalidParam, "TaskDefinition must be specified.")
	}
	td, err := w.activeTaskDef(*in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	if in.DeploymentController != nil && in.DeploymentController.Type != "" && in.DeploymentController.Type != ecstypes.DeploymentControllerTypeEcs {
		return nil, errorf(errInvalidParam, "The simulator supports only the ECS deployment controller, not %s.", in.DeploymentController.Type)
	}
	dc := defaultDeploymentConfig(in.DeploymentConfiguration)
	if err := validateDeploymentConfig(dc); err != nil {
		return nil, err
	}
	lt := launchTypeOf(in.LaunchType, in.CapacityProviderStrategy)
	if err := checkPlacementInputs(lt, td, in.NetworkConfiguration); err != nil {
		return nil, err
	}
	if err := w.checkLoadBalancers(in.LoadBalancers, td); err != nil {
		return nil, err
	}
	s := &service{
		name:          name,
		arn:           w.arn("service/" + c.name + "/" + name),
		cluster:       c,
		status:        "ACTIVE",
		desired:       aws.ToInt32(in.DesiredCount),
		taskDef:       td.arn(),
		launchType:    lt,
		config:        dc,
		loadBalancers: in.LoadBalancers,
		network:       in.NetworkConfiguration,
		gracePeriod:   in.HealthCheckGracePeriodSeconds,
		createdAt:     w.now(),
		tags:          in.Tags,
		enableExec:    in.EnableExecuteCommand,
		propagateTags: in.PropagateTags,
	}
	if _, seen := c.services[name]; !seen {
		c.serviceOrder = append(c.serviceOrder, name)
	}
	c.services[name] = s
	w.newDeployment(s, td.arn(), false)
	out := w.serviceWire(s, false)
	return &ecs.CreateServiceOutput{Service: &out}, nil
}

// newDeployment makes a new PRIMARY deployment for the service's current
// settings; the previous PRIMARY becomes ACTIVE and is scaled in by the scheduler.
func (w *World) newDeployment(s *service, tdArn string, rollback bool) *deployment {
	now := w.now()
	id := w.nextDeploymentID()
	d := &deployment{
		id:            id,
		arn:           w.arn(fmt.Sprintf("service-deployment/%s/%s/%s", s.cluster.name, s.name, w.nextID(22))),
		revisionArn:   w.arn(fmt.Sprintf("service-revision/%s/%s/%d", s.cluster.name, s.name, w.seq)),
		status:        "PRIMARY",
		taskDef:       tdArn,
		desired:       s.desired,
		createdAt:     now,
		updatedAt:     now,
		rollout:       ecstypes.DeploymentRolloutStateInProgress,
		rolloutReason: fmt.Sprintf("ECS deployment %s in progress.", id),
		launchType:    s.launchType,
		network:       s.network,
		config:        s.config,
		loadBalancers: s.loadBalancers,
		sdStatus:      ecstypes.ServiceDeploymentStatusInProgress,
		rolledBack:    rollback,
		tasks:         map[string]*task{},
	}
	if rollback {
		d.sdStatus = ecstypes.ServiceDeploymentStatusRollbackInProgress
	}
	for _, old := range s.deployments {
		old.status = "ACTIVE"
		old.updatedAt = now
		d.source = append(d.source, old)
		if old.sdStatus == ecstypes.ServiceDeploymentStatusInProgress || old.sdStatus == ecstypes.ServiceDeploymentStatusPending {
			old.sdStatus = ecstypes.ServiceDeploymentStatusStopped
			old.sdReason = fmt.Sprintf("Service deployment %s was superseded by %s.", old.id, id)
			old.finishedAt = now
		}
	}
	s.deployments = append([]*deployment{d}, s.deployments...)
	s.history = append(s.history, d)
	s.consecutiveFailures = 0
	s.nextLaunch = time.Time{}
	return d
}

func (w *World) opUpdateService(in *ecs.UpdateServiceInput) (*ecs.UpdateServiceOutput, error) {
	_, s, err := w.findAnyService(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	if s.status != "ACTIVE" {
		return nil, errorf(errServiceInactive, "Service was not ACTIVE.")
	}
	tdArn := s.taskDef
	td, _ := w.findTaskDef(tdArn)
	if in.TaskDefinition != nil {
		if td, err = w.activeTaskDef(*in.TaskDefinition); err != nil {
			return nil, err
		}
		tdArn = td.arn()
	}
	dc := s.config
	if in.DeploymentConfiguration != nil {
		merged := *in.DeploymentConfiguration
		if merged.MaximumPercent == nil {
			merged.MaximumPercent = dc.MaximumPercent
		}
		if merged.MinimumHealthyPercent == nil {
			merged.MinimumHealthyPercent = dc.MinimumHealthyPercent
		}
		if merged.DeploymentCircuitBreaker == nil {
			merged.DeploymentCircuitBreaker = dc.DeploymentCircuitBreaker
		}
		dc = defaultDeploymentConfig(&merged)
		if err := validateDeploymentConfig(dc); err != nil {
			return nil, err
		}
	}
	network := s.network
	if in.NetworkConfiguration != nil {
		network = in.NetworkConfiguration
	}
	lbs := s.loadBalancers
	if in.LoadBalancers != nil {
		lbs = in.LoadBalancers
	}
	if err := checkPlacementInputs(s.launchType, td, network); err != nil {
		return nil, err
	}
	if err := w.checkLoadBalancers(lbs, td); err != nil {
		return nil, err
	}
	redeploy := tdArn != s.taskDef || in.ForceNewDeployment || in.NetworkConfiguration != nil || in.LoadBalancers != nil
	s.taskDef = tdArn
	s.config = dc
	s.network = network
	s.loadBalancers = lbs
	if in.HealthCheckGracePeriodSeconds != nil {
		s.gracePeriod = in.HealthCheckGracePeriodSeconds
	}
	if in.EnableExecuteCommand != nil {
		s.enableExec = *in.EnableExecuteCommand
	}
	if in.DesiredCount != nil {
		if d := *in.DesiredCount; d < 0 || d > maxDesired {
			return nil, errorf(errInvalidParam, "desiredCount must be between 0 and %d (the tasks-per-service quota).", maxDesired)
		}
		s.desired = *in.DesiredCount
	}
	if redeploy {
		w.newDeployment(s, tdArn, false)
	} else if p := s.primary(); p != nil {
		p.config = dc
		// A scale change is not a deployment: the primary keeps its rollout
		// state and works towards the new count.
		if p.desired != s.desired {
			p.desired = s.desired
			p.updatedAt = w.now()
		}
	}
	out := w.serviceWire(s, false)
	return &ecs.UpdateServiceOutput{Service: &out}, nil
}

func (w *World) opDeleteService(in *ecs.DeleteServiceInput) (*ecs.DeleteServiceOutput, error) {
	c, err := w.findCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	s, err := w.findService(c, aws.ToString(in.Service))
	if err != nil {
		return nil, err
	}
	if s.desired > 0 && !aws.ToBool(in.Force) {
		return nil, errorf(errInvalidParam, "The service cannot be stopped while it is scaled above 0.")
	}
	s.status = "DRAINING"
	s.desired = 0
	s.deletedAt = w.now()
	for _, d := range s.deployments {
		d.desired = 0
	}
	out := w.serviceWire(s, false)
	return &ecs.DeleteServiceOutput{Service: &out}, nil
}

// pruneInactiveServices turns drained services INACTIVE.
func (w *World) pruneInactiveServices(now time.Time) {
	for _, c := range w.clusters {
		for _, s := range c.services {
			if s.status != "DRAINING" {
				continue
			}
			live := false
			for _, d := range s.deployments {
				if countTasks(d, func(t *task) bool { return t.lastStatus != statusStopped }) > 0 {
					live = true
				}
			}
			if !live {
				s.status = "INACTIVE"
			}
		}
	}
}

func (w *World) opDescribeServices(in *ecs.DescribeServicesInput) (*ecs.DescribeServicesOutput, error) {
	c, err := w.findCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if len(in.Services) == 0 {
		return nil, errorf(errInvalidParam, "Services cannot be empty.")
	}
	if len(in.Services) > 10 {
		return nil, errorf(errInvalidParam, "The number of services requested exceeds the maximum of 10.")
	}
	tags := false
	for _, f := range in.Include {
		tags = tags || f == ecstypes.ServiceFieldTags
	}
	out := &ecs.DescribeServicesOutput{Services: []ecstypes.Service{}, Failures: []ecstypes.Failure{}}
	for _, ref := range in.Services {
		s, ok := c.services[lastPart(ref)]
		if !ok {
			out.Failures = append(out.Failures, ecstypes.Failure{Arn: aws.String(w.arn("service/" + c.name + "/" + lastPart(ref))), Reason: aws.String("MISSING")})
			continue
		}
		out.Services = append(out.Services, w.serviceWire(s, tags))
	}
	return out, nil
}

func (w *World) opListServices(in *ecs.ListServicesInput) (*ecs.ListServicesOutput, error) {
	c, err := w.findCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	var arns []string
	for _, n := range c.serviceOrder {
		s := c.services[n]
		if s.status == "INACTIVE" || (in.LaunchType != "" && s.launchType != in.LaunchType) {
			continue
		}
		arns = append(arns, s.arn)
	}
	page, next, err := paginate(arns, in.NextToken, in.MaxResults, 10)
	if err != nil {
		return nil, err
	}
	return &ecs.ListServicesOutput{ServiceArns: page, NextToken: next}, nil
}
