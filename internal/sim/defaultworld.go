package sim

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/image"
	"github.com/pier-deploy/pier/internal/taskdef"
)

// The size of a default-world container instance: a 4-vCPU ECS-optimized
// instance with 16 GiB, as ECS registers it (m5.xlarge).
const (
	defaultInstanceCPU    = 4096
	defaultInstanceMemory = 15742
)

// WithWorldFile applies a world file: its world-wide settings now, its
// cluster and service overrides when FromConfig builds the default world.
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

// FromConfig builds the default world of a pier.yaml: its clusters; each
// service running its task-definition file (as it is written, images and
// all) as an earlier revision with its desired count, settled in a steady
// state; EC2 capacity for a rolling update of the bridge/host services (plus
// a spare instance) and
// Fargate for the awsvpc ones; an ALB target group per service that maps a
// port; exclusive mounts for EFS volumes with access points; a synthetic
// image in the registry for every base image the file names; the
// repositories when the file does not create them; health-check URLs mapped
// to their services. A world file (WithWorldFile) overrides any of it.
func FromConfig(f *config.File, opts ...Option) (*World, error) {
	pre := []Option{WithExclusiveMounts()}
	if f.Region != "" {
		pre = append(pre, WithRegion(f.Region))
	}
	w := New(append(pre, opts...)...)
	wf := w.worldFile
	if wf == nil {
		wf = &WorldFile{}
	}
	if err := w.seedImages(f); err != nil {
		return nil, err
	}
	type planned struct {
		svc  *config.Service
		td   *taskDef
		in   *ecs.CreateServiceInput
		over WorldService
	}
	var plans []planned
	w.mu.Lock()
	for _, svc := range f.Services {
		def, err := taskdef.Load(svc.TaskDefinition)
		if err != nil {
			w.mu.Unlock()
			return nil, fmt.Errorf("building the sandbox for service %q: %w", svc.Name, err)
		}
		in, err := def.RegisterInput()
		if err != nil {
			w.mu.Unlock()
			return nil, fmt.Errorf("building the sandbox for service %q: %w", svc.Name, err)
		}
		// With revisionsFromFiles, earlier revisions (INACTIVE copies) put
		// the file's definition at the revision it was described at, so the
		// next one pier registers gets the number it would get in the account.
		for want := fileRevision(svc.TaskDefinition) - 1; wf.RevisionsFromFiles && w.revisions(aws.ToString(in.Family)) < want; {
			old, err := w.opRegisterTaskDefinition(cloneInput(in))
			if err != nil {
				break // the real registration below reports it
			}
			old.TaskDefinition.Status = ecstypes.TaskDefinitionStatusInactive
			old.TaskDefinition.DeregisteredAt = old.TaskDefinition.RegisteredAt
		}
		out, err := w.opRegisterTaskDefinition(in)
		if err != nil {
			w.mu.Unlock()
			return nil, fmt.Errorf("registering task definition %s for service %q in the sandbox: %w", svc.TaskDefinition, svc.Name, err)
		}
		td, _ := w.findTaskDef(aws.ToString(out.TaskDefinition.TaskDefinitionArn))
		clusterName := svc.Cluster
		if clusterName == "" {
			clusterName = f.Cluster
		}
		if clusterName == "" {
			clusterName = "default"
		}
		w.createCluster(clusterName)
		name := svc.Service
		if name == "" {
			name = svc.Name
		}
		over := wf.Services[svc.Name]
		desired := int32(1)
		if svc.DesiredCount != nil {
			desired = *svc.DesiredCount
		}
		if over.DesiredCount != nil {
			desired = *over.DesiredCount
		}
		cin := &ecs.CreateServiceInput{
			Cluster:        aws.String(clusterName),
			ServiceName:    aws.String(name),
			TaskDefinition: out.TaskDefinition.TaskDefinitionArn,
			DesiredCount:   aws.Int32(desired),
			LaunchType:     ecstypes.LaunchTypeEc2,
			DeploymentConfiguration: &ecstypes.DeploymentConfiguration{
				MinimumHealthyPercent: over.MinimumHealthyPercent,
				MaximumPercent:        over.MaximumPercent,
			},
			HealthCheckGracePeriodSeconds: over.HealthCheckGrace,
		}
		if cb := over.CircuitBreaker; cb != nil {
			cin.DeploymentConfiguration.DeploymentCircuitBreaker = &ecstypes.DeploymentCircuitBreaker{Enable: cb.Enable, Rollback: cb.Rollback}
		}
		if td.def.NetworkMode == ecstypes.NetworkModeAwsvpc {
			cin.NetworkConfiguration = &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
				Subnets: []string{"subnet-0sandbox0a", "subnet-0sandbox0b"}, SecurityGroups: []string{"sg-0sandbox"},
			}}
			for _, c := range td.def.Compatibilities {
				if c == ecstypes.CompatibilityFargate {
					cin.LaunchType = ecstypes.LaunchTypeFargate
				}
			}
		}
		if svc.HealthCheck != nil && svc.HealthCheck.URL != "" {
			if err := w.mapHealthURL(svc.HealthCheck.URL, clusterName, name); err != nil {
				w.mu.Unlock()
				return nil, fmt.Errorf("building the sandbox for service %q: %w", svc.Name, err)
			}
		}
		plans = append(plans, planned{svc: svc, td: td, in: cin, over: over})
	}
	w.mu.Unlock()

	// Target groups go through the ELBv2 wire, the way a user would make them.
	for _, p := range plans {
		if p.over.LoadBalancer != nil && !*p.over.LoadBalancer {
			continue
		}
		cname, port := lbContainer(p.td)
		if cname == "" {
			continue
		}
		tg, err := w.createTargetGroup(p.svc.Name, port, p.td.def.NetworkMode == ecstypes.NetworkModeAwsvpc, p.over.DeregistrationDelay)
		if err != nil {
			return nil, fmt.Errorf("creating the target group of service %q in the sandbox: %w", p.svc.Name, err)
		}
		p.in.LoadBalancers = []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String(cname), ContainerPort: aws.Int32(port)}}
	}

	w.mu.Lock()
	for _, cn := range w.clusterOrder {
		c := w.clusters[cn]
		if wc, ok := wf.Clusters[cn]; ok {
			for _, in := range wc.Instances {
				for range max(in.Count, 1) {
					var attrs []ecstypes.Attribute
					if in.Arch != "" {
						attrs = append(attrs, ecstypes.Attribute{Name: aws.String("ecs.cpu-architecture"), Value: aws.String(in.Arch)})
					}
					w.addInstance(c, "", in.CPU, in.Memory, attrs)
				}
			}
			continue
		}
		var cpu, mem, widest, fixedPorts int32
		for _, p := range plans {
			if aws.ToString(p.in.Cluster) != cn || p.in.LaunchType != ecstypes.LaunchTypeEc2 {
				continue
			}
			n := aws.ToInt32(p.in.DesiredCount) * 2 // maximumPercent 200: old and new side by side
			cpu += p.td.cpu * n
			mem += p.td.memory * n
			widest = max(widest, p.td.cpu)
			if len(staticHostPorts(p.td)) > 0 {
				fixedPorts = max(fixedPorts, n)
			}
		}
		if cpu == 0 && mem == 0 {
			continue
		}
		size := max(int32(defaultInstanceCPU), widest)
		// One spare instance: replacements of failing tasks start while the
		// failed ones still stop, and bin-packing leaves gaps.
		count := max((cpu+size-1)/size, (mem+defaultInstanceMemory-1)/defaultInstanceMemory, fixedPorts, 1) + 1
		for range count {
			w.addInstance(c, "", size, defaultInstanceMemory, nil)
		}
	}
	for _, p := range plans {
		if _, err := w.opCreateService(p.in); err != nil {
			w.mu.Unlock()
			return nil, fmt.Errorf("creating service %q in the sandbox: %w", p.svc.Name, err)
		}
	}
	w.mu.Unlock()
	w.settleAll(30 * time.Minute)
	return w, nil
}

