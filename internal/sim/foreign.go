package sim

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// ForeignUpdate is an UpdateService by another actor (a colleague's console
// click, a second pipeline, an autoscaler) that lands while pier rolls the
// service out: nothing in the API keeps a deployment to its caller, so pier
// must tell its own deployment from someone else's.
type ForeignUpdate struct {
	Cluster string `yaml:"cluster"` // "" finds the service in any cluster
	Service string `yaml:"service"`
	// At is the virtual time after the world started when the update lands.
	At time.Duration `yaml:"at"`
	// AfterUpdate, when set, makes the update land this long after the first
	// UpdateService of the service on the wire (pier's), so it falls inside
	// that rollout whenever it starts.
	AfterUpdate time.Duration `yaml:"afterUpdate"`
	// TaskDefinition is the revision the other actor sets ("family:3", an
	// ARN or a family for its latest); "" keeps the service's.
	TaskDefinition string `yaml:"taskDefinition"`
	// DesiredCount, when set, is the count the other actor sets.
	DesiredCount *int32 `yaml:"desiredCount"`
	// ForceNewDeployment starts a new deployment of the same revision.
	ForceNewDeployment bool `yaml:"forceNewDeployment"`
}

// WithForeignUpdate makes another actor's UpdateService land (see ForeignUpdate).
func WithForeignUpdate(u ForeignUpdate) Option {
	return func(o *options) { o.foreign = append(o.foreign, u) }
}

// foreignState is a ForeignUpdate waiting for its time.
type foreignState struct {
	ForeignUpdate
	due  time.Time // zero until armed
	done bool
	err  string
}

// ForeignResult is what became of one foreign update.
type ForeignResult struct {
	Service string
	Landed  time.Time // zero while it has not landed
	Err     string    // ECS's error when the update was refused
}

// ForeignUpdates reports the foreign updates in the order they were given.
func (w *World) ForeignUpdates() []ForeignResult {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]ForeignResult, len(w.foreign))
	for i, f := range w.foreign {
		out[i] = ForeignResult{Service: f.Service, Err: f.err}
		if f.done {
			out[i].Landed = f.due
		}
	}
	return out
}

func (w *World) armForeign(start time.Time, us []ForeignUpdate) {
	for _, u := range us {
		f := &foreignState{ForeignUpdate: u}
		if u.AfterUpdate <= 0 {
			f.due = start.Add(u.At)
		}
		w.foreign = append(w.foreign, f)
	}
}

// apiUpdateService is UpdateService on the wire: it arms the foreign
// updates that wait for the service's first one.
func (w *World) apiUpdateService(in *ecs.UpdateServiceInput) (*ecs.UpdateServiceOutput, error) {
	out, err := w.opUpdateService(in)
	if err != nil {
		return nil, err
	}
	for _, f := range w.foreign {
		if f.AfterUpdate > 0 && f.due.IsZero() && f.Service == aws.ToString(out.Service.ServiceName) &&
			(f.Cluster == "" || f.Cluster == lastPart(aws.ToString(out.Service.ClusterArn))) {
			f.due = w.now().Add(f.AfterUpdate)
		}
	}
	return out, nil
}

// landForeign applies the foreign updates that are due, through the same
// UpdateService the wire offers.
func (w *World) landForeign(now time.Time) {
	for _, f := range w.foreign {
		if f.done || f.due.IsZero() || now.Before(f.due) {
			continue
		}
		f.done = true
		in := &ecs.UpdateServiceInput{Service: aws.String(f.Service), DesiredCount: f.DesiredCount, ForceNewDeployment: f.ForceNewDeployment}
		if f.TaskDefinition != "" {
			in.TaskDefinition = aws.String(f.TaskDefinition)
		}
		in.Cluster = aws.String(f.Cluster)
		if f.Cluster == "" {
			in.Cluster = aws.String(w.clusterOf(f.Service))
		}
		if _, err := w.opUpdateService(in); err != nil {
			f.err = fmt.Sprintf("UpdateService %s by another actor: %v", f.Service, err)
		}
	}
}

// clusterOf names the first cluster with a service called name.
func (w *World) clusterOf(name string) string {
	for _, cn := range w.clusterOrder {
		if _, ok := w.clusters[cn].services[name]; ok {
			return cn
		}
	}
	return ""
}
