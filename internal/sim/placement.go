package sim

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// placementRequest is what a new task needs besides its definition.
type placementRequest struct {
	service    *service
	deployment *deployment
	launchType ecstypes.LaunchType
	network    *ecstypes.NetworkConfiguration
	startedBy  string
	group      string
}

// placementFailure says why an instance cannot take a task, in ECS's words
// (the event text) and as a RunTask failure reason.
type placementFailure struct {
	misses int
	text   string // "has insufficient CPU units available."
	reason string // "RESOURCE:CPU"
}

// fit checks one instance against a task's needs: CPU, memory, then ports.
func fit(i *instance, td *taskDef) placementFailure {
	var f placementFailure
	if missing := missingAttribute(i, td); missing != "" {
		f.misses++
		f.text, f.reason = "is missing an attribute required by your task.", "ATTRIBUTE"
	}
	cpu, mem := i.usedCPU()
	if i.cpu-cpu < td.cpu {
		f.misses++
		f.text, f.reason = "has insufficient CPU units available.", "RESOURCE:CPU"
	}
	if i.memory-mem < td.memory {
		f.misses++
		if f.text == "" {
			f.text, f.reason = "has insufficient memory available.", "RESOURCE:MEMORY"
		}
	}
	if free := dynamicPortCount - i.dynamicPortsUsed(); dynamicPortsNeeded(td) > free {
		f.misses++
		if f.text == "" {
			f.text, f.reason = "is already using a port required by your task.", "RESOURCE:PORTS"
		}
	}
	for _, p := range staticHostPorts(td) {
		if i.portInUse(p) {
			f.misses++
			if f.text == "" {
				f.text, f.reason = "is already using a port required by your task.", "RESOURCE:PORTS"
			}
			break
		}
	}
	return f
}

// The ephemeral range ECS picks dynamic host ports from.
const (
	dynamicPortLow   = 32768
	dynamicPortHigh  = 60999
	dynamicPortCount = dynamicPortHigh - dynamicPortLow + 1
)

// dynamicPortsNeeded counts the bridge port mappings with hostPort 0.
func dynamicPortsNeeded(td *taskDef) int {
	if td.def.NetworkMode != ecstypes.NetworkModeBridge && td.def.NetworkMode != "" {
		return 0
	}
	n := 0
	for _, c := range td.def.ContainerDefinitions {
		for _, pm := range c.PortMappings {
			if aws.ToInt32(pm.HostPort) == 0 {
				n++
			}
		}
	}
	return n
}

// missingAttribute names an attribute the task needs and the instance lacks:
// its requiresAttributes, and its runtime platform's CPU architecture.
func missingAttribute(i *instance, td *taskDef) string {
	if rp := td.def.RuntimePlatform; rp != nil && rp.CpuArchitecture != "" {
		want := map[ecstypes.CPUArchitecture]string{ecstypes.CPUArchitectureX8664: "x86_64", ecstypes.CPUArchitectureArm64: "arm64"}[rp.CpuArchitecture]
		if got := i.attribute("ecs.cpu-architecture"); want != "" && got != "" && got != want {
			return "ecs.cpu-architecture"
		}
	}
	for _, a := range td.def.RequiresAttributes {
		found := false
		for _, have := range i.attributes {
			if aws.ToString(have.Name) == aws.ToString(a.Name) {
				found = true
			}
		}
		if !found {
			return aws.ToString(a.Name)
		}
	}
	return ""
}

// staticHostPorts are the fixed host ports a task needs on its instance.
func staticHostPorts(td *taskDef) []int32 {
	var ports []int32
	for _, c := range td.def.ContainerDefinitions {
		for _, pm := range c.PortMappings {
			switch td.def.NetworkMode {
			case ecstypes.NetworkModeHost:
				ports = append(ports, aws.ToInt32(pm.ContainerPort))
			case ecstypes.NetworkModeBridge, "":
				if hp := aws.ToInt32(pm.HostPort); hp != 0 {
					ports = append(ports, hp)
				}
			}
		}
	}
	return ports
}

// placeTask creates a task if there is room for it. On failure it returns nil
// and the tail of ECS's placement event (" because ... requirements. The
// closest matching (container-instance ID) has insufficient CPU units available.").
func (w *World) placeTask(c *cluster, td *taskDef, req placementRequest, now time.Time) (*task, string) {
	t, why, _ := w.tryPlace(c, td, req, now)
	return t, why
}

func (w *World) tryPlace(c *cluster, td *taskDef, req placementRequest, now time.Time) (*task, string, string) {
	if req.launchType == ecstypes.LaunchTypeFargate {
		if w.faults.NoCapacity {
			return nil, ". Reason: Capacity is unavailable at this time. Please try again later or in a different availability zone.", "Capacity is unavailable at this time. Please try again later or in a different availability zone"
		}
		return w.newTask(c, td, nil, req, now), "", ""
	}
	var candidates []*instance
	for _, i := range c.instances {
		if i.status == "ACTIVE" {
			candidates = append(candidates, i)
		}
	}
	if len(candidates) == 0 {
		return nil, " because no container instance met all of its requirements. Reason: No Container Instances were found in your cluster.", "No Container Instances were found in your cluster."
	}
	var fits []*instance
	var closest *instance
	var closestF placementFailure
	for _, i := range candidates {
		f := fit(i, td)
		if f.misses == 0 && !w.faults.NoCapacity {
			fits = append(fits, i)
			continue
		}
		if f.misses == 0 {
			f = placementFailure{misses: 1, text: "has insufficient CPU units available.", reason: "RESOURCE:CPU"}
		}
		if closest == nil || f.misses < closestF.misses {
			closest, closestF = i, f
		}
	}
	if len(fits) == 0 {
		return nil, fmt.Sprintf(" because no container instance met all of its requirements. The closest matching (container-instance %s) %s", closest.id, closestF.text), closestF.reason
	}
	// Spread the service's tasks across instances, then prefer the instance
	// with the most CPU left (ECS's default AZ-spread for services is close).
	sort.SliceStable(fits, func(a, b int) bool {
		na, nb := sameGroup(fits[a], req), sameGroup(fits[b], req)
		if na != nb {
			return na < nb
		}
		ca, _ := fits[a].usedCPU()
		cb, _ := fits[b].usedCPU()
		return fits[a].cpu-ca > fits[b].cpu-cb
	})
	return w.newTask(c, td, fits[0], req, now), "", ""
}

