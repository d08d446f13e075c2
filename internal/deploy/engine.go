// Package deploy applies a plan to ECS and tells the truth about it:
// it registers a task definition only when it changed (or reuses an
// identical revision), updates the services, waits on the deployments its
// own UpdateService calls created with one poll loop for the whole run,
// classifies failures from deployments, events and stopped tasks, rolls
// back, and runs the recreate strategy for single-writer services.
//
// The engine prints nothing: progress goes to an Observer, and the outcome
// of each service comes back as report data.
package deploy

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pier-deploy/pier/internal/awsapi"
	"github.com/pier-deploy/pier/internal/plan"
	"github.com/pier-deploy/pier/internal/report"
)

// Clock is where the engine reads time and waits. The simulator's virtual
// clock satisfies it, so tests and the sandbox advance virtual time instead
// of sleeping.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

// WallClock is real time, for real AWS: the default Clock.
type WallClock struct{}

// Now is time.Now.
func (WallClock) Now() time.Time { return time.Now() }

// Sleep waits d, or until ctx is done.
func (WallClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Observer receives progress while a run is under way.
type Observer interface {
	Progress(report.Progress)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(report.Progress)

// Progress calls f.
func (f ObserverFunc) Progress(p report.Progress) { f(p) }

// Option configures a Deployer.
type Option func(*options)

type options struct {
	clock    Clock
	observer Observer
	http     *http.Client
	grace    time.Duration
	elb      awsapi.ELB
}

// WithClock makes the engine read time and wait on c (the sandbox passes
// the simulator's clock).
func WithClock(c Clock) Option { return func(o *options) { o.clock = c } }

// WithObserver receives progress lines.
func WithObserver(ob Observer) Option { return func(o *options) { o.observer = ob } }

// WithHTTPClient is the client for healthCheck.url (default: a client with
// a 10 s timeout per request).
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.http = c } }

// WithELB lets the engine read target health while a placement failure
// waits for its verdict: a new task still passing its first health checks,
// or an old one draining, means ECS will make room. Without it, pier judges
// from ECS alone.
func WithELB(api awsapi.ELB) Option { return func(o *options) { o.elb = api } }

// WithGrace sets how long, after the context is cancelled (SIGTERM from a
// cancelled workflow), the engine keeps working to finish or reverse the
// step in flight before it reports the state it leaves (default 2 minutes).
func WithGrace(d time.Duration) Option { return func(o *options) { o.grace = d } }

// Deployer applies plans to one account and region.
type Deployer struct {
	ecs awsapi.ECS
	o   options

	started     time.Time
	cancelledAt atomic.Pointer[time.Time]
	poll        *poller

	mu       sync.Mutex
	inFlight map[string]int // rolling updates under way, per cluster
}

// New returns a Deployer over the ECS API.
func New(api awsapi.ECS, opts ...Option) *Deployer {
	o := options{clock: WallClock{}, observer: ObserverFunc(func(report.Progress) {}),
		http: &http.Client{Timeout: 10 * time.Second}, grace: 2 * time.Minute}
	for _, opt := range opts {
		opt(&o)
	}
	return &Deployer{ecs: api, o: o}
}

// Target is one service to deploy: its plan and what applying it needs.
type Target struct {
	Plan plan.Service
	// Register is the desired definition, sent when Plan.Action is Register.
	Register *ecs.RegisterTaskDefinitionInput
	// Secrets are the sensitive values of Register (plan.Fields.Secrets),
	// scrubbed from an error that echoes what was sent.
	Secrets       []string
	Health        *plan.HealthCheck
	KeepRevisions int
	Timeout       time.Duration // for the rollout; rollback gets as long again
	// RunningBefore is how many tasks the service ran before the run (nil:
	// its desired count). A service that was short of tasks already counts
	// as restored when a rollback brings it back to as many.
	RunningBefore *int32
	// FinishOnCancel marks a run that is itself the way back (pier rollback):
	// on cancel it goes on within the grace period instead of reversing,
	// since reversing would return the service to the revision being left.
	FinishOnCancel bool
}

// least is how many tasks of the previous revision a rollback must see
// running: the old desired count, or what ran before when that was fewer.
func (t Target) least() int32 {
	if t.RunningBefore != nil && *t.RunningBefore < t.Plan.DesiredCount.Old {
		return max(*t.RunningBefore, 0)
	}
	return t.Plan.DesiredCount.Old
}