// revisions counts a family's registered revisions.
func (w *World) revisions(family string) int {
	if f := w.families[family]; f != nil {
		return len(f.revisions)
	}
	return 0
}

// fileRevision reads the revision a describe-task-definition file was
// taken at (0 when it has none), capped so a typo cannot cost much.
func fileRevision(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	var doc struct {
		Revision       int `json:"revision"`
		TaskDefinition struct {
			Revision int `json:"revision"`
		} `json:"taskDefinition"`
	}
	if json.Unmarshal(data, &doc) != nil {
		return 0
	}
	return min(max(doc.Revision, doc.TaskDefinition.Revision), 1000)
}

// cloneInput copies a RegisterTaskDefinition input deeply enough that
// registering it twice shares no slices.
func cloneInput(in *ecs.RegisterTaskDefinitionInput) *ecs.RegisterTaskDefinitionInput {
	c := *in
	c.ContainerDefinitions = append([]ecstypes.ContainerDefinition(nil), in.ContainerDefinitions...)
	for i := range c.ContainerDefinitions {
		c.ContainerDefinitions[i].PortMappings = append([]ecstypes.PortMapping(nil), in.ContainerDefinitions[i].PortMappings...)
	}
	return &c
}

// settleAll advances the clock until every service reached a steady state
// (or limit passed: a world file may make that impossible on purpose).
func (w *World) settleAll(limit time.Duration) {
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

// lbContainer picks the container a load balancer would front: the first
// essential container that maps a port.
func lbContainer(td *taskDef) (string, int32) {
	for _, c := range td.def.ContainerDefinitions {
		if aws.ToBool(c.Essential) && len(c.PortMappings) > 0 {
			return aws.ToString(c.Name), aws.ToInt32(c.PortMappings[0].ContainerPort)
		}
	}
	return "", 0
}

// seedImages puts a synthetic stand-in for every base image the file names
// into the registry (there is no internet in the sandbox) and creates the
// repositories when the file does not ask pier to.
func (w *World) seedImages(f *config.File) error {
	var refs []string
	for _, im := range f.Images {
		switch {
		case im.Nginx != nil:
			refs = append(refs, orDefault(im.Nginx.Base, image.DefaultNginxBase))
		case im.Next != nil:
			refs = append(refs, orDefault(im.Next.Base, image.DefaultNodeBase))
		case im.SpringBoot != nil:
			refs = append(refs, orDefault(im.SpringBoot.Base, image.DefaultSpringBootBase))
		case im.Files != nil && im.Files.Base != "":
			refs = append(refs, im.Files.Base)
		case im.Copy != nil:
			refs = append(refs, im.Copy.Source)
		}
		if !f.CreateRepositories {
			repo := im.Repository
			if repo == "" {
				repo = im.Name
			}
			if err := w.ecr.CreateRepository(repo, false, false); err != nil && !strings.Contains(err.Error(), "already exists") {
				return fmt.Errorf("creating repository %q in the sandbox: %w", repo, err)
			}
		}
	}
	sort.Strings(refs)
	for i, ref := range refs {
		if i > 0 && refs[i-1] == ref {
			continue
		}
		if _, err := w.ecr.SeedPublic(ref, f.Platforms); err != nil {
			return fmt.Errorf("seeding the synthetic base image %s in the sandbox: %w", ref, err)
		}
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
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

// createTargetGroup makes an internet-facing ALB, a target group and an HTTP
// listener forwarding to it, named after the service.
func (w *World) createTargetGroup(service string, port int32, ipTargets bool, dereg *time.Duration) (string, error) {
	short := service
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
