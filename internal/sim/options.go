package sim

import (
	"regexp"
	"strings"
	"time"
)

// Option configures a World.
type Option func(*options)

type options struct {
	seed      uint64
	start     time.Time
	account   string
	region    string
	tick      time.Duration
	faults    Faults
	images    []imageRule
	exclusive bool
	timing    Timing

	healthURLs []healthURL
	world      *WorldFile
	foreign    []ForeignUpdate
}

func defaultOptions() options {
	return options{
		seed:    1,
		account: "123456789012",
		region:  "us-east-1",
		tick:    time.Second,
		timing:  DefaultTiming(),
	}
}

// WithSeed makes ids, throttling and other random choices follow seed.
func WithSeed(seed uint64) Option { return func(o *options) { o.seed = seed } }

// WithStart sets the virtual time the world starts at (default clock.Epoch).
func WithStart(t time.Time) Option { return func(o *options) { o.start = t } }

// WithAccount sets the AWS account id used in ARNs and registry hosts.
func WithAccount(id string) Option { return func(o *options) { o.account = id } }

// WithRegion sets the region used in ARNs.
func WithRegion(r string) Option { return func(o *options) { o.region = r } }

// WithFaults sets API-level faults (throttling, server errors, no capacity).
func WithFaults(f Faults) Option { return func(o *options) { o.faults = f } }

// WithImageBehavior makes containers whose image matches pattern behave as b.
// pattern is a glob over the whole image reference, where * matches any run
// of characters, slashes included, and ? any one character
// ("*backend-nginx@sha256:*" matches "127.0.0.1:5000/backend-nginx@sha256:…");
// a pattern without * or ? matches as a substring.
func WithImageBehavior(pattern string, b ImageBehavior) Option {
	return func(o *options) { o.images = append(o.images, imageRule{pattern: pattern, b: b}) }
}

// WithExclusiveMounts makes EFS volumes with an access point exclusive: a
// second task mounting the same file system and access point fails the way
// Nexus does ("data directory already in use").
func WithExclusiveMounts() Option { return func(o *options) { o.exclusive = true } }

// WithTiming overrides how long simulated steps take.
func WithTiming(t Timing) Option { return func(o *options) { o.timing = t } }

// Faults are failures injected at the API or capacity level.
type Faults struct {
	// ThrottleRate is the fraction (0..1) of API calls answered with
	// ThrottlingException (HTTP 400), chosen by the seeded generator.
	ThrottleRate float64 `yaml:"throttleRate"`
	// ServerErrorRate is the fraction of calls answered with HTTP 500
	// ServerException (ECS) or InternalFailure (ELBv2).
	ServerErrorRate float64 `yaml:"serverErrorRate"`
	// Operations limits the two rates above to these operations
	// ("DescribeServices", or "ecs.DescribeServices"); empty means all.
	Operations []string `yaml:"operations"`
	// NoCapacity makes every placement fail: EC2 services find no container
	// instance with room, Fargate services get "Capacity is unavailable".
	NoCapacity bool `yaml:"noCapacity"`
	// SchedulerThrottleRate is the fraction (0..1) of the scheduler's
	// launch rounds in which ECS's own calls on the service's behalf are
	// throttled: it launches nothing that round and says "(service x)
	// operations are being throttled. Will try again later."
	SchedulerThrottleRate float64 `yaml:"schedulerThrottleRate"`
	// RegisterTargetsError makes ECS's RegisterTargets calls for new tasks
	// fail with this error (as ELBv2 words it): the task runs but is no
	// target, ECS says "(service x) failed to register targets in
	// (target-group …) with (error …)" and tries again every 30 s while the
	// fault lasts.
	RegisterTargetsError string `yaml:"registerTargetsError"`
}

func (f Faults) applies(service, op string) bool {
	if len(f.Operations) == 0 {
		return true
	}
	for _, o := range f.Operations {
		if o == op || o == service+"."+op {
			return true
		}
	}
	return false
}

// ImageBehavior is how a container running an image behaves.
type ImageBehavior struct {
	// Crash makes the container exit with ExitCode (default 1) CrashAfter
	// (default 10s) after it started.
	Crash      bool          `yaml:"crash"`
	ExitCode   int32         `yaml:"exitCode"`
	CrashAfter time.Duration `yaml:"crashAfter"`
	// Unhealthy makes container health checks and ELB health checks fail.
	Unhealthy bool `yaml:"unhealthy"`
	// ELBTimeout makes the container accept the load balancer's health
	// checks but never answer them: the target turns unhealthy with
	// Target.Timeout ("Request timed out").
	ELBTimeout bool `yaml:"elbTimeout"`
	// SlowStart adds this much time between pull and RUNNING.
	SlowStart time.Duration `yaml:"slowStart"`
	// SlowStop is how long the container takes to exit after SIGTERM; past
	// its stopTimeout (default 30s) the agent kills it (exit code 137).
	SlowStop time.Duration `yaml:"slowStop"`
	// OutOfMemory makes the container exceed its memory limit CrashAfter
	// (default 10s) after it started: the kernel kills it (exit code 137)
	// and ECS gives the reason "OutOfMemoryError: Container killed due to
	// memory usage".
	OutOfMemory bool `yaml:"outOfMemory"`
	// PullFailure makes pulls fail with CannotPullContainerError.
	PullFailure bool `yaml:"pullFailure"`
	// HealthURLFails makes the service's HTTP health-check URL (pier.yaml
	// healthCheck.url) answer 503 although ECS sees the task healthy: Nexus
	// up but read-only.
	HealthURLFails bool `yaml:"healthURLFails"`
}

type imageRule struct {
	pattern string
	b       ImageBehavior
}

func (r imageRule) matches(image string) bool {
	if !strings.ContainsAny(r.pattern, "*?") {
		return strings.Contains(image, r.pattern)
	}
	var re strings.Builder
	re.WriteString("^")
	for _, c := range r.pattern {
		switch c {
		case '*':
			re.WriteString(".*")
		case '?':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	re.WriteString("$")
	ok, _ := regexp.MatchString(re.String(), image)
	return ok
}

// behaviorFor merges the rules matching image; later rules win per field.
func (w *World) behaviorFor(image string) ImageBehavior {
	var b ImageBehavior
	for _, r := range w.images {
		if r.matches(image) {
			b = r.b
		}
	}
	return b
}

// Timing says how long simulated steps take in virtual time.
type Timing struct {
	Provision        time.Duration // Fargate PROVISIONING (ENI attach)
	Pull             time.Duration // image pull per task
	Stop             time.Duration // STOPPING → STOPPED after SIGTERM
	Deprovision      time.Duration // Fargate DEPROVISIONING
	ConflictExit     time.Duration // how long a Nexus-like task runs before it notices the held lock
	StoppedRetention time.Duration // how long STOPPED tasks stay visible (ECS: about an hour)
	StableAfter      time.Duration // a task without health checks running this long resets the circuit breaker's count
	SteadyAfter      time.Duration // a healthy task this old counts towards a completed deployment
}

// DefaultTiming is close to what ECS shows for small images.
func DefaultTiming() Timing {
	return Timing{
		Provision:        15 * time.Second,
		Pull:             8 * time.Second,
		Stop:             3 * time.Second,
		Deprovision:      10 * time.Second,
		ConflictExit:     20 * time.Second,
		StoppedRetention: time.Hour,
		StableAfter:      5 * time.Minute,
		SteadyAfter:      30 * time.Second,
	}
}
