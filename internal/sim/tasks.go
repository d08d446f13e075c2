package sim

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// oomReason is ECS's reason for a container the kernel killed for
// exceeding its memory limit.
const oomReason = "OutOfMemoryError: Container killed due to memory usage"

// beginPull moves a task into its image pull.
func (w *World) beginPull(t *task, now time.Time) {
	t.lastStatus = statusPending
	t.pullStartedAt = now
	slow := time.Duration(0)
	for _, c := range t.containers {
		slow = max(slow, c.behavior.SlowStart)
	}
	t.next = now.Add(w.timing.Pull + slow)
}

// advanceTask moves one task along PROVISIONING → PENDING → RUNNING →
// (DEACTIVATING) → STOPPING → (DEPROVISIONING) → STOPPED.
func (w *World) advanceTask(t *task, now time.Time) {
	switch t.lastStatus {
	case statusProvisioning:
		if !now.Before(t.next) {
			t.connectivityAt = now
			w.beginPull(t, now)
			t.version++
		}
	case statusPending:
		if !now.Before(t.next) {
			w.startContainers(t, now)
		}
	case statusRunning:
		w.runTask(t, now)
	case statusDeactivating:
		if !now.Before(t.next) {
			t.lastStatus = statusStopping
			t.next = now.Add(w.stopDuration(t))
			t.version++
		}
	case statusStopping:
		if !now.Before(t.next) {
			if t.launchType == ecstypes.LaunchTypeFargate {
				// Fargate detaches the task's ENI after its containers exit.
				t.lastStatus = statusDeprovisioning
				t.execStoppedAt = now
				t.next = now.Add(w.timing.Deprovision)
				w.stopContainers(t)
				w.release(t, now)
				return
			}
			w.finish(t, now)
		}
	case statusDeprovisioning:
		if !now.Before(t.next) {
			w.finish(t, now)
		}
	}
	for _, tg := range t.targets {
		if tg.state == "draining" && !now.Before(tg.drainUntil) {
			w.targets.remove(tg.tgArn, tg.id, tg.port)
			tg.state = "unused"
		}
	}
}

// startContainers ends the pull: either a container's image cannot be
// pulled (the task stops with TaskFailedToStart) or every container starts.
func (w *World) startContainers(t *task, now time.Time) {
	t.pullStoppedAt = now
	for _, c := range t.containers {
		digest, ours, ok := w.registry.lookup(c.image)
		switch {
		case c.behavior.PullFailure:
			w.pullFailed(t, c, fmt.Sprintf("CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref %s: unexpected status from HEAD request: 403 Forbidden", c.image), now)
			return
		case ours && !ok:
			w.pullFailed(t, c, fmt.Sprintf("CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref %s: %s: not found", c.image, c.image), now)
			return
		case ok && !hasPlatform(w.registry.platforms(c.image), t.platform()):
			w.pullFailed(t, c, fmt.Sprintf("CannotPullContainerError: pull image manifest has been retried 7 time(s): image Manifest does not contain descriptor matching platform '%s'", t.platform()), now)
			return
		case ok:
			c.digest = digest
		default:
			c.digest = syntheticDigest(c.image)
		}
	}
	t.lastStatus = statusRunning
	t.startedAt = now
	t.version++
	for _, c := range t.containers {
		c.lastStatus = statusRunning
		c.runtimeID = w.nextID(32) + "-" + w.nextID(10)
		b := c.behavior
		// Any container can crash or be OOM-killed; only an essential one
		// takes the task down with it (containerExited).
		if b.Crash || b.OutOfMemory {
			after := b.CrashAfter
			if after <= 0 {
				after = 10 * time.Second
			}
			code, reason := b.ExitCode, ""
			if code == 0 {
				code = 1
			}
			if b.OutOfMemory {
				code, reason = 137, oomReason
			}
			w.scheduleCrash(t, c.name, code, reason, now.Add(after))
		}
		if c.hasHealthCheck {
			hc := t.healthCheckOf(c.name)
			if b.Unhealthy {
				t.unhealthyAt = now.Add(hc.startPeriod + hc.interval*time.Duration(hc.retries))
			} else {
				t.healthyAt = now.Add(max(hc.interval, 5*time.Second))
			}
		}
	}
	w.acquireMounts(t, now)
	w.registerTargets(t, now)
}

// platform is the os/arch the task runs on (its runtimePlatform, else x86_64 Linux).
func (t *task) platform() string {
	if t.arch() == "arm64" {
		return "linux/arm64"
	}
	return "linux/amd64"
}

