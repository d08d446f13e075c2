package plan

import (
	"fmt"
	"slices"
	"strings"
)

// preflight runs the checks that need no API call beyond what was observed:
// capacity for the rollout on EC2, the recreate invariant's precondition, and
// the iam:PassRole a new revision needs.
func preflight(s Service, ds DesiredService, os ObservedService, cl Cluster) []Finding {
	if !s.Changed() {
		return nil
	}
	var out []Finding
	if ds.Strategy == "recreate" && s.DesiredCount.New > 1 {
		out = append(out, Finding{Severity: Error, Check: "strategy",
			Message: fmt.Sprintf("recreate keeps at most one task running, but the desired count is %d", s.DesiredCount.New),
			Fix:     "use strategy rolling, or desiredCount: 1"})
	}
	if s.Action == Register || s.Action == Reuse {
		var roles []string
		for _, k := range []string{"taskRoleArn", "executionRoleArn"} {
			if r := ds.Fields[k]; r != "" && !slices.Contains(roles, r) {
				roles = append(roles, r)
			}
		}
		if len(roles) > 0 {
			out = append(out, Finding{Severity: Info, Check: "iam",
				Message: "registering and updating needs iam:PassRole on " + strings.Join(roles, ", ")})
		}
	}
	if f, ok := platform(ds, os, cl); ok {
		out = append(out, f)
	}
	if f, ok := capacity(s, ds, os, cl); ok {
		out = append(out, f)
	}
	return out
}

// platform checks that the images are built for the architecture the task
// runs on: ECS would otherwise start containers that exit with "exec format
// error", or fail to pull a manifest for the platform. The task's
// runtimePlatform decides; without one, a task on EC2 runs on whatever
// architecture its instance has, and on Fargate on x86_64.
func platform(ds DesiredService, os ObservedService, cl Cluster) (Finding, bool) {
	if len(ds.Platforms) == 0 {
		return Finding{}, false
	}
	archs := []string{"amd64"}
	switch pinned := ds.Fields["runtimePlatform.cpuArchitecture"]; {
	case strings.EqualFold(pinned, "ARM64"):
		archs = []string{"arm64"}
	case pinned == "" && os.LaunchType == "EC2" && len(cl.Instances) > 0:
		archs = nil
		for _, in := range cl.Instances {
			if a := goArch(in.Arch); !slices.Contains(archs, a) {
				archs = append(archs, a)
			}
		}
		slices.Sort(archs)
	}
	var missing []string
	for _, a := range archs {
		want := "linux/" + a
		if !slices.ContainsFunc(ds.Platforms, func(p string) bool { return p == want || strings.HasPrefix(p, want+"/") }) {
			missing = append(missing, want)
		}
	}
	switch {
	case len(missing) == 0:
		return Finding{}, false
	case len(missing) < len(archs):
		return Finding{Severity: Warning, Check: "image",
			Message: fmt.Sprintf("cluster %s has %s instances, but the images are built for %s only: tasks ECS places there fail to pull", cl.Name, strings.Join(missing, ", "), strings.Join(ds.Platforms, ", ")),
			Fix:     fmt.Sprintf("add %s to platforms: in pier.yaml, or pin runtimePlatform.cpuArchitecture in the task definition", strings.Join(missing, ", "))}, true
	}
	return Finding{Severity: Error, Check: "image",
		Message: fmt.Sprintf("the task runs on %s but its images are built for %s", strings.Join(missing, ", "), strings.Join(ds.Platforms, ", ")),
		Fix:     fmt.Sprintf("add %s to platforms: in pier.yaml, or set runtimePlatform.cpuArchitecture in the task definition", strings.Join(missing, ", "))}, true
}

// goArch turns ECS's ecs.cpu-architecture value into the image platform's
// architecture name (x86_64 or unknown → amd64).
func goArch(ecsArch string) string {
	if strings.EqualFold(ecsArch, "arm64") {
		return "arm64"
	}
	return "amd64"
}

// need is what one task of the desired definition reserves on an instance.
type need struct {
	cpu, mem int64
	ports    []int32 // static host ports
	arch     string  // amd64 or arm64 when runtimePlatform pins one
}

