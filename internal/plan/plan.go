// Package plan is pier's plan as pure data: what a deploy would change,
// computed from the desired state (pier.yaml, task-definition files, built
// image digests) and the observed state (live ECS services, revisions,
// container instances). It does no I/O and imports no AWS client, so the
// same Plan value feeds `pier plan`, `pier plan --output json`, the GitHub
// step summary, and `pier deploy`, which re-observes and refuses a stale plan.
package plan

import "strconv"

// FormatVersion is bumped when the JSON shape of Plan changes incompatibly;
// deploy refuses a saved plan of another version.
const FormatVersion = 1

// Plan is what one `pier plan` or `pier deploy` intends to do.
type Plan struct {
	FormatVersion int       `json:"formatVersion"`
	File          string    `json:"file"` // the pier.yaml the plan was computed from
	Images        []Image   `json:"images"`
	Services      []Service `json:"services"`
}

// Image is one built image and whether the registry already holds it.
type Image struct {
	Name       string `json:"name"`       // key under images:
	Repository string `json:"repository"` // full repository URI, without tag or digest
	Tag        string `json:"tag,omitempty"`
	Digest     string `json:"digest"` // sha256:… of the manifest or index
	Present    bool   `json:"present"`
}

// Ref is the image pinned by digest, as task definitions reference it.
func (i Image) Ref() string { return i.Repository + "@" + i.Digest }

// Action says what happens to a service's task definition and ECS service.
type Action string

// The actions, from least to most invasive.
const (
	// NoChange: the service already runs an equal definition with the wanted count.
	NoChange Action = "no-change"
	// Update: the definition is unchanged but the desired count is not.
	Update Action = "update"
	// Reuse: an identical revision already exists (not the live one); the service moves to it.
	Reuse Action = "reuse"
	// Register: a new revision is registered and the service moves to it.
	Register Action = "register"
	// Missing: the ECS service does not exist; pier deploys to existing services only.
	Missing Action = "missing"
	// Refused: the service exists but pier cannot deploy it as it is (it
	// uses another deployment controller); Findings say why.
	Refused Action = "refused"
)

// Service is the plan for one service of pier.yaml.
type Service struct {
	Name     string `json:"name"`    // key under services:
	Service  string `json:"service"` // ECS service name
	Cluster  string `json:"cluster"`
	Strategy string `json:"strategy"` // rolling or recreate
	Action   Action `json:"action"`

	Family  string   `json:"family"`
	Current Revision `json:"current"` // the live revision
	// Target is the revision the service will run: Current, a reused one, or a
	// new one (Arn empty and Revision 0 until registered).
	Target  Revision `json:"target"`
	Changes []Change `json:"changes,omitempty"` // desired vs Current, field by field

	DesiredCount Count            `json:"desiredCount"`
	Deployment   DeploymentConfig `json:"deployment"`
	LaunchType   string           `json:"launchType,omitempty"` // EC2, FARGATE, or a capacity provider strategy
	Steps        []string         `json:"steps"`
	Findings     []Finding        `json:"findings,omitempty"`

	// Observed is what the plan saw; deploy compares it with a fresh look.
	Observed Fingerprint `json:"observed"`
	// DesiredDigest identifies the desired definition; a saved plan whose
	// digest differs from a fresh computation was made from other files.
	DesiredDigest string `json:"desiredDigest"`
}

// Changed reports whether applying the plan would call ECS for this service.
func (s Service) Changed() bool {
	return s.Action != NoChange && s.Action != Missing && s.Action != Refused
}

// NoRoom reports whether preflight found that the rollout cannot place its
// first new task: no instance has room and no old task may stop for it
// (the capacity warning). Deploy then takes ECS's "unable to place a task"
// as the verdict at once instead of waiting for room to appear.
func (s Service) NoRoom() bool {
	for _, f := range s.Findings {
		if f.Check == "capacity" && f.Severity == Warning {
			return true
		}
	}
	return false
}

// Revision names one task-definition revision.
type Revision struct {
	Arn      string `json:"arn,omitempty"`
	Family   string `json:"family,omitempty"`
	Revision int32  `json:"revision,omitempty"`
}

// String is family:revision, or family:new for a revision not yet registered.
func (r Revision) String() string {
	if r.Family == "" {
		return r.Arn
	}
	if r.Revision == 0 {
		return r.Family + ":new"
	}
	return r.Family + ":" + strconv.Itoa(int(r.Revision))
}

// Change is one field of the task definition that differs. Path names
// containers and name-keyed list items by name: containerDefinitions[nginx].image.
type Change struct {
	Path string `json:"path"`
	Old  string `json:"old,omitempty"` // empty when the field is added
	New  string `json:"new,omitempty"` // empty when the field is removed
	// Sensitive: the field holds a secret (DB_PASSWORD, an AWS key); Old
	// and New are stand-ins, "(sensitive, sha256:1a2b…)", never the values.
	Sensitive bool `json:"sensitive,omitempty"`
}

// Count is the desired count before and after.
type Count struct {
	Old int32 `json:"old"`
	New int32 `json:"new"`
}

// DeploymentConfig is the part of the service's deployment configuration that
// decides how a rollout proceeds.
type DeploymentConfig struct {
	MinimumHealthyPercent int32 `json:"minimumHealthyPercent"`
	MaximumPercent        int32 `json:"maximumPercent"`
	CircuitBreaker        bool  `json:"circuitBreaker"`
	Rollback              bool  `json:"rollback"`
}

// Severity of a preflight finding.
type Severity string

// Severities. Errors stop deploy before any change; warnings are printed and
// the deploy proceeds (the user may know better, e.g. auto scaling adds capacity).
const (
	Info    Severity = "info"
	Warning Severity = "warning"
	Error   Severity = "error"
)

// Finding is one preflight result.
type Finding struct {
	Severity Severity `json:"severity"`
	Check    string   `json:"check"` // capacity, capacity-shared, image, iam, service, strategy
	Message  string   `json:"message"`
	// Fix says what would work instead, when pier can tell.
	Fix string `json:"fix,omitempty"`
}

// Fingerprint is the observed state a plan depends on.
type Fingerprint struct {
	TaskDefinition string   `json:"taskDefinition"` // live task definition ARN
	DesiredCount   int32    `json:"desiredCount"`
	Deployments    []string `json:"deployments"` // ids of the deployments in flight, PRIMARY first
}

// HasChanges reports whether applying the plan would change anything.
func (p *Plan) HasChanges() bool {
	for _, s := range p.Services {
		if s.Changed() {
			return true
		}
	}
	for _, im := range p.Images {
		if !im.Present {
			return true
		}
	}
	return false
}

// Errors returns the error findings of every service, which make deploy refuse.
func (p *Plan) Errors() []Finding {
	var out []Finding
	for _, s := range p.Services {
		for _, f := range s.Findings {
			if f.Severity == Error {
				f.Message = s.Name + ": " + f.Message
				out = append(out, f)
			}
		}
	}
	return out
}

// Service returns the plan of the named service (key under services:).
func (p *Plan) Service(name string) (*Service, bool) {
	for i := range p.Services {
		if p.Services[i].Name == name {
			return &p.Services[i], true
		}
	}
	return nil, false
}
