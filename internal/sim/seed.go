package sim

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Seeding: a program that wants a world in a given state before it serves
// (pier's sandbox builds one from pier.yaml) sets it up with these calls.
// Each is the same operation the wire offers, run in-process and under the
// world's lock, so a seeded world is one a client could have made.

// WithWorldFile applies a world file: its world-wide settings now, its
// cluster and service overrides when a world is built from them (pier's sandbox).
func WithWorldFile(wf *WorldFile) Option {
	return func(o *options) {
		for _, opt := range wf.Options() {
			opt(o)
		}
		if wf.ExclusiveMounts != nil {
			o.exclusive = *wf.ExclusiveMounts
		}
		o.world = wf
	}
}

// TaskDefinitionNeeds is what one task of a registered revision reserves on
// a container instance: CPU units, memory MiB and fixed host ports.
type TaskDefinitionNeeds struct {
	CPU, Memory int32
	// StaticHostPorts are the host ports a task holds on its instance (host
	// mode, or bridge mode with a hostPort other than 0).
	StaticHostPorts []int32
}

// RegisterTaskDefinition registers a revision as RegisterTaskDefinition on
// the wire does, and returns it with what one of its tasks reserves.
func (w *World) RegisterTaskDefinition(in *ecs.RegisterTaskDefinitionInput) (*ecstypes.TaskDefinition, TaskDefinitionNeeds, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	out, err := w.opRegisterTaskDefinition(in)
	if err != nil {
		return nil, TaskDefinitionNeeds{}, err
	}
	td, err := w.findTaskDef(aws.ToString(out.TaskDefinition.TaskDefinitionArn))
	if err != nil {
		return nil, TaskDefinitionNeeds{}, err
	}
	def := td.def
	return &def, TaskDefinitionNeeds{CPU: td.cpu, Memory: td.memory, StaticHostPorts: staticHostPorts(td)}, nil
}

// RegisterInactiveTaskDefinition registers a revision that was deregistered
// the moment it was registered: an earlier revision of a family's history.
func (w *World) RegisterInactiveTaskDefinition(in *ecs.RegisterTaskDefinitionInput) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	out, err := w.opRegisterTaskDefinition(in)
	if err != nil {
		return err
	}
	out.TaskDefinition.Status = ecstypes.TaskDefinitionStatusInactive
	out.TaskDefinition.DeregisteredAt = out.TaskDefinition.RegisteredAt
	return nil
}

// Revisions counts a family's registered revisions, ACTIVE or not.
func (w *World) Revisions(family string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if f := w.families[family]; f != nil {
		return len(f.revisions)
	}
	return 0
}

// CreateCluster makes an ACTIVE cluster of that name (a no-op when it exists).
func (w *World) CreateCluster(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.createCluster(name)
}

// Clusters names the world's clusters in the order they were created.
func (w *World) Clusters() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.clusterOrder...)
}

// AddContainerInstance registers an EC2 container instance with cpu units,
// memory MiB and attributes (ecs.cpu-architecture, …) in a cluster.
func (w *World) AddContainerInstance(cluster string, cpu, memory int32, attrs ...ecstypes.Attribute) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.clusters[cluster]
	if !ok {
		return fmt.Errorf("adding a container instance: no cluster %q", cluster)
	}
	w.addInstance(c, "", cpu, memory, attrs)
	return nil
}

// CreateService creates a service as CreateService on the wire does.
func (w *World) CreateService(in *ecs.CreateServiceInput) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err := w.opCreateService(in)
	return err
}

// MapHealthURL makes rawURL answer through the sandbox's health endpoint
// from the state of a service (see healthurl.go).
func (w *World) MapHealthURL(rawURL, cluster, service string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mapHealthURL(rawURL, cluster, service)
}

// WorldFile is the world file the world was made with (nil when none).
func (w *World) WorldFile() *WorldFile { return w.worldFile }

// Settle advances the clock until every service reached a steady state, or
// until limit passed (a world file may make that impossible on purpose).
func (w *World) Settle(limit time.Duration) {
	for waited := time.Duration(0); waited < limit; waited += 10 * time.Second {
		w.clock.Advance(10 * time.Second)
		if w.allSteady() {
			return
		}
	}
}

func (w *World) allSteady() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.clusters {
		for _, s := range c.services {
			if p := s.primary(); s.status == "ACTIVE" && (p == nil || p.rollout != ecstypes.DeploymentRolloutStateCompleted || len(s.deployments) > 1) {
				return false
			}
		}
	}
	return true
}

// elbCall runs one ELBv2 awsQuery action against the world's ELBv2 and
// returns the XML reply.
func (w *World) elbCall(action string, params url.Values) ([]byte, error) {
	params.Set("Action", action)
	params.Set("Version", "2015-12-01")
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(params.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	w.elb.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d: %s", action, rec.Code, rec.Body.String())
	}
	return rec.Body.Bytes(), nil
}

// CreateFrontedTargetGroup makes an internet-facing ALB, a target group and
// an HTTP listener forwarding to it, named after name, through the ELBv2
// wire the way a user would make them, and returns the target group's ARN.
// dereg, when set, is the target group's deregistration delay.
func (w *World) CreateFrontedTargetGroup(name string, port int32, ipTargets bool, dereg *time.Duration) (string, error) {
	short := name
	if len(short) > 28 {
		short = short[:28]
	}
	short = strings.Trim(short, "-")
	lbXML, err := w.elbCall("CreateLoadBalancer", url.Values{
		"Name": {short + "-alb"}, "Subnets.member.1": {"subnet-0sandbox0a"}, "Subnets.member.2": {"subnet-0sandbox0b"},
	})
	if err != nil {
		return "", err
	}
	targetType := "instance"
	if ipTargets {
		targetType = "ip"
	}
	tgXML, err := w.elbCall("CreateTargetGroup", url.Values{
		"Name": {short + "-tg"}, "Protocol": {"HTTP"}, "Port": {strconv.Itoa(int(port))}, "VpcId": {"vpc-0sandbox"},
		"TargetType": {targetType}, "HealthCheckPath": {"/"},
	})
	if err != nil {
		return "", err
	}
	var lb struct {
		Arn string `xml:"CreateLoadBalancerResult>LoadBalancers>member>LoadBalancerArn"`
	}
	var tg struct {
		Arn string `xml:"CreateTargetGroupResult>TargetGroups>member>TargetGroupArn"`
	}
	if err := xml.Unmarshal(lbXML, &lb); err != nil || lb.Arn == "" {
		return "", fmt.Errorf("reading the CreateLoadBalancer reply %q: %v", lbXML, err)
	}
	if err := xml.Unmarshal(tgXML, &tg); err != nil || tg.Arn == "" {
		return "", fmt.Errorf("reading the CreateTargetGroup reply %q: %v", tgXML, err)
	}
	if _, err := w.elbCall("CreateListener", url.Values{
		"LoadBalancerArn": {lb.Arn}, "Protocol": {"HTTP"}, "Port": {"80"},
		"DefaultActions.member.1.Type": {"forward"}, "DefaultActions.member.1.TargetGroupArn": {tg.Arn},
	}); err != nil {
		return "", err
	}
	if dereg != nil {
		if _, err := w.elbCall("ModifyTargetGroupAttributes", url.Values{
			"TargetGroupArn":            {tg.Arn},
			"Attributes.member.1.Key":   {"deregistration_delay.timeout_seconds"},
			"Attributes.member.1.Value": {strconv.Itoa(int(dereg.Seconds()))},
		}); err != nil {
			return "", err
		}
	}
	return tg.Arn, nil
}