// arch is the CPU architecture the task runs on, as ECS's
// ecs.cpu-architecture attribute names it: the task definition's
// runtimePlatform, else its container instance's.
func (t *task) arch() string {
	if rp := t.def.def.RuntimePlatform; rp != nil && rp.CpuArchitecture != "" {
		return map[bool]string{true: "arm64", false: "x86_64"}[rp.CpuArchitecture == ecstypes.CPUArchitectureArm64]
	}
	if t.instance != nil {
		if a := t.instance.attribute("ecs.cpu-architecture"); a != "" {
			return a
		}
	}
	return "x86_64"
}

// hasPlatform reports whether an image providing platforms runs on want;
// a single-platform image (nil) is assumed to.
func hasPlatform(platforms []string, want string) bool {
	if len(platforms) == 0 {
		return true
	}
	for _, p := range platforms {
		if p == want || strings.HasPrefix(p, want+"/") {
			return true
		}
	}
	return false
}

// scheduleCrash makes container name exit with code at instant at, for
// reason ("" for an ordinary process exit, which ECS gives no reason); of
// several exits scheduled for one container the earliest wins.
func (w *World) scheduleCrash(t *task, name string, code int32, reason string, at time.Time) {
	for _, c := range t.containers {
		if c.name != name || !c.exitAt.IsZero() && !at.Before(c.exitAt) {
			continue
		}
		c.exitAt, c.exitWith, c.exitReason = at, code, reason
	}
}

func syntheticDigest(image string) string {
	if _, d, ok := strings.Cut(image, "@"); ok {
		return d
	}
	var h uint64 = 1469598103934665603
	for i := 0; i < len(image); i++ {
		h = (h ^ uint64(image[i])) * 1099511628211
	}
	return fmt.Sprintf("sha256:%016x%016x%016x%016x", h, h*31, h*37, h*41)
}

func (w *World) pullFailed(t *task, c *container, reason string, now time.Time) {
	c.reason = reason
	for _, o := range t.containers {
		o.lastStatus = statusStopped
	}
	t.desiredStatus = statusStopped
	t.stopCode = ecstypes.TaskStopCodeTaskFailedToStart
	t.stoppedReason = reason
	t.stoppingAt = now
	w.finish(t, now)
	w.taskFailed(t, now, true)
}

// runTask checks a RUNNING task: crashes, container health checks, target
// health, and reports success to the scheduler.
func (w *World) runTask(t *task, now time.Time) {
	for _, c := range t.containers {
		if c.lastStatus == statusRunning && !c.exitAt.IsZero() && !now.Before(c.exitAt) {
			if w.containerExited(t, c, now) {
				return
			}
		}
	}
	if !t.healthyAt.IsZero() && !now.Before(t.healthyAt) {
		for _, c := range t.containers {
			if c.hasHealthCheck && !c.behavior.Unhealthy {
				c.health = ecstypes.HealthStatusHealthy
			}
		}
		t.healthyAt = time.Time{}
		t.health = aggregateHealth(t)
	}
	if !t.unhealthyAt.IsZero() && !now.Before(t.unhealthyAt) {
		for _, c := range t.containers {
			if c.hasHealthCheck && c.behavior.Unhealthy {
				c.health = ecstypes.HealthStatusUnhealthy
			}
		}
		t.unhealthyAt = time.Time{}
		t.health = aggregateHealth(t)
	}
	// The scheduler ignores failing checks during the service's grace period.
	if s := t.service; s != nil && t.health == ecstypes.HealthStatusUnhealthy && t.active() &&
		now.Sub(t.startedAt) >= time.Duration(aws.ToInt32(s.gracePeriod))*time.Second {
		w.event(s, now, fmt.Sprintf("(service %s) (task %s) failed container health checks.", s.name, t.id))
		w.taskFailed(t, now, true)
		w.stopTask(t, ecstypes.TaskStopCodeServiceSchedulerInitiated, "Task failed container health checks", now)
		return
	}
	if w.checkTargets(t, now) {
		return
	}
	if t.healthy() && t.deployment != nil && t.service != nil && t.deployment == t.service.primary() {
		w.taskSucceeded(t, now)
	}
}

func aggregateHealth(t *task) ecstypes.HealthStatus {
	h := ecstypes.HealthStatusUnknown
	for _, c := range t.containers {
		if !c.essential || !c.hasHealthCheck {
			continue
		}
		switch c.health {
		case ecstypes.HealthStatusUnhealthy:
			return ecstypes.HealthStatusUnhealthy
		case ecstypes.HealthStatusHealthy:
			h = ecstypes.HealthStatusHealthy
		default:
			return ecstypes.HealthStatusUnknown
		}
	}
	return h
}