func taskNeed(f Fields) need {
	n := need{cpu: f.Int("cpu"), mem: f.Int("memory")}
	if a := f["runtimePlatform.cpuArchitecture"]; a != "" {
		n.arch = goArch(a)
	}
	var cpuSum, memSum int64
	for k := range f {
		if !strings.HasPrefix(k, "containerDefinitions[") {
			continue
		}
		switch {
		case strings.HasSuffix(k, "].cpu"):
			cpuSum += f.Int(k)
		case strings.HasSuffix(k, "].memory"):
			memSum += f.Int(k)
		case strings.HasSuffix(k, "].memoryReservation"):
			// memory, when present, is the hard limit that ECS reserves; the
			// reservation counts only for containers without one.
			if f[strings.TrimSuffix(k, "Reservation")] == "" {
				memSum += f.Int(k)
			}
		case strings.HasSuffix(k, ".hostPort"):
			if p := f.Int(k); p != 0 {
				n.ports = append(n.ports, int32(p))
			}
		case strings.HasSuffix(k, ".containerPort"):
			// In host and awsvpc modes the host port is the container port.
			if nm := f["networkMode"]; nm == "host" || nm == "awsvpc" {
				if p := f.Int(k); p != 0 && !slices.Contains(n.ports, int32(p)) {
					n.ports = append(n.ports, int32(p))
				}
			}
		}
	}
	if n.cpu == 0 {
		n.cpu = cpuSum
	}
	if n.mem == 0 {
		n.mem = memSum
	}
	slices.Sort(n.ports)
	n.ports = slices.Compact(n.ports)
	return n
}

// fits is how many tasks of n one instance can still take.
func fits(n need, in Instance) int64 {
	if n.arch != "" && in.Arch != "" && goArch(in.Arch) != n.arch {
		return 0
	}
	for _, p := range n.ports {
		if slices.Contains(in.UsedPorts, p) {
			return 0
		}
	}
	k := int64(1 << 30)
	if n.cpu > 0 {
		k = min(k, in.RemainingCPU/n.cpu)
	}
	if n.mem > 0 {
		k = min(k, in.RemainingMemory/n.mem)
	}
	if len(n.ports) > 0 {
		k = min(k, 1) // two tasks cannot share a static host port
	}
	return max(k, 0)
}

// capacity checks that a rolling update on EC2 can make progress: ECS starts
// new tasks while the running count stays under maximumPercent, and may stop
// old ones first only down to minimumHealthyPercent. If there is no room for
// one new task and no old task may be stopped first, the rollout stalls with
// "unable to place a task" until capacity appears.
func capacity(s Service, ds DesiredService, os ObservedService, cl Cluster) (Finding, bool) {
	if os.LaunchType != "EC2" || s.Strategy == "recreate" || s.DesiredCount.New == 0 {
		return Finding{}, false
	}
	n := taskNeed(ds.Fields)
	if len(cl.Instances) == 0 {
		return Finding{Severity: Warning, Check: "capacity",
			Message: fmt.Sprintf("cluster %q has no ACTIVE container instances: no task can be placed", s.Cluster),
			Fix:     "start container instances (check the auto scaling group) before deploying"}, true
	}
	if n.arch != "" && !slices.ContainsFunc(cl.Instances, func(in Instance) bool { return in.Arch == "" || goArch(in.Arch) == n.arch }) {
		return Finding{Severity: Warning, Check: "capacity",
			Message: fmt.Sprintf("no container instance of cluster %s has the CPU architecture the task pins (runtimePlatform.cpuArchitecture %s): ECS places none of its tasks", s.Cluster, ds.Fields["runtimePlatform.cpuArchitecture"]),
			Fix:     "pin runtimePlatform.cpuArchitecture to the architecture of the cluster's instances (and build the images for it: platforms: in pier.yaml), or add instances of the pinned one"}, true
	}
	desired := int64(s.DesiredCount.New)
	running := int64(os.RunningCount)
	maxTasks := desired * int64(s.Deployment.MaximumPercent) / 100
	minHealthy := (desired*int64(s.Deployment.MinimumHealthyPercent) + 99) / 100
	extra := maxTasks - running // new tasks ECS may start before stopping any
	stoppable := running - minHealthy

	var room int64
	closest := cl.Instances[0]
	for _, in := range cl.Instances {
		room += fits(n, in)
		if in.RemainingCPU > closest.RemainingCPU || (in.RemainingCPU == closest.RemainingCPU && in.RemainingMemory > closest.RemainingMemory) {
			closest = in
		}
	}
	switch {
	case extra >= 1 && room >= 1:
		if room < extra && extra > 1 {
			return Finding{Severity: Info, Check: "capacity",
				Message: fmt.Sprintf("room for %d of the %d extra tasks maximumPercent %d allows; ECS rolls out in smaller batches", room, extra, s.Deployment.MaximumPercent)}, true
		}
		return Finding{}, false
	case stoppable >= 1:
		return Finding{Severity: Info, Check: "capacity",
			Message: fmt.Sprintf("no room for an extra task; ECS stops up to %d old task(s) first (minimumHealthyPercent %d), so the service runs below %d tasks during the rollout", stoppable, s.Deployment.MinimumHealthyPercent, desired)}, true
	}
	msg := fmt.Sprintf("the rollout cannot place its first new task: the closest matching container instance %s has %d CPU units and %d MiB free, a task needs %d CPU units and %d MiB",
		closest.ID, closest.RemainingCPU, closest.RemainingMemory, n.cpu, n.mem)
	if fits(n, closest) > 0 {
		msg = fmt.Sprintf("the rollout cannot place its first new task: the task's host ports %v are taken on every instance", n.ports)
	}
	if extra < 1 {
		msg = fmt.Sprintf("maximumPercent %d lets ECS start no task beyond the %d running, and minimumHealthyPercent %d lets it stop none", s.Deployment.MaximumPercent, running, s.Deployment.MinimumHealthyPercent)
	}
	return Finding{Severity: Warning, Check: "capacity", Message: msg, Fix: capacityFix(desired, n)}, true
}