func sameGroup(i *instance, req placementRequest) int {
	n := 0
	for _, t := range i.tasks {
		if req.service != nil && t.service == req.service {
			n++
		}
	}
	return n
}

// dynamicPort picks a free host port in ECS's ephemeral range.
func (w *World) dynamicPort(i *instance) int32 {
	// Random picks first, like the agent; a linear scan when the range is
	// nearly full (fit made sure a port is free).
	for range 64 {
		p := int32(dynamicPortLow + w.rng.IntN(dynamicPortCount))
		if !i.portInUse(p) {
			return p
		}
	}
	for p := int32(dynamicPortLow); p <= dynamicPortHigh; p++ {
		if !i.portInUse(p) {
			return p
		}
	}
	return 0
}

// newTask creates a task in its first state, reserving resources and host ports.
func (w *World) newTask(c *cluster, td *taskDef, inst *instance, req placementRequest, now time.Time) *task {
	id := w.nextID(32)
	t := &task{
		id:            id,
		arn:           w.arn("task/" + c.name + "/" + id),
		cluster:       c,
		service:       req.service,
		deployment:    req.deployment,
		def:           td,
		instance:      inst,
		launchType:    req.launchType,
		cpu:           td.cpu,
		memory:        td.memory,
		desiredStatus: statusRunning,
		createdAt:     now,
		health:        ecstypes.HealthStatusUnknown,
		startedBy:     req.startedBy,
		group:         req.group,
		version:       1,
	}
	if req.service != nil {
		t.group = "service:" + req.service.name
		t.startedBy = req.deployment.id
	} else if t.group == "" {
		t.group = "family:" + aws.ToString(td.def.Family)
	}
	if inst != nil {
		t.az = inst.az
	} else {
		t.az = w.region + []string{"a", "b", "c"}[w.rng.IntN(3)]
	}
	if td.def.NetworkMode == ecstypes.NetworkModeAwsvpc {
		t.eniIP = fmt.Sprintf("10.0.%d.%d", w.rng.IntN(64), 2+w.rng.IntN(250))
		if n := req.network; n != nil && n.AwsvpcConfiguration != nil && len(n.AwsvpcConfiguration.Subnets) > 0 {
			subnets := n.AwsvpcConfiguration.Subnets
			t.subnet = subnets[int(id[0])%len(subnets)]
		}
	}
	for _, cd := range td.def.ContainerDefinitions {
		name := aws.ToString(cd.Name)
		ct := &container{
			name:           name,
			arn:            w.arn("container/" + c.name + "/" + id + "/" + w.nextID(8) + "-" + w.nextID(4) + "-" + w.nextID(4) + "-" + w.nextID(4) + "-" + w.nextID(12)),
			image:          aws.ToString(cd.Image),
			essential:      aws.ToBool(cd.Essential),
			lastStatus:     statusPending,
			cpu:            cd.Cpu,
			memory:         cd.Memory,
			memoryRes:      cd.MemoryReservation,
			hasHealthCheck: cd.HealthCheck != nil,
			health:         ecstypes.HealthStatusUnknown,
			behavior:       w.behaviorFor(aws.ToString(cd.Image)),
		}
		for _, pm := range cd.PortMappings {
			b := ecstypes.NetworkBinding{ContainerPort: pm.ContainerPort, Protocol: pm.Protocol, BindIP: aws.String("0.0.0.0")}
			switch td.def.NetworkMode {
			case ecstypes.NetworkModeAwsvpc:
				continue // awsvpc tasks report their ENI address instead of bindings
			case ecstypes.NetworkModeHost:
				b.HostPort = pm.ContainerPort
			default:
				if hp := aws.ToInt32(pm.HostPort); hp != 0 {
					b.HostPort = aws.Int32(hp)
				} else {
					b.HostPort = aws.Int32(w.dynamicPort(inst))
				}
			}
			ct.bindings = append(ct.bindings, b)
		}
		t.containers = append(t.containers, ct)
	}
	if inst != nil {
		inst.tasks[id] = t
	}
	if req.launchType == ecstypes.LaunchTypeFargate || td.def.NetworkMode == ecstypes.NetworkModeAwsvpc {
		t.lastStatus = statusProvisioning
		t.next = now.Add(w.timing.Provision)
	} else {
		// The instance's agent holds the task from the start: no ENI to
		// attach, so it is connected at once.
		t.connectivityAt = now
		t.lastStatus = statusPending
		w.beginPull(t, now)
	}
	c.tasks[id] = t
	c.taskList = append(c.taskList, t)
	if req.deployment != nil {
		req.deployment.tasks[id] = t
	}
	return t
}

// linkedTo returns the container that name resolves to through links ("name" or "name:alias").
func linkedTo(t *task, link string) *container {
	name, _, _ := strings.Cut(link, ":")
	for _, c := range t.containers {
		if c.name == name {
			return c
		}
	}
	return nil
}
