package plan

import (
	"fmt"
	"strings"
	"time"
)

// Desired is what pier.yaml asks for, with images already built (digests known).
type Desired struct {
	File     string
	Images   []Image
	Services []DesiredService
}

// DesiredService is one service of pier.yaml with its task definition rendered
// (images substituted, normalized) and flattened.
type DesiredService struct {
	Name     string // key under services:
	Service  string // ECS service name
	Cluster  string
	Strategy string       // rolling or recreate
	Count    *int32       // nil keeps the live desired count
	Family   string       // task-definition family
	Fields   Fields       // the normalized RegisterTaskDefinition input, flattened
	Health   *HealthCheck // optional HTTP check after the rollout
	// Platforms the service's images are built for (os/arch); empty when
	// pier builds none of them.
	Platforms []string
}

// HealthCheck is the HTTP check run after a rollout.
type HealthCheck struct {
	URL     string
	Timeout time.Duration
}

// Observed is the live state the plan is computed against.
type Observed struct {
	Services map[string]ObservedService // by pier service name
	Clusters map[string]Cluster         // by cluster name, for the capacity check
}

// ObservedService is one live ECS service.
type ObservedService struct {
	Found          bool   // DescribeServices returned it (not MISSING)
	Status         string // ACTIVE, DRAINING, INACTIVE
	TaskDefinition Revision
	Current        Fields // the live revision's definition, normalized and flattened
	// Candidates are other ACTIVE revisions of the family an identical
	// definition may be reused from, newest first.
	Candidates   []Candidate
	DesiredCount int32
	RunningCount int32
	LaunchType   string // EC2, FARGATE, EXTERNAL; empty with a capacity provider strategy
	Deployment   DeploymentConfig
	Deployments  []ObservedDeployment // PRIMARY first
	// Controller is the service's deployment controller: ECS, CODE_DEPLOY
	// or EXTERNAL (empty means ECS).
	Controller string
}

// Candidate is an existing revision and its definition.
type Candidate struct {
	Revision Revision
	Fields   Fields
}

// ObservedDeployment is one deployment of a live service.
type ObservedDeployment struct {
	ID             string
	Status         string // PRIMARY, ACTIVE
	TaskDefinition string
	RolloutState   string
}

// Cluster is the capacity of an EC2 cluster.
type Cluster struct {
	Name      string
	Instances []Instance
}

// Instance is one ACTIVE container instance and what it has left.
type Instance struct {
	ID              string // container-instance id (the ARN's last part)
	RemainingCPU    int64
	RemainingMemory int64
	UsedPorts       []int32 // reserved host ports
	Arch            string  // ecs.cpu-architecture: x86_64 or arm64; empty when the agent does not say
}

// Compute builds the plan. It decides per service whether to register a new
// revision, reuse an identical one, only update the count, or do nothing, and
// adds the strategy's steps and the preflight findings.
func Compute(d Desired, o Observed) *Plan {
	p := &Plan{FormatVersion: FormatVersion, File: d.File, Images: append([]Image(nil), d.Images...)}
	for _, ds := range d.Services {
		p.Services = append(p.Services, computeService(ds, o.Services[ds.Name], o.Clusters[ds.Cluster]))
	}
	sharedRoom(p, d, o)
	return p
}