// shortBefore says, for a cause, that the service ran fewer tasks than
// desired before the run too; empty otherwise.
func (t Target) shortBefore() string {
	if n := t.least(); n < t.Plan.DesiredCount.Old {
		return fmt.Sprintf(" (running %d of its %d tasks, as before this run)", n, t.Plan.DesiredCount.Old)
	}
	return ""
}

// Apply deploys every target in parallel and returns one report per target,
// in order. A cancelled ctx makes each service finish or reverse its step
// in flight within the grace period; the reports say what happened.
func (d *Deployer) Apply(ctx context.Context, targets []Target) []report.Service {
	d.started = d.o.clock.Now()
	d.inFlight = map[string]int{}
	work, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	d.poll = newPoller(d.ecs, d.o.clock)
	d.poll.interrupt = ctx
	go d.poll.run(work)
	if ctx.Err() != nil {
		now := d.o.clock.Now()
		d.cancelledAt.Store(&now)
	}
	go func() {
		select {
		case <-ctx.Done():
			now := d.o.clock.Now()
			d.cancelledAt.Store(&now)
			d.emit("", report.Warn, "cancelled: finishing or reversing the step in flight of each service (grace "+d.o.grace.String()+")")
		case <-work.Done():
		}
	}()

	out := make([]report.Service, len(targets))
	var wg sync.WaitGroup
	// Every goroutine joins before any starts: a round must not begin while
	// some services have not reached their first wait yet.
	for range targets {
		d.poll.join()
	}
	for i := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer d.poll.leave()
			r := &run{d: d, t: targets[i]}
			out[i] = r.do(work)
		}()
	}
	wg.Wait()
	d.poll.close()
	return out
}

// Rounds is how many poll rounds the last Apply made, and how many
// DescribeServices calls they took (before any retry inside the SDK).
func (d *Deployer) Rounds() (rounds, describes int) {
	if d.poll == nil {
		return 0, 0
	}
	d.poll.mu.Lock()
	defer d.poll.mu.Unlock()
	return d.poll.rounds, d.poll.describes
}

// busy counts a rolling update under way on the cluster until the
// returned func is called.
func (d *Deployer) busy(cluster string) func() {
	d.mu.Lock()
	d.inFlight[cluster]++
	d.mu.Unlock()
	return func() {
		d.mu.Lock()
		d.inFlight[cluster]--
		d.mu.Unlock()
	}
}

// othersBusy reports whether a rolling update other than the caller's is
// under way on the cluster: its old tasks will stop and free room.
func (d *Deployer) othersBusy(cluster string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.inFlight[cluster] > 1
}

func (d *Deployer) emit(service string, kind report.ProgressKind, msg string) {
	now := d.o.clock.Now()
	d.o.observer.Progress(report.Progress{Time: now, Elapsed: now.Sub(d.started), Service: service, Kind: kind, Message: msg})
}

// cancelled reports whether the run was cancelled, and whether the grace
// period is over.
func (d *Deployer) cancelled() (bool, bool) {
	at := d.cancelledAt.Load()
	if at == nil {
		return false, false
	}
	return true, d.o.clock.Now().Sub(*at) > d.o.grace
}

// run is one service's deployment.
type run struct {
	d   *Deployer
	t   Target
	rep report.Service

	phase    *report.Phase
	stopSeen map[string]bool
	// gone holds tasks of the service confirmed STOPPED (see stopping).
	gone map[string]bool
	// seen holds the ids of the service events already reported: every
	// wait of the run (scale-down, rollout, health check, rollback) shares
	// it, so each event is printed once, as it appears.
	seen map[string]bool
	// last is the newest look at the service (a poll round, or the read
	// before an UpdateService); pending is what that read knew, for the
	// wait that follows the update.
	last    *types.Service
	pending *following
	// learned is the first fatal cause read from a stopped task of ours:
	// it stays the reason however the deployment is shown later.
	learned Cause
	// live is the desired count the service has, as far as pier set or
	// read it.
	live int32
	// confirm, under recreate, is the revision a step must be confirmed on
	// (see onRevision) before it counts as done.
	confirm string
	// failed is our deployment ECS's circuit breaker rolled back, while
	// its stopped tasks have not said why yet.
	failed *rollout
}

func (r *run) name() string { return r.t.Plan.Name }

