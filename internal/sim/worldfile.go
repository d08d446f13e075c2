package sim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// WorldFile is a sandbox world written in YAML. Every part is optional; what
// it names overrides the default world built from pier.yaml:
//
//	seed: 7                    # ids and fault draws
//	speed: 60                  # pier sandbox: virtual seconds per real second
//	account: "123456789012"
//	region: ap-northeast-2
//	exclusiveMounts: true      # EFS access points hold a Nexus-like lock (default on)
//	revisionsFromFiles: true   # run backend-task.json at its revision (49), not 1
//	clusters:
//	  inforum:
//	    instances: [{cpu: 4096, memory: 15742, count: 1, arch: x86_64}]
//	services:
//	  backend:
//	    desiredCount: 2
//	    minimumHealthyPercent: 50
//	    maximumPercent: 200
//	    circuitBreaker: {enable: true, rollback: true}
//	    healthCheckGracePeriodSeconds: 60
//	    deregistrationDelay: 30s
//	    loadBalancer: false    # no target group
//	images:                    # later rules win; * crosses "/"
//	  - match: "*backend-nginx@sha256:*"
//	    crash: true
//	    exitCode: 137
//	    crashAfter: 5s
//	  - {match: sonatype/nexus3, slowStart: 2m, slowStop: 90s, healthURLFails: true}
//	  - {match: "*:broken", pullFailure: true}
//	  - {match: "*backend-springboot*", outOfMemory: true, crashAfter: 2m}
//	  - {match: "*front-nginx*", unhealthy: true}
//	faults: {throttleRate: 0.05, serverErrorRate: 0.01, operations: [DescribeServices], noCapacity: false,
//	         schedulerThrottleRate: 0.5, registerTargetsError: "Rate exceeded"}
//	foreignUpdates:            # someone else's UpdateService during pier's rollout
//	  - {service: backend, afterUpdate: 40s, taskDefinition: "ecs-backend-task:1"}
//	  - {service: frontend, at: 10m, desiredCount: 3}
//	timing: {pull: 4s, provision: 10s, stop: 2s, deprovision: 5s, conflictExit: 20s, steadyAfter: 30s}
type WorldFile struct {
	Path            string  `yaml:"-"`
	Seed            *uint64 `yaml:"seed"`
	Speed           float64 `yaml:"speed"`
	Account         string  `yaml:"account"`
	Region          string  `yaml:"region"`
	ExclusiveMounts *bool   `yaml:"exclusiveMounts"`
	// RevisionsFromFiles registers each service's task-definition file at
	// the revision it was described at (backend-task.json says 49: the
	// service runs ecs-backend-task:49), not at revision 1.
	RevisionsFromFiles bool                     `yaml:"revisionsFromFiles"`
	Clusters           map[string]WorldCluster  `yaml:"clusters"`
	Services           map[string]WorldService  `yaml:"services"`
	Images             []WorldImage             `yaml:"images"`
	Faults             Faults                   `yaml:"faults"`
	Timing             map[string]time.Duration `yaml:"timing"`
	// ForeignUpdates are UpdateService calls by another actor that land
	// during pier's rollout (see ForeignUpdate).
	ForeignUpdates []ForeignUpdate `yaml:"foreignUpdates"`
}

// WorldCluster sets a cluster's EC2 capacity; it replaces the default capacity.
type WorldCluster struct {
	Instances []WorldInstances `yaml:"instances"`
}

// WorldInstances are count container instances of one size.
type WorldInstances struct {
	CPU    int32  `yaml:"cpu"`    // CPU units (4096 = 4 vCPU)
	Memory int32  `yaml:"memory"` // MiB
	Count  int    `yaml:"count"`  // default 1
	Arch   string `yaml:"arch"`   // x86_64 (default) or arm64
}

// WorldService overrides how a pier.yaml service starts in the sandbox.
type WorldService struct {
	DesiredCount          *int32         `yaml:"desiredCount"`
	MinimumHealthyPercent *int32         `yaml:"minimumHealthyPercent"`
	MaximumPercent        *int32         `yaml:"maximumPercent"`
	CircuitBreaker        *WorldBreaker  `yaml:"circuitBreaker"`
	HealthCheckGrace      *int32         `yaml:"healthCheckGracePeriodSeconds"`
	LoadBalancer          *bool          `yaml:"loadBalancer"` // false: no target group
	DeregistrationDelay   *time.Duration `yaml:"deregistrationDelay"`
}