func capacityFix(desired int64, n need) string {
	if desired >= 2 {
		pct := (desired - 1) * 100 / desired
		return fmt.Sprintf("set the service's minimumHealthyPercent to %d (ECS then stops 1 of %d tasks first and places the new one in its room), or add an instance with %d CPU units and %d MiB free",
			pct, desired, n.cpu, n.mem)
	}
	return fmt.Sprintf("add an instance with %d CPU units and %d MiB free, or set minimumHealthyPercent to 0 (a short outage while the one task is replaced)", n.cpu, n.mem)
}

// SharedRoom is the check of a finding that says the service's first new
// task finds room only after other rollouts of the same run free some.
const SharedRoom = "capacity-shared"

// sharedRoom checks the rolling services of each EC2 cluster together: each
// may find room for its first new task alone, yet not all at once. ECS then
// places the others' only when old tasks stop, after the first rollouts'
// health checks and draining; deploy waits for that instead of calling the
// "unable to place" that ECS prints meanwhile a failure.
func sharedRoom(p *Plan, d Desired, o Observed) {
	byCluster := map[string][]int{}
	var clusters []string
	for i, s := range p.Services {
		if !s.Changed() || s.Strategy == "recreate" || s.LaunchType != "EC2" || s.DesiredCount.New == 0 || s.NoRoom() {
			continue
		}
		if byCluster[s.Cluster] == nil {
			clusters = append(clusters, s.Cluster)
		}
		byCluster[s.Cluster] = append(byCluster[s.Cluster], i)
	}
	for _, c := range clusters {
		idx := byCluster[c]
		if len(idx) < 2 {
			continue
		}
		free := slices.Clone(o.Clusters[c].Instances)
		var placed []string
		var left []int
		for _, i := range idx {
			if take(taskNeed(d.Services[i].Fields), free) {
				placed = append(placed, p.Services[i].Name)
			} else {
				left = append(left, i)
			}
		}
		for _, i := range left {
			n := taskNeed(d.Services[i].Fields)
			p.Services[i].Findings = append(p.Services[i].Findings, Finding{Severity: Warning, Check: SharedRoom,
				Message: fmt.Sprintf("cluster %s has room for the first new task of %s, but not for this one's as well: ECS places it when old tasks of those rollouts stop, and deploy waits for that",
					c, strings.Join(placed, ", ")),
				Fix: fmt.Sprintf("deploy the services one at a time, or add an instance with %d CPU units and %d MiB free", n.cpu, n.mem)})
		}
	}
}

// take reserves one task of n on the first instance with room for it.
func take(n need, instances []Instance) bool {
	for k := range instances {
		in := &instances[k]
		if fits(n, *in) == 0 {
			continue
		}
		in.RemainingCPU -= n.cpu
		in.RemainingMemory -= n.mem
		in.UsedPorts = append(slices.Clip(in.UsedPorts), n.ports...)
		return true
	}
	return false
}

// WaitsForOthers reports whether the service's first new task finds room
// only once other rollouts of the run free some (the SharedRoom finding).
func (s Service) WaitsForOthers() bool {
	for _, f := range s.Findings {
		if f.Check == SharedRoom {
			return true
		}
	}
	return false
}