func (r *run) do(ctx context.Context) report.Service {
	p := r.t.Plan
	r.rep = report.Service{Name: p.Name, Service: p.Service, Cluster: p.Cluster, Strategy: p.Strategy,
		Old: p.Current, Final: p.Current, Started: r.d.o.clock.Now()}
	r.stopSeen, r.seen, r.gone = map[string]bool{}, map[string]bool{}, map[string]bool{}
	r.live = p.DesiredCount.Old
	switch {
	case p.Action == plan.Refused:
		r.finish(report.Failed, Cause{APIError, fmt.Sprintf("pier cannot deploy ECS service %s as it is (see the plan's findings); nothing was changed", p.Service)})
	case p.Action == plan.Missing:
		r.finish(report.Failed, Cause{ServiceGone, fmt.Sprintf("ECS service %s does not exist in cluster %s", p.Service, p.Cluster)})
	case p.Action == plan.NoChange:
		r.rep.Outcome = report.NoChanges
		r.d.emit(r.name(), report.Note, "no changes: "+p.Current.String()+" already runs")
	case p.Strategy == "recreate":
		r.recreate(ctx)
	default:
		r.rolling(ctx)
	}
	r.endPhase("ok")
	r.rep.Finished = r.d.o.clock.Now()
	return r.rep
}

// watch follows a deployment with the run's shared record of seen events.
// The deployment it follows is the one the run's last UpdateService of
// taskDef started (see following), whatever id the answer's PRIMARY had.
func (r *run) watch(deployment, taskDef, previous string, want int32, since time.Time, cb bool) *rollout {
	ro := newRollout(deployment, taskDef, previous, want, since, cb)
	ro.seenEvents = r.seen
	if f := r.pending; f != nil && deployment == "" {
		ro.follow = f
	}
	r.pending = nil
	return ro
}

// reportEvents reports the service's events that are news, for waits that
// read no verdict from them. There is no time cutoff (the runner's clock
// is not ECS's): what was there before the change was marked seen from
// the UpdateService answer (history, in update).
func (r *run) reportEvents(svc *types.Service) {
	if svc == nil {
		return
	}
	for _, e := range newEvents(r.seen, time.Time{}, svc.Events) {
		r.event(e)
	}
}

// begin is the start both strategies share: nothing happens once the run
// is cancelled; the task definition to run is registered (or reused), and
// a cancel that came meanwhile stops the run before the service changes.
func (r *run) begin(ctx context.Context) (string, bool) {
	if cancelled, _ := r.d.cancelled(); cancelled {
		r.finish(report.Failed, Cause{Cancelled, "cancelled before anything was changed"})
		return "", false
	}
	taskDef, err := r.target(ctx)
	if err != nil {
		r.endPhase("failed")
		r.finish(report.Failed, Cause{APIError, err.Error()})
		return "", false
	}
	if cancelled, _ := r.d.cancelled(); cancelled {
		r.finish(report.Failed, Cause{Cancelled, "cancelled before the service was changed; nothing changed"})
		return "", false
	}
	return taskDef, true
}

func (r *run) finish(o report.Outcome, c Cause) {
	if o == report.RolledBack && c.Kind == NoDeployment {
		o = report.NotStarted // restored, but the cause is ECS's silence: its own exit code
	}
	r.rep.Outcome = o
	r.rep.Cause = c.Message
	r.rep.CauseKind = string(reported(c, r.rep.StoppedTasks))
	switch o {
	case report.Success:
		r.d.emit(r.name(), report.Note, "success: "+r.rep.Final.String())
	default:
		r.d.emit(r.name(), report.Error, string(o)+": "+c.Message)
	}
}

func (r *run) startPhase(name string) {
	r.endPhase("ok")
	now := r.d.o.clock.Now()
	r.rep.Phases = append(r.rep.Phases, report.Phase{Name: name, Started: now})
	r.phase = &r.rep.Phases[len(r.rep.Phases)-1]
	r.d.emit(r.name(), report.PhaseStart, name)
}

func (r *run) endPhase(result string) {
	if r.phase == nil {
		return
	}
	r.phase.Finished = r.d.o.clock.Now()
	r.phase.Result = result
	r.phase = nil
}

// revision turns a task-definition ARN into a plan.Revision.
func revision(arn string) plan.Revision {
	rev := plan.Revision{Arn: arn}
	td := shortTD(arn)
	for i := len(td) - 1; i >= 0; i-- {
		if td[i] == ':' {
			rev.Family = td[:i]
			var n int32
			if _, err := fmt.Sscan(td[i+1:], &n); err == nil {
				rev.Revision = n
			}
			break
		}
	}
	return rev
}