// WorldBreaker is the deployment circuit breaker of a service.
type WorldBreaker struct {
	Enable   bool `yaml:"enable"`
	Rollback bool `yaml:"rollback"`
}

// WorldImage is one per-image behaviour rule; Match is a glob or substring
// of the image reference.
type WorldImage struct {
	Match         string `yaml:"match"`
	ImageBehavior `yaml:",inline"`
}

// WorldError is a problem in a world file, at file:line:col.
type WorldError struct {
	File      string
	Line, Col int
	Msg       string
}

// Error prints file:line:col: message.
func (e *WorldError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// LoadWorldFile reads a world file.
func LoadWorldFile(path string) (*WorldFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading world file: %w", err)
	}
	return ParseWorldFile(path, data)
}

var yamlLineRE = regexp.MustCompile(`line (\d+)(?:, column (\d+))?: (.*)`)

// ParseWorldFile parses a world file's bytes; name is used in errors.
func ParseWorldFile(name string, data []byte) (*WorldFile, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(name, data, err)
	}
	wf := &WorldFile{Path: name}
	if root.Kind == 0 {
		return wf, nil
	}
	dec = yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(wf); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(name, data, err)
	}
	wf.Path = name
	if err := wf.validate(&root); err != nil {
		return nil, err
	}
	return wf, nil
}

var yamlSubjectRE = regexp.MustCompile("field (\\S+) not found|`([^`]*)`")

// yamlError turns the YAML library's "line N: msg" into file:line:col: msg.
// The library gives no column for type errors, so the column is where the
// offending key or value appears on its line (else the line's first character).
func yamlError(name string, data []byte, err error) error {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	m := yamlLineRE.FindStringSubmatch(msg)
	if m == nil {
		return &WorldError{File: name, Msg: strings.TrimPrefix(msg, "yaml: ")}
	}
	line, _ := strconv.Atoi(m[1])
	col, _ := strconv.Atoi(m[2])
	if col == 0 {
		col = 1
		lines := strings.Split(string(data), "\n")
		if line >= 1 && line <= len(lines) {
			text := lines[line-1]
			col = len(text) - len(strings.TrimLeft(text, " \t")) + 1
			if sm := yamlSubjectRE.FindStringSubmatch(m[3]); sm != nil {
				subject := sm[1] + sm[2]
				if i := strings.Index(text, subject); subject != "" && i >= 0 {
					col = i + 1
				}
			}
		}
	}
	return &WorldError{File: name, Line: line, Col: col, Msg: m[3]}
}