func computeService(ds DesiredService, os ObservedService, cl Cluster) Service {
	s := Service{
		Name: ds.Name, Service: ds.Service, Cluster: ds.Cluster, Strategy: ds.Strategy,
		Family: ds.Family, DesiredDigest: ds.Fields.Digest(),
	}
	if !os.Found || os.Status != "ACTIVE" {
		s.Action = Missing
		state := "does not exist"
		if os.Found {
			state = "is " + os.Status
		}
		s.Findings = append(s.Findings, Finding{
			Severity: Error, Check: "service",
			Message: fmt.Sprintf("ECS service %q %s in cluster %q", ds.Service, state, ds.Cluster),
			Fix:     "pier updates existing services only: create the service first (Terraform, console, aws ecs create-service), or correct service/cluster of services." + ds.Name + " in pier.yaml",
		})
		s.Steps = []string{"nothing: the service must exist first"}
		return s
	}
	if os.Controller != "" && os.Controller != "ECS" {
		through := "its external controller"
		if os.Controller == "CODE_DEPLOY" {
			through = "CodeDeploy"
		}
		s.Action = Refused
		s.Current = os.TaskDefinition
		s.Findings = append(s.Findings, Finding{
			Severity: Error, Check: "service",
			Message: fmt.Sprintf("ECS service %q uses the %s deployment controller: UpdateService cannot change its task definition", ds.Service, os.Controller),
			Fix:     "pier deploys services with the ECS (rolling update) deployment controller; deploy this one through " + through + ", or leave it out of pier.yaml"})
		s.Steps = []string{"nothing: pier cannot deploy a service with this deployment controller"}
		return s
	}
	s.Current = os.TaskDefinition
	s.LaunchType = os.LaunchType
	s.Deployment = os.Deployment
	s.Observed = Fingerprint{TaskDefinition: os.TaskDefinition.Arn, DesiredCount: os.DesiredCount}
	for _, dep := range os.Deployments {
		s.Observed.Deployments = append(s.Observed.Deployments, dep.ID)
	}
	s.DesiredCount = Count{Old: os.DesiredCount, New: os.DesiredCount}
	if ds.Count != nil {
		s.DesiredCount.New = *ds.Count
	}

	switch {
	case ds.Fields.Equal(os.Current):
		s.Target = os.TaskDefinition
		s.Action = NoChange
		if s.DesiredCount.Old != s.DesiredCount.New {
			s.Action = Update
		}
	default:
		s.Changes = ds.Fields.Diff(os.Current)
		s.Action = Register
		s.Target = Revision{Family: ds.Family}
		for _, c := range os.Candidates {
			if ds.Fields.Equal(c.Fields) {
				s.Action, s.Target = Reuse, c.Revision
				break
			}
		}
	}
	// A deployment still rolling from an earlier run is not "no change": the
	// service has not settled on what pier.yaml asks for.
	if s.Action == NoChange && len(os.Deployments) > 1 {
		s.Findings = append(s.Findings, Finding{Severity: Warning, Check: "service",
			Message: fmt.Sprintf("%d deployments in flight (%s); the service has not settled", len(os.Deployments), strings.Join(s.Observed.Deployments, ", "))})
	}
	if s.Changed() && os.RunningCount < os.DesiredCount {
		s.Findings = append(s.Findings, Finding{Severity: Warning, Check: "service",
			Message: fmt.Sprintf("runs %d of its %d tasks before the change; a rollback can only bring it back to that", os.RunningCount, os.DesiredCount),
			Fix:     "see why with pier status " + ds.Name})
	}
	if f := inFlight(s, os); f != nil {
		s.Findings = append(s.Findings, *f)
	}
	s.Steps = steps(s, ds)
	s.Findings = append(s.Findings, preflight(s, ds, os, cl)...)
	return s
}

func steps(s Service, ds DesiredService) []string {
	if s.Action == NoChange {
		return []string{"nothing to do: " + s.Current.String() + " already runs with desired count " + fmt.Sprint(s.DesiredCount.New)}
	}
	var out []string
	switch s.Action {
	case Register:
		out = append(out, "register "+s.Target.String())
	case Reuse:
		out = append(out, "reuse the identical revision "+s.Target.String())
	}
	count := fmt.Sprint(s.DesiredCount.New)
	if s.DesiredCount.Old != s.DesiredCount.New {
		count = fmt.Sprintf("%d → %d", s.DesiredCount.Old, s.DesiredCount.New)
	}
	target := s.Current.String() + " → " + s.Target.String()
	if s.Action == Update {
		target = s.Current.String()
	}
	if s.Strategy == "recreate" {
		out = append(out,
			fmt.Sprintf("scale %s to 0 and wait until every task is STOPPED", s.Service),
			fmt.Sprintf("update %s: task definition %s, desired count %s; wait until our deployment is PRIMARY and COMPLETED", s.Service, target, count))
		if ds.Health != nil {
			out = append(out, fmt.Sprintf("GET %s until it answers 2xx (within %s)", ds.Health.URL, Duration(ds.Health.Timeout)))
		}
		out = append(out, fmt.Sprintf("on failure or cancel: scale to 0, wait until STOPPED, then back to %s with desired count %d", s.Current, s.DesiredCount.Old))
		return out
	}
	cb := "circuit breaker off"
	if s.Deployment.CircuitBreaker {
		cb = "circuit breaker on"
		if s.Deployment.Rollback {
			cb += " with rollback"
		}
	}
	out = append(out,
		fmt.Sprintf("update %s: task definition %s, desired count %s", s.Service, target, count),
		fmt.Sprintf("wait until our deployment is PRIMARY and COMPLETED (minimumHealthyPercent %d, maximumPercent %d, %s)", s.Deployment.MinimumHealthyPercent, s.Deployment.MaximumPercent, cb))
	if ds.Health != nil {
		out = append(out, fmt.Sprintf("GET %s until it answers 2xx (within %s)", ds.Health.URL, Duration(ds.Health.Timeout)))
	}
	out = append(out, "on failure or cancel: update back to "+s.Current.String()+" and wait until it is steady")
	return out
}

// Duration writes d as pier.yaml does: 10m, 1h30m, 90s (Go's String says
// 10m0s and 1h30m0s, which a reader of a plan has to decode).
func Duration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
