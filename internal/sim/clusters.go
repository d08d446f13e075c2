package sim

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// lastPart returns what follows the last '/' (a name from a name or an ARN).
func lastPart(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// findCluster resolves a cluster name or ARN; empty means "default", as in ECS.
func (w *World) findCluster(ref *string) (*cluster, error) {
	name := "default"
	if ref != nil && *ref != "" {
		name = lastPart(*ref)
	}
	c, ok := w.clusters[name]
	if !ok || c.status != "ACTIVE" {
		return nil, errorf(errClusterNotFound, "Cluster not found.")
	}
	return c, nil
}

func (w *World) createCluster(name string) *cluster {
	if c, ok := w.clusters[name]; ok && c.status == "ACTIVE" {
		return c
	}
	c := &cluster{
		name:      name,
		arn:       w.arn("cluster/" + name),
		status:    "ACTIVE",
		createdAt: w.now(),
		services:  map[string]*service{},
		tasks:     map[string]*task{},
	}
	if _, seen := w.clusters[name]; !seen {
		w.clusterOrder = append(w.clusterOrder, name)
	}
	w.clusters[name] = c
	return c
}

func (w *World) clusterWire(c *cluster) ecstypes.Cluster {
	var pending, running int32
	for _, t := range c.taskList {
		switch t.lastStatus {
		case statusProvisioning, statusPending, statusActivating:
			pending++
		case statusRunning:
			running++
		}
	}
	var instances int32
	for _, i := range c.instances {
		if i.status != "INACTIVE" {
			instances++
		}
	}
	return ecstypes.Cluster{
		ClusterArn:                        aws.String(c.arn),
		ClusterName:                       aws.String(c.name),
		Status:                            aws.String(c.status),
		ActiveServicesCount:               c.activeServices(),
		PendingTasksCount:                 pending,
		RunningTasksCount:                 running,
		RegisteredContainerInstancesCount: instances,
		CapacityProviders:                 []string{"FARGATE", "FARGATE_SPOT"},
		Settings:                          []ecstypes.ClusterSetting{{Name: ecstypes.ClusterSettingNameContainerInsights, Value: aws.String("disabled")}},
		Tags:                              c.tags,
	}
}

func (w *World) opCreateCluster(in *ecs.CreateClusterInput) (*ecs.CreateClusterOutput, error) {
	name := aws.ToString(in.ClusterName)
	if name == "" {
		name = "default"
	}
	if !validName(name) {
		return nil, errorf(errInvalidParam, "Cluster name can only contain letters (uppercase and lowercase), numbers, hyphens, and underscores, up to 255 characters.")
	}
	c := w.createCluster(name)
	c.tags = in.Tags
	out := w.clusterWire(c)
	return &ecs.CreateClusterOutput{Cluster: &out}, nil
}

func (w *World) opDescribeClusters(in *ecs.DescribeClustersInput) (*ecs.DescribeClustersOutput, error) {
	refs := in.Clusters
	if len(refs) == 0 {
		refs = []string{"default"}
	}
	out := &ecs.DescribeClustersOutput{Clusters: []ecstypes.Cluster{}, Failures: []ecstypes.Failure{}}
	for _, ref := range refs {
		c, ok := w.clusters[lastPart(ref)]
		if !ok {
			out.Failures = append(out.Failures, ecstypes.Failure{Arn: aws.String(w.arn("cluster/" + lastPart(ref))), Reason: aws.String("MISSING")})
			continue
		}
		out.Clusters = append(out.Clusters, w.clusterWire(c))
	}
	return out, nil
}

func (w *World) opListClusters(in *ecs.ListClustersInput) (*ecs.ListClustersOutput, error) {
	var arns []string
	for _, n := range w.clusterOrder {
		if c := w.clusters[n]; c.status == "ACTIVE" {
			arns = append(arns, c.arn)
		}
	}
	page, next, err := paginate(arns, in.NextToken, in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	return &ecs.ListClustersOutput{ClusterArns: page, NextToken: next}, nil
}

func (w *World) opDeleteCluster(in *ecs.DeleteClusterInput) (*ecs.DeleteClusterOutput, error) {
	c, err := w.findCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if c.activeServices() > 0 {
		return nil, errorf("ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active.")
	}
	for _, i := range c.instances {
		if i.status != "INACTIVE" {
			return nil, errorf("ClusterContainsContainerInstancesException", "The Cluster cannot be deleted while Container Instances are active or draining.")
		}
	}
	c.status = "INACTIVE"
	out := w.clusterWire(c)
	return &ecs.DeleteClusterOutput{Cluster: &out}, nil
}

// addInstance registers an EC2 container instance with cpu units and memory MiB.
func (w *World) addInstance(c *cluster, ec2ID string, cpu, memory int32, attrs []ecstypes.Attribute) *instance {
	id := w.nextID(32)
	if ec2ID == "" {
		ec2ID = "i-0" + w.nextID(16)
	}
	azs := []string{"a", "b", "c"}
	az := w.region + azs[len(c.instances)%len(azs)]
	// The agent reports these attributes; callers' attributes win.
	std := []ecstypes.Attribute{
		{Name: aws.String("ecs.availability-zone"), Value: aws.String(az)},
		{Name: aws.String("ecs.cpu-architecture"), Value: aws.String("x86_64")},
		{Name: aws.String("ecs.os-type"), Value: aws.String("linux")},
		{Name: aws.String("ecs.os-family"), Value: aws.String("LINUX")},
		{Name: aws.String("ecs.instance-type"), Value: aws.String("m5.xlarge")},
		{Name: aws.String("com.amazonaws.ecs.capability.ecr-auth")},
		{Name: aws.String("com.amazonaws.ecs.capability.task-iam-role")},
		{Name: aws.String("ecs.capability.execution-role-ecr-pull")},
		{Name: aws.String("ecs.capability.container-health-check")},
		{Name: aws.String("ecs.capability.task-eni")},
		{Name: aws.String("ecs.capability.efsAuth")},
		{Name: aws.String("ecs.capability.efs")},
		{Name: aws.String("com.amazonaws.ecs.capability.docker-remote-api.1.18")},
	}
	for _, a := range attrs {
		std = setAttribute(std, a)
	}
	i := &instance{
		id:           id,
		arn:          w.arn("container-instance/" + c.name + "/" + id),
		ec2ID:        ec2ID,
		status:       "ACTIVE",
		cpu:          cpu,
		memory:       memory,
		reservedPort: []int32{22, 2375, 2376, 51678, 51679},
		registeredAt: w.now(),
		attributes:   std,
		az:           az,
		tasks:        map[string]*task{},
	}
	c.instances = append(c.instances, i)
	return i
}

// setAttribute replaces or adds an attribute by name.
func setAttribute(attrs []ecstypes.Attribute, a ecstypes.Attribute) []ecstypes.Attribute {
	for i := range attrs {
		if aws.ToString(attrs[i].Name) == aws.ToString(a.Name) {
			attrs[i] = a
			return attrs
		}
	}
	return append(attrs, a)
}

// attribute returns an instance attribute's value ("" when absent).
func (i *instance) attribute(name string) string {
	for _, a := range i.attributes {
		if aws.ToString(a.Name) == name {
			return aws.ToString(a.Value)
		}
	}
	return ""
}

func (w *World) instanceWire(i *instance) ecstypes.ContainerInstance {
	usedCPU, usedMem := i.usedCPU()
	var ports []string
	for _, p := range i.reservedPort {
		ports = append(ports, fmt.Sprint(p))
	}
	var running, pending int32
	for _, t := range i.tasks {
		if t.lastStatus == statusRunning {
			running++
		} else if t.lastStatus == statusPending {
			pending++
		}
	}
	for _, t := range i.tasks {
		for _, c := range t.containers {
			for _, b := range c.bindings {
				ports = append(ports, fmt.Sprint(aws.ToInt32(b.HostPort)))
			}
		}
	}
	resources := func(cpu, mem int32, ports []string) []ecstypes.Resource {
		return []ecstypes.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: cpu},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: mem},
			{Name: aws.String("PORTS"), Type: aws.String("STRINGSET"), StringSetValue: ports},
			{Name: aws.String("PORTS_UDP"), Type: aws.String("STRINGSET"), StringSetValue: []string{}},
		}
	}
	reserved := make([]string, 0, len(i.reservedPort))
	for _, p := range i.reservedPort {
		reserved = append(reserved, fmt.Sprint(p))
	}
	return ecstypes.ContainerInstance{
		ContainerInstanceArn: aws.String(i.arn),
		Ec2InstanceId:        aws.String(i.ec2ID),
		Status:               aws.String(i.status),
		AgentConnected:       i.status != "INACTIVE",
		RegisteredAt:         aws.Time(i.registeredAt),
		RegisteredResources:  resources(i.cpu, i.memory, reserved),
		RemainingResources:   resources(i.cpu-usedCPU, i.memory-usedMem, ports),
		RunningTasksCount:    running,
		PendingTasksCount:    pending,
		Attributes:           i.attributes,
		VersionInfo:          &ecstypes.VersionInfo{AgentVersion: aws.String("1.89.2"), DockerVersion: aws.String("DockerVersion: 25.0.8")},
		Version:              int64(len(i.tasks)) + 1,
	}
}