// find returns the node at a path of mapping keys (or "" when absent).
func find(n *yaml.Node, path ...string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, key := range path {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

func (wf *WorldFile) errAt(root *yaml.Node, msg string, path ...string) error {
	e := &WorldError{File: wf.Path, Msg: msg}
	if n := find(root, path...); n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	return e
}

var timingKeys = map[string]func(*Timing) *time.Duration{
	"provision":        func(t *Timing) *time.Duration { return &t.Provision },
	"pull":             func(t *Timing) *time.Duration { return &t.Pull },
	"stop":             func(t *Timing) *time.Duration { return &t.Stop },
	"deprovision":      func(t *Timing) *time.Duration { return &t.Deprovision },
	"conflictExit":     func(t *Timing) *time.Duration { return &t.ConflictExit },
	"stoppedRetention": func(t *Timing) *time.Duration { return &t.StoppedRetention },
	"stableAfter":      func(t *Timing) *time.Duration { return &t.StableAfter },
	"steadyAfter":      func(t *Timing) *time.Duration { return &t.SteadyAfter },
}

func (wf *WorldFile) validate(root *yaml.Node) error {
	rate := func(v float64, key string) error {
		if v < 0 || v > 1 {
			return wf.errAt(root, fmt.Sprintf("faults.%s must be between 0 and 1, not %g", key, v), "faults", key)
		}
		return nil
	}
	if err := rate(wf.Faults.ThrottleRate, "throttleRate"); err != nil {
		return err
	}
	if err := rate(wf.Faults.ServerErrorRate, "serverErrorRate"); err != nil {
		return err
	}
	if wf.Speed < 0 {
		return wf.errAt(root, "speed must be positive (virtual seconds per real second)", "speed")
	}
	for name, c := range wf.Clusters {
		for i, in := range c.Instances {
			if in.Arch != "" && in.Arch != "x86_64" && in.Arch != "arm64" {
				return wf.errAt(root, fmt.Sprintf("clusters.%s.instances[%d].arch must be x86_64 or arm64, not %q", name, i, in.Arch), "clusters", name, "instances")
			}
			if in.CPU <= 0 || in.Memory <= 0 || in.Count < 0 {
				return wf.errAt(root, fmt.Sprintf("clusters.%s.instances[%d] needs a positive cpu and memory (and count ≥ 0)", name, i), "clusters", name, "instances")
			}
		}
	}
	for name, s := range wf.Services {
		if p := s.MinimumHealthyPercent; p != nil && (*p < 0 || *p > 100) {
			return wf.errAt(root, fmt.Sprintf("services.%s.minimumHealthyPercent must be between 0 and 100", name), "services", name, "minimumHealthyPercent")
		}
		if p := s.MaximumPercent; p != nil && (*p < 100 || *p > 200) {
			return wf.errAt(root, fmt.Sprintf("services.%s.maximumPercent must be between 100 and 200", name), "services", name, "maximumPercent")
		}
		if d := s.DesiredCount; d != nil && *d < 0 {
			return wf.errAt(root, fmt.Sprintf("services.%s.desiredCount must not be negative", name), "services", name, "desiredCount")
		}
	}
	if err := rate(wf.Faults.SchedulerThrottleRate, "schedulerThrottleRate"); err != nil {
		return err
	}
	if err := wf.validateForeign(root); err != nil {
		return err
	}
	for i, im := range wf.Images {
		if im.Match == "" {
			return wf.errAt(root, fmt.Sprintf("images[%d] needs match: (a glob or substring of the image reference)", i), "images")
		}
	}
	for k, v := range wf.Timing {
		if timingKeys[k] == nil {
			return wf.errAt(root, fmt.Sprintf("timing: unknown step %q (provision, pull, stop, deprovision, conflictExit, stoppedRetention, stableAfter, steadyAfter)", k), "timing", k)
		}
		if v < 0 {
			return wf.errAt(root, fmt.Sprintf("timing.%s must not be negative", k), "timing", k)
		}
	}
	return nil
}

// Options turns the world-wide settings of the file into options.
func (wf *WorldFile) Options() []Option {
	var opts []Option
	if wf.Seed != nil {
		opts = append(opts, WithSeed(*wf.Seed))
	}
	if wf.Account != "" {
		opts = append(opts, WithAccount(wf.Account))
	}
	if wf.Region != "" {
		opts = append(opts, WithRegion(wf.Region))
	}
	if wf.ExclusiveMounts != nil && *wf.ExclusiveMounts {
		opts = append(opts, WithExclusiveMounts())
	}
	opts = append(opts, WithFaults(wf.Faults))
	for _, u := range wf.ForeignUpdates {
		opts = append(opts, WithForeignUpdate(u))
	}
	for _, im := range wf.Images {
		opts = append(opts, WithImageBehavior(im.Match, im.ImageBehavior))
	}
	if len(wf.Timing) > 0 {
		t := DefaultTiming()
		for k, v := range wf.Timing {
			*timingKeys[k](&t) = v
		}
		opts = append(opts, WithTiming(t))
	}
	return opts
}

// validateForeign checks the foreignUpdates entries.
func (wf *WorldFile) validateForeign(root *yaml.Node) error {
	for i, u := range wf.ForeignUpdates {
		switch {
		case u.Service == "":
			return wf.errAt(root, fmt.Sprintf("foreignUpdates[%d] needs service: (the service the other actor updates)", i), "foreignUpdates")
		case u.At < 0 || u.AfterUpdate < 0:
			return wf.errAt(root, fmt.Sprintf("foreignUpdates[%d]: at and afterUpdate must not be negative", i), "foreignUpdates")
		case u.At > 0 && u.AfterUpdate > 0:
			return wf.errAt(root, fmt.Sprintf("foreignUpdates[%d] sets both at and afterUpdate: give one (a time after the start, or after the service's first UpdateService)", i), "foreignUpdates")
		case u.DesiredCount != nil && *u.DesiredCount < 0:
			return wf.errAt(root, fmt.Sprintf("foreignUpdates[%d].desiredCount must not be negative", i), "foreignUpdates")
		case u.TaskDefinition == "" && u.DesiredCount == nil && !u.ForceNewDeployment:
			return wf.errAt(root, fmt.Sprintf("foreignUpdates[%d] changes nothing: set taskDefinition, desiredCount or forceNewDeployment", i), "foreignUpdates")
		}
	}
	return nil
}
