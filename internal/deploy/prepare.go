package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/pier-deploy/pier/internal/plan"
	"github.com/pier-deploy/pier/internal/taskdef"
)

// Spec is one service as pier.yaml and its task-definition file describe
// it, with the built images already substituted.
type Spec struct {
	Name     string // key under services:
	Service  string // ECS service name
	Cluster  string
	Strategy string // rolling or recreate
	Count    *int32 // nil keeps the live desired count
	TaskDef  *taskdef.TaskDef
	Health   *plan.HealthCheck
	// KeepRevisions > 0 deregisters older revisions after a success.
	KeepRevisions int
	Timeout       time.Duration
	// Platforms the images pier built for this service target (os/arch);
	// preflight checks the task's architecture against them.
	Platforms []string
}

// Plan observes the live state of the specs' services and computes the plan,
// and returns with it the targets Apply takes (same order as specs).
func Plan(ctx context.Context, api ECSReader, file string, images []plan.Image, specs []Spec) (*plan.Plan, []Target, error) {
	desired := plan.Desired{File: file, Images: images}
	for _, s := range specs {
		f, err := s.TaskDef.Fields()
		if err != nil {
			return nil, nil, fmt.Errorf("planning service %s: %w", s.Name, err)
		}
		desired.Services = append(desired.Services, plan.DesiredService{Name: s.Name, Service: s.Service, Cluster: s.Cluster,
			Strategy: s.Strategy, Count: s.Count, Family: s.TaskDef.Family(), Fields: f, Health: s.Health, Platforms: s.Platforms})
	}
	observed, err := Observe(ctx, api, desired.Services)
	if err != nil {
		return nil, nil, err
	}
	p := plan.Compute(desired, observed)
	targets := make([]Target, len(specs))
	for i, s := range specs {
		targets[i] = Target{Plan: p.Services[i], Health: s.Health, KeepRevisions: s.KeepRevisions, Timeout: s.Timeout}
		if os, ok := observed.Services[s.Name]; ok && os.Found {
			n := os.RunningCount
			targets[i].RunningBefore = &n
		}
		if p.Services[i].Action == plan.Register {
			in, err := s.TaskDef.RegisterInput()
			if err != nil {
				return nil, nil, fmt.Errorf("planning service %s: %w", s.Name, err)
			}
			targets[i].Register = in
			targets[i].Secrets = desired.Services[i].Fields.Secrets()
		}
	}
	return p, targets, nil
}
