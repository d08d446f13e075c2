// Package sim is an in-process simulator of the AWS services pier talks to:
// ECS (this package), ECR with its OCI registry (package sim/ecr) and ELBv2
// (package sim/elbv2), served over their real wire protocols on one loopback
// port, so the ordinary aws-sdk-go-v2 clients (or Debian's aws CLI) run
// against it with only the endpoint changed. Replies are encoded by the
// SDK's own schema codec, so the wire matches what the SDK expects.
//
// # Starting a world
//
//	w := sim.New(sim.WithSeed(1))       // empty: no clusters
//	srv, err := w.Start(ctx)            // 127.0.0.1:0; w.Listen(ctx, addr) for another address
//	cfg := srv.AWSConfig()              // static credentials, BaseEndpoint, region, plain HTTP
//	ecsClient := ecs.NewFromConfig(cfg) // ecr and elasticloadbalancingv2 clients alike
//
// The simulator knows nothing of pier: package sandbox builds the world of a
// pier.yaml with the seeding calls of seed.go (RegisterTaskDefinition,
// CreateCluster, AddContainerInstance, CreateService, …). A world file
// (LoadWorldFile, WithWorldFile) overrides instances, services, per-image
// behaviour, faults and speed.
//
// # Time
//
// Virtual time only moves when someone moves it: w.Clock().Advance(d) steps
// every ECS state machine due within d before it returns; Clock().Sleep(ctx,
// d) advances the clock itself when nothing drives it, or waits when
// srv.Drive(ctx, speed) runs it faster than real time (pier sandbox).
//
// # Faults and behaviour
//
// WithFaults / SetFaults: ThrottlingException and 5xx at a seeded rate, per
// operation, and no capacity. WithImageBehavior / SetImageBehavior: images
// that crash (exit code, after a delay), fail health checks, start slowly or
// cannot be pulled. WithExclusiveMounts: Nexus-like EFS mounts.
//
// # Reading what happened
//
// w.Calls() counts API calls by "ecs.Op", "ecr.Op", "elbv2.Op" (faulted ones
// included) and registry requests by "registry.<ECR IAM action>"; w.MountHolders and w.MaxMountHolders report the exclusive-mount
// recorder; w.MaxLiveTasks(cluster, service) the most tasks of a service
// starting or running at once; w.Events(cluster, service) its event messages;
// w.ECR() and w.ELBv2() the edge services (registry counters, target states).
// srv.HTTPClient() answers the world's health-check URLs, and
// srv.RegistryTransport() serves public base images from the registry's
// stand-ins (there is no internet in the sandbox).
package sim

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/pier-deploy/pier/internal/sim/clock"
	"github.com/pier-deploy/pier/internal/sim/ecr"
	"github.com/pier-deploy/pier/internal/sim/elbv2"
)

// World is the simulated AWS account: ECS clusters, services and tasks, plus
// the ECR and ELBv2 services mounted beside them. Its methods are safe for
// concurrent use.
type World struct {
	mu    sync.Mutex
	clock *clock.Clock
	rng   *rand.Rand

	account, region string
	tick            time.Duration

	clusters     map[string]*cluster
	clusterOrder []string
	families     map[string]*family
	familyOrder  []string

	calls     map[string]int
	faults    Faults
	faultRNG  *rand.Rand
	images    []imageRule
	exclusive bool
	mounts    map[string]*mountState
	seq       int64
	timing    Timing
	targets   targetModel
	registry  imageStore
	ecr       *ecr.Service
	elb       *elbv2.Service
	ticker    *clock.Timer
	health    map[string]healthURL // host:port → service
	worldFile *WorldFile
	requests  uint64
	foreign   []*foreignState
}

