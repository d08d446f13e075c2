// Package report holds the result of a deploy or rollback run as plain,
// serializable data, and renders it and the plan as text, JSON and Markdown.
// The deploy engine fills a Run; the CLI prints it; the GitHub action turns
// the same value into outputs and the job summary. Nothing here talks to AWS.
package report

import (
	"time"

	"github.com/pier-deploy/pier/internal/plan"
)

// Outcome of one service, and (as the worst of them) of the run.
type Outcome string

// Outcomes, in increasing order of severity (see Worse).
const (
	Success   Outcome = "success"    // our deployment completed (and answered its health check)
	NoChanges Outcome = "no-changes" // nothing differed; no call changed anything
	// RolledBack: the deploy failed and the service is back on its previous
	// revision, verified steady.
	RolledBack Outcome = "rolled-back"
	// Failed: the deploy failed before anything was changed on this service.
	Failed Outcome = "failed"
	// NotStarted: ECS accepted the update but started no deployment of the
	// revision pier set; the service still runs (or is back on) the one it
	// ran, which Final names.
	NotStarted Outcome = "not-started"
	// NotRestored: the deploy failed and the service is not back on its
	// previous revision; Cause says what state ECS is in.
	NotRestored Outcome = "not-restored"
)

var severity = map[Outcome]int{NoChanges: 0, Success: 1, Failed: 2, RolledBack: 3, NotStarted: 4, NotRestored: 5}

// Worse returns the more severe of two outcomes.
func Worse(a, b Outcome) Outcome {
	if severity[b] > severity[a] {
		return b
	}
	return a
}

// Run is the report of one `pier deploy` or `pier rollback`.
type Run struct {
	Command  string    `json:"command"` // deploy or rollback
	File     string    `json:"file"`
	Result   Outcome   `json:"result"` // the worst service outcome
	Cause    string    `json:"cause,omitempty"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Simulated says that every time and duration of the run is the
	// sandbox's virtual clock (minutes of rollout that pass in a second);
	// RealSeconds is then how long the run took in real time.
	Simulated   bool    `json:"simulated,omitempty"`
	RealSeconds float64 `json:"realSeconds,omitempty"`
	Images      []Image `json:"images"`
	// Phases are the run-level steps before the services' own: build, push, plan.
	Phases   []Phase   `json:"phases,omitempty"`
	Services []Service `json:"services"`
}

// Image is one image of the run and what pushing it cost.
type Image struct {
	Name       string `json:"name"`
	Repository string `json:"repository"`
	Digest     string `json:"digest"`
	Ref        string `json:"ref"` // repository@sha256:…, as the task definition pins it
	Blobs      int    `json:"blobsUploaded"`
	Bytes      int64  `json:"bytesUploaded"`
}

// Service is the outcome for one service.
type Service struct {
	Name     string  `json:"name"`
	Service  string  `json:"service"`
	Cluster  string  `json:"cluster"`
	Strategy string  `json:"strategy"`
	Outcome  Outcome `json:"outcome"`
	Cause    string  `json:"cause,omitempty"`
	// CauseKind classifies Cause for scripts and tests, in deploy's words:
	// cannot-pull, container-exited, elb-health-check, cannot-place,
	// circuit-breaker, timeout, health-check-url, api-error, …
	CauseKind string `json:"causeKind,omitempty"`

	Old   plan.Revision `json:"old"`   // the revision before the run
	New   plan.Revision `json:"new"`   // the revision the run deployed (registered or reused)
	Final plan.Revision `json:"final"` // the revision the service runs at the end

	Registered bool   `json:"registered"`           // a new revision was registered
	Updated    bool   `json:"updated"`              // UpdateService was called
	Deployment string `json:"deployment,omitempty"` // id of the deployment our UpdateService created

	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Phases   []Phase   `json:"phases,omitempty"`

	Events       []Event       `json:"events,omitempty"`       // service events seen during the run
	StoppedTasks []StoppedTask `json:"stoppedTasks,omitempty"` // tasks of our deployment that stopped
	Deregistered []string      `json:"deregistered,omitempty"` // revisions removed by keepRevisions
}

// Phase is one step of a service's rollout, for timelines.
type Phase struct {
	Name     string    `json:"name"` // register, update, scale-down, rollout, health-check, rollback, retention
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Result   string    `json:"result"` // ok, failed, cancelled
}

// Event is one ECS service event, as ECS worded it.
type Event struct {
	Time    time.Time `json:"time"`
	Message string    `json:"message"`
}

// StoppedTask is a task that stopped during the run, with ECS's reasons.
type StoppedTask struct {
	ID         string          `json:"id"`
	Reason     string          `json:"reason"`
	StopCode   string          `json:"stopCode,omitempty"`
	Stopped    time.Time       `json:"stoppedAt,omitzero"`
	Containers []ContainerExit `json:"containers,omitempty"`
}

// ContainerExit is how one container of a stopped task ended.
type ContainerExit struct {
	Name     string `json:"name"`
	ExitCode *int32 `json:"exitCode,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// Progress is one line of progress while a run is under way. The engine
// emits them through an observer; the CLI prints them and the action folds
// phases into log groups.
type Progress struct {
	Time    time.Time     `json:"time"`
	Elapsed time.Duration `json:"elapsed"` // since the run started
	Service string        `json:"service,omitempty"`
	Kind    ProgressKind  `json:"kind"`
	Message string        `json:"message"`
	// Wait is set on Waiting progress: the state of a wait, sent each
	// poll round; a face shows it at its own pace.
	Wait *Wait `json:"wait,omitempty"`
}

// Wait is what a service waits for, as its Waiting progress says it in
// Message ("1 of 2 new tasks running, waiting for target health").
type Wait struct {
	Phase   string        `json:"phase"`   // the service's phase: rollout, scale-down, rollback, …
	Running int32         `json:"running"` // tasks of the awaited deployment running (or, scaling down, still running)
	Desired int32         `json:"desired"` // tasks it should run
	Since   time.Duration `json:"since"`   // how long the wait has lasted
}

// ProgressKind classifies a progress line.
type ProgressKind string

// Progress kinds.
const (
	PhaseStart ProgressKind = "phase"   // a phase begins: build, push, register, rollout, …
	ECSEvent   ProgressKind = "event"   // a service event, printed once, as it appears
	Note       ProgressKind = "note"    // anything else worth a line
	Warn       ProgressKind = "warning" // something the user should look at
	// Error: a service's rollout failed (failed, rolled-back, not-restored),
	// the line a person or a CI log search looks for.
	Error ProgressKind = "error"
	// Waiting: the state of a wait, each poll round (see Wait).
	Waiting ProgressKind = "waiting"
)

// Aggregate is the run's result: the worst outcome of its services
// (no-changes when there are none).
func Aggregate(services []Service) Outcome {
	out := NoChanges
	for _, s := range services {
		out = Worse(out, s.Outcome)
	}
	return out
}

// ExitCode is the process exit code for an outcome: 0 success or no
// changes, 1 failed before changing anything, 3 rolled back (verified
// steady on the previous revision), 4 not restored, 5 ECS started no
// deployment of the new revision (the service runs the one it ran).
func (o Outcome) ExitCode() int {
	switch o {
	case NotStarted:
		return 5
	case Failed:
		return 1
	case RolledBack:
		return 3
	case NotRestored:
		return 4
	}
	return 0
}