func (w *World) opRegisterContainerInstance(in *ecs.RegisterContainerInstanceInput) (*ecs.RegisterContainerInstanceOutput, error) {
	c, err := w.findCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	cpu, mem := int32(4096), int32(15742)
	for _, r := range in.TotalResources {
		switch aws.ToString(r.Name) {
		case "CPU":
			cpu = r.IntegerValue
		case "MEMORY":
			mem = r.IntegerValue
		}
	}
	var ec2ID string
	if doc := aws.ToString(in.InstanceIdentityDocument); doc != "" {
		var d struct {
			InstanceID string `json:"instanceId"`
		}
		if err := json.Unmarshal([]byte(doc), &d); err != nil {
			return nil, errorf(errClient, "instanceIdentityDocument is not valid JSON: %v", err)
		}
		ec2ID = d.InstanceID
	}
	for _, i := range c.instances {
		if ec2ID != "" && i.ec2ID == ec2ID && i.status == "ACTIVE" {
			out := w.instanceWire(i)
			return &ecs.RegisterContainerInstanceOutput{ContainerInstance: &out}, nil
		}
	}
	i := w.addInstance(c, ec2ID, cpu, mem, in.Attributes)
	out := w.instanceWire(i)
	return &ecs.RegisterContainerInstanceOutput{ContainerInstance: &out}, nil
}