// New returns an empty world (no clusters) with a virtual clock at clock.Epoch.
func New(opts ...Option) *World {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	w := &World{
		clock:     clock.New(o.start),
		rng:       rand.New(rand.NewPCG(o.seed, 0x5eed)),
		faultRNG:  rand.New(rand.NewPCG(o.seed, 0xfa17)),
		account:   o.account,
		region:    o.region,
		tick:      o.tick,
		clusters:  map[string]*cluster{},
		families:  map[string]*family{},
		calls:     map[string]int{},
		faults:    o.faults,
		images:    o.images,
		exclusive: o.exclusive,
		mounts:    map[string]*mountState{},
		timing:    o.timing,
		seq:       3_141_592_653_589_793_238 + int64(o.seed%1000)*1_000_000_007,
	}
	w.elb = elbv2.New(w.account, w.region, elbv2.WithClock(w.clock.Now))
	w.targets = elbTargets{w.elb}
	w.ecr = ecr.New(w.account, w.region, w.clock.Now)
	w.registry = ecrStore{w.ecr}
	w.worldFile = o.world
	w.armForeign(w.clock.Now(), o.foreign)
	for _, h := range o.healthURLs {
		// A bad URL in an option is a programming error in a test.
		if err := w.mapHealthURL(h.url, h.cluster, h.service); err != nil {
			panic(err)
		}
	}
	w.ticker = w.clock.Every(w.tick, w.step)
	return w
}

// Clock returns the world's virtual clock.
func (w *World) Clock() *clock.Clock { return w.clock }

// Account returns the simulated AWS account id.
func (w *World) Account() string { return w.account }

// Region returns the simulated region.
func (w *World) Region() string { return w.region }

// Calls returns how often each API operation was called, keyed by
// "Service.Operation" (e.g. "ecs.DescribeServices", "elbv2.DescribeTargetHealth").
func (w *World) Calls() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]int, len(w.calls))
	for k, v := range w.calls {
		out[k] = v
	}
	return out
}

// ResetCalls sets every counter back to zero.
func (w *World) ResetCalls() {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.calls)
}

// SetFaults replaces the world's API faults.
func (w *World) SetFaults(f Faults) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.faults = f
}

// SetImageBehavior makes every task container whose image matches pattern
// behave as b (see ImageBehavior). Later rules win over earlier ones.
func (w *World) SetImageBehavior(pattern string, b ImageBehavior) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.images = append(w.images, imageRule{pattern: pattern, b: b})
}

// SetExclusiveMounts switches the Nexus-like exclusive EFS mounts on or off.
func (w *World) SetExclusiveMounts(on bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.exclusive = on
}

func (w *World) now() time.Time { return w.clock.Now() }

// step runs the ECS control loop once: task state machines first, then each
// service's scheduler. It runs on the clock's goroutine every tick.
func (w *World) step(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.landForeign(now)
	for _, cn := range w.clusterOrder {
		c := w.clusters[cn]
		for _, t := range c.taskList {
			w.advanceTask(t, now)
		}
		for _, sn := range c.serviceOrder {
			s := c.services[sn]
			if s.status == "ACTIVE" || s.status == "DRAINING" {
				w.schedule(c, s, now)
			}
			w.flushEvents(s, now)
			s.maxLive = max(s.maxLive, liveTasks(s))
		}
		c.pruneStopped(now, w.timing.StoppedRetention)
	}
	w.pruneInactiveServices(now)
}

// nextID returns n random lowercase hex digits from the seeded generator.
func (w *World) nextID(n int) string {
	const hex = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hex[w.rng.IntN(16)]
	}
	return string(b)
}

func (w *World) nextDeploymentID() string {
	w.seq += 1 + int64(w.rng.IntN(997))
	return fmt.Sprintf("ecs-svc/%019d", w.seq)
}

func (w *World) arn(resource string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:%s", w.region, w.account, resource)
}

func (w *World) count(op string) {
	w.calls[op]++
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// liveTasks counts a service's tasks that are starting or running, whatever
// their desired status: two of them at once breaks the recreate invariant.
func liveTasks(s *service) int {
	n := 0
	for _, d := range s.deployments {
		for _, t := range d.tasks {
			switch t.lastStatus {
			case statusProvisioning, statusPending, statusActivating, statusRunning:
				n++
			}
		}
	}
	return n
}

// MaxLiveTasks returns the most tasks of a service that were provisioning,
// pending or running at the same moment since the world started.
func (w *World) MaxLiveTasks(clusterName, serviceName string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c := w.clusters[clusterName]; c != nil {
		if s := c.services[serviceName]; s != nil {
			return s.maxLive
		}
	}
	return 0
}