// containerExited handles the scheduled exit of container ct: an essential
// one takes the task down (EssentialContainerExited), a non-essential one
// just stops and the task runs on. It reports whether the task stops.
func (w *World) containerExited(t *task, ct *container, now time.Time) bool {
	ct.lastStatus = statusStopped
	ct.exitCode = aws.Int32(ct.exitWith)
	ct.reason = ct.exitReason
	ct.exitAt = time.Time{}
	t.version++
	if !ct.essential {
		return false
	}
	if t.service != nil {
		w.taskFailed(t, now, true)
	}
	w.stopTask(t, ecstypes.TaskStopCodeEssentialContainerExited, "Essential container in task exited", now)
	return true
}

// stopTask starts stopping a task. Load-balanced RUNNING tasks deregister
// first and wait out the target group's deregistration delay (DEACTIVATING).
func (w *World) stopTask(t *task, code ecstypes.TaskStopCode, reason string, now time.Time) {
	if t.desiredStatus == statusStopped && t.lastStatus != statusRunning {
		return
	}
	first := t.desiredStatus != statusStopped
	t.desiredStatus = statusStopped
	if first {
		t.stopCode = code
		t.stoppedReason = reason
		t.stoppingAt = now
	}
	t.version++
	switch t.lastStatus {
	case statusProvisioning, statusPending:
		for _, c := range t.containers {
			c.lastStatus = statusStopped
		}
		w.finish(t, now)
	case statusRunning:
		exited := code == ecstypes.TaskStopCodeEssentialContainerExited
		var draining []*target
		for _, tg := range t.targets {
			if tg.state != "draining" && tg.state != "unused" && tg.state != "unregistered" {
				delay := w.targets.settings(tg.tgArn).deregistration
				tg.state = "draining"
				tg.drainUntil = now.Add(delay)
				w.targets.deregister(tg.tgArn, tg.id, tg.port)
				draining = append(draining, tg)
			}
		}
		if len(draining) > 0 && t.service != nil {
			b := &t.service.batch
			b.draining++
			for _, tg := range draining {
				b.add(&b.deregistered, tg.tgArn)
			}
		}
		if len(draining) > 0 && !exited {
			t.lastStatus = statusDeactivating
			t.next = draining[0].drainUntil
			return
		}
		t.lastStatus = statusStopping
		t.next = now.Add(w.stopDuration(t))
	}
}

// stopTimeout is how long the agent waits after SIGTERM before SIGKILL
// (the container's stopTimeout, else ECS's default of 30 s).
func (t *task) stopTimeout(name string) time.Duration {
	for _, cd := range t.def.def.ContainerDefinitions {
		if aws.ToString(cd.Name) == name && aws.ToInt32(cd.StopTimeout) > 0 {
			return time.Duration(*cd.StopTimeout) * time.Second
		}
	}
	return 30 * time.Second
}

// stopDuration is how long STOPPING lasts: until the slowest container has
// exited after SIGTERM, or been killed at its stop timeout.
func (w *World) stopDuration(t *task) time.Duration {
	d := w.timing.Stop
	for _, c := range t.containers {
		if c.lastStatus == statusRunning && c.behavior.SlowStop > 0 {
			d = max(d, min(c.behavior.SlowStop, t.stopTimeout(c.name)))
		}
	}
	return d
}

// stopContainers records how the containers still running exited.
func (w *World) stopContainers(t *task) {
	for _, c := range t.containers {
		if c.lastStatus == statusRunning {
			switch {
			case c.behavior.SlowStop > t.stopTimeout(c.name):
				c.exitCode = aws.Int32(137) // killed at the stop timeout
			case t.stopCode == ecstypes.TaskStopCodeEssentialContainerExited:
				c.exitCode = aws.Int32(143) // Docker stops the others with SIGTERM
			default:
				c.exitCode = aws.Int32(0)
			}
		}
		c.lastStatus = statusStopped
	}
}

// release frees what a task holds on its instance and its exclusive mounts.
func (w *World) release(t *task, now time.Time) {
	if t.instance != nil {
		delete(t.instance.tasks, t.id)
	}
	w.releaseMounts(t, now)
}

// finish marks a task STOPPED.
func (w *World) finish(t *task, now time.Time) {
	w.release(t, now)
	t.lastStatus = statusStopped
	t.desiredStatus = statusStopped
	t.stoppedAt = now
	if t.execStoppedAt.IsZero() {
		t.execStoppedAt = now
	}
	if t.stoppingAt.IsZero() {
		t.stoppingAt = now
	}
	t.version++
	w.stopContainers(t)
	for _, tg := range t.targets {
		if tg.state != "draining" && tg.state != "unused" {
			w.targets.remove(tg.tgArn, tg.id, tg.port)
			tg.state = "unused"
		}
	}
}