func (w *World) findInstance(c *cluster, ref string) *instance {
	id := lastPart(ref)
	for _, i := range c.instances {
		if i.id == id || i.arn == ref {
			return i
		}
	}
	return nil
}

func (w *World) opDeregisterContainerInstance(in *ecs.DeregisterContainerInstanceInput) (*ecs.DeregisterContainerInstanceOutput, error) {
	c, err := w.findCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	i := w.findInstance(c, aws.ToString(in.ContainerInstance))
	// ACTIVE and DRAINING instances can go (draining one first is the
	// documented way to empty it); a deregistered one is gone.
	if i == nil || i.status == "INACTIVE" {
		return nil, errorf(errInvalidParam, "Container instance not found: %s", aws.ToString(in.ContainerInstance))
	}
	if len(i.tasks) > 0 && !aws.ToBool(in.Force) {
		return nil, errorf(errInvalidParam, "Found running tasks on the instance.")
	}
	i.status = "INACTIVE"
	out := w.instanceWire(i)
	return &ecs.DeregisterContainerInstanceOutput{ContainerInstance: &out}, nil
}

func (w *World) opUpdateContainerInstancesState(in *ecs.UpdateContainerInstancesStateInput) (*ecs.UpdateContainerInstancesStateOutput, error) {
	c, err := w.findCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if in.Status != ecstypes.ContainerInstanceStatusActive && in.Status != ecstypes.ContainerInstanceStatusDraining {
		return nil, errorf(errInvalidParam, "Container instances status can only be updated to ACTIVE or DRAINING.")
	}
	out := &ecs.UpdateContainerInstancesStateOutput{ContainerInstances: []ecstypes.ContainerInstance{}, Failures: []ecstypes.Failure{}}
	for _, ref := range in.ContainerInstances {
		i := w.findInstance(c, ref)
		if i == nil || i.status == "INACTIVE" {
			out.Failures = append(out.Failures, ecstypes.Failure{Arn: aws.String(ref), Reason: aws.String("MISSING")})
			continue
		}
		// Service tasks leave a DRAINING instance through the scheduler,
		// within the services' minimum healthy and maximum percent.
		i.status = string(in.Status)
		out.ContainerInstances = append(out.ContainerInstances, w.instanceWire(i))
	}
	return out, nil
}

func (w *World) opListContainerInstances(in *ecs.ListContainerInstancesInput) (*ecs.ListContainerInstancesOutput, error) {
	c, err := w.findCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	// Without a filter ECS lists every instance that is not INACTIVE.
	want := string(in.Status)
	var arns []string
	for _, i := range c.instances {
		if i.status == want || want == "" && i.status != "INACTIVE" {
			arns = append(arns, i.arn)
		}
	}
	page, next, err := paginate(arns, in.NextToken, in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	return &ecs.ListContainerInstancesOutput{ContainerInstanceArns: page, NextToken: next}, nil
}

func (w *World) opDescribeContainerInstances(in *ecs.DescribeContainerInstancesInput) (*ecs.DescribeContainerInstancesOutput, error) {
	c, err := w.findCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if len(in.ContainerInstances) == 0 {
		return nil, errorf(errInvalidParam, "Container instances cannot be empty.")
	}
	out := &ecs.DescribeContainerInstancesOutput{ContainerInstances: []ecstypes.ContainerInstance{}, Failures: []ecstypes.Failure{}}
	for _, ref := range in.ContainerInstances {
		i := w.findInstance(c, ref)
		if i == nil {
			out.Failures = append(out.Failures, ecstypes.Failure{Arn: aws.String(ref), Reason: aws.String("MISSING")})
			continue
		}
		out.ContainerInstances = append(out.ContainerInstances, w.instanceWire(i))
	}
	return out, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// paginate slices items by an opaque token (the next index) and page size.
func paginate(items []string, token *string, max *int32, def int) ([]string, *string, error) {
	start, end, next, err := pageBounds(len(items), token, max, def)
	if err != nil {
		return nil, nil, err
	}
	return append([]string{}, items[start:end]...), next, nil
}

// pageBounds returns the slice [start:end) of n items that a page covers and
// the token of the next page.
func pageBounds(n int, token *string, max *int32, def int) (start, end int, next *string, err error) {
	if t := aws.ToString(token); t != "" {
		if _, err := fmt.Sscanf(t, "p%d", &start); err != nil || start < 0 || start > n {
			return 0, 0, nil, errorf(errInvalidParam, "Invalid nextToken.")
		}
	}
	size := def
	if max != nil && *max > 0 {
		size = int(*max)
	}
	end = min(start+size, n)
	if end < n {
		next = aws.String(fmt.Sprintf("p%d", end))
	}
	return start, end, next, nil
}
