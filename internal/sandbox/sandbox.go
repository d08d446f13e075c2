// Package sandbox builds a simulator world (package sim) from a pier.yaml,
// using only the simulator's public API: the world `--sandbox` and
// `pier sandbox` run against. The simulator itself knows nothing of pier;
// what a pier.yaml means for the world (its clusters, services, capacity,
// target groups, base images) is decided here.
package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/image"
	"github.com/pier-deploy/pier/internal/sim"
	"github.com/pier-deploy/pier/internal/taskdef"
)

// The size of a default-world container instance: a 4-vCPU ECS-optimized
// instance with 16 GiB, as ECS registers it (m5.xlarge).
const (
	defaultInstanceCPU    = 4096
	defaultInstanceMemory = 15742
)

// Start starts a private in-process sandbox for a pier.yaml (what
// `--sandbox` runs commands against): the default world of the file
// (World), overridden by worldFile when it is not empty, served on a free
// loopback port until ctx ends. The clock is not driven unless the world file
// sets speed: code that waits with srv.World().Clock().Sleep then moves
// virtual time itself, instantly and deterministically.
func Start(ctx context.Context, f *config.File, worldFile string, opts ...sim.Option) (*sim.Server, error) {
	if worldFile != "" {
		wf, err := sim.LoadWorldFile(worldFile)
		if err != nil {
			return nil, err
		}
		opts = append([]sim.Option{sim.WithWorldFile(wf)}, opts...)
	}
	w, err := World(f, opts...)
	if err != nil {
		return nil, err
	}
	srv, err := w.Start(ctx)
	if err != nil {
		return nil, err
	}
	if wf := w.WorldFile(); wf != nil && wf.Speed > 0 {
		srv.Drive(ctx, wf.Speed)
	}
	return srv, nil
}

// service is one pier.yaml service on its way into the world.
type service struct {
	svc   *config.Service
	def   *ecstypes.TaskDefinition
	needs sim.TaskDefinitionNeeds
	in    *ecs.CreateServiceInput
	over  sim.WorldService
}

// World builds the default world of a pier.yaml: its clusters; each service
// running its task-definition file (as it is written, images and all) as an
// earlier revision with its desired count, settled in a steady state; EC2
// capacity for a rolling update of the bridge/host services (plus a spare
// instance) and Fargate for the awsvpc ones; an ALB target group per service
// that maps a port; exclusive mounts for EFS volumes with access points; a
// synthetic image in the registry for every base image the file names; the
// repositories when the file does not create them; health-check URLs mapped
// to their services. A world file (sim.WithWorldFile) overrides any of it.
func World(f *config.File, opts ...sim.Option) (*sim.World, error) {
	pre := []sim.Option{sim.WithExclusiveMounts()}
	if f.Region != "" {
		pre = append(pre, sim.WithRegion(f.Region))
	}
	w := sim.New(append(pre, opts...)...)
	wf := w.WorldFile()
	if wf == nil {
		wf = &sim.WorldFile{}
	}
	if err := seedImages(w, f); err != nil {
		return nil, err
	}
	var services []*service
	for _, svc := range f.Services {
		s, err := registerService(w, f, wf, svc)
		if err != nil {
			return nil, err
		}
		services = append(services, s)
	}
	for _, s := range services {
		if err := frontService(w, s); err != nil {
			return nil, err
		}
	}
	if err := addCapacity(w, wf, services); err != nil {
		return nil, err
	}
	for _, s := range services {
		if err := w.CreateService(s.in); err != nil {
			return nil, fmt.Errorf("creating service %q in the sandbox: %w", s.svc.Name, err)
		}
	}
	w.Settle(30 * time.Minute)
	return w, nil
}

// registerService registers a service's task-definition file (after its
// earlier revisions, when the world file numbers revisions from the files),
// creates its cluster and prepares its CreateService call.
func registerService(w *sim.World, f *config.File, wf *sim.WorldFile, svc *config.Service) (*service, error) {
	def, err := taskdef.Load(svc.TaskDefinition)
	if err != nil {
		return nil, fmt.Errorf("building the sandbox for service %q: %w", svc.Name, err)
	}
	in, err := def.RegisterInput()
	if err != nil {
		return nil, fmt.Errorf("building the sandbox for service %q: %w", svc.Name, err)
	}
	for i := range in.ContainerDefinitions {
		if c := &in.ContainerDefinitions[i]; c.Image != nil {
			c.Image = aws.String(seedImage(*c.Image))
		}
	}
	// With revisionsFromFiles, earlier revisions (INACTIVE copies) put the
	// file's definition at the revision it was described at, so the next one
	// pier registers gets the number it would get in the account.
	for want := fileRevision(svc.TaskDefinition) - 1; wf.RevisionsFromFiles && w.Revisions(aws.ToString(in.Family)) < want; {
		if w.RegisterInactiveTaskDefinition(cloneInput(in)) != nil {
			break // the real registration below reports it
		}
	}
	td, needs, err := w.RegisterTaskDefinition(in)
	if err != nil {
		return nil, fmt.Errorf("registering task definition %s for service %q in the sandbox: %w", svc.TaskDefinition, svc.Name, err)
	}
	clusterName := firstOf(svc.Cluster, f.Cluster, "default")
	w.CreateCluster(clusterName)
	name := firstOf(svc.Service, svc.Name)
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
		TaskDefinition: td.TaskDefinitionArn,
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
	if td.NetworkMode == ecstypes.NetworkModeAwsvpc {
		cin.NetworkConfiguration = &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: []string{"subnet-0sandbox0a", "subnet-0sandbox0b"}, SecurityGroups: []string{"sg-0sandbox"},
		}}
		for _, c := range td.Compatibilities {
			if c == ecstypes.CompatibilityFargate {
				cin.LaunchType = ecstypes.LaunchTypeFargate
			}
		}
	}
	if svc.HealthCheck != nil && svc.HealthCheck.URL != "" {
		if err := w.MapHealthURL(svc.HealthCheck.URL, clusterName, name); err != nil {
			return nil, fmt.Errorf("building the sandbox for service %q: %w", svc.Name, err)
		}
	}
	return &service{svc: svc, def: td, needs: needs, in: cin, over: over}, nil
}

// frontService puts a load balancer in front of a service that maps a port
// (unless the world file says it has none).
func frontService(w *sim.World, s *service) error {
	if s.over.LoadBalancer != nil && !*s.over.LoadBalancer {
		return nil
	}
	cname, port := lbContainer(s.def)
	if cname == "" {
		return nil
	}
	tg, err := w.CreateFrontedTargetGroup(s.svc.Name, port, s.def.NetworkMode == ecstypes.NetworkModeAwsvpc, s.over.DeregistrationDelay)
	if err != nil {
		return fmt.Errorf("creating the target group of service %q in the sandbox: %w", s.svc.Name, err)
	}
	s.in.LoadBalancers = []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String(cname), ContainerPort: aws.Int32(port)}}
	return nil
}

// addCapacity gives each cluster its instances: the world file's, or enough
// for a rolling update (old and new tasks side by side) plus a spare.
func addCapacity(w *sim.World, wf *sim.WorldFile, services []*service) error {
	for _, cn := range w.Clusters() {
		if wc, ok := wf.Clusters[cn]; ok {
			for _, in := range wc.Instances {
				for range max(in.Count, 1) {
					var attrs []ecstypes.Attribute
					if in.Arch != "" {
						attrs = append(attrs, ecstypes.Attribute{Name: aws.String("ecs.cpu-architecture"), Value: aws.String(in.Arch)})
					}
					if err := w.AddContainerInstance(cn, in.CPU, in.Memory, attrs...); err != nil {
						return err
					}
				}
			}
			continue
		}
		var cpu, mem, widest, fixedPorts int32
		for _, s := range services {
			if aws.ToString(s.in.Cluster) != cn || s.in.LaunchType != ecstypes.LaunchTypeEc2 {
				continue
			}
			n := aws.ToInt32(s.in.DesiredCount) * 2 // maximumPercent 200: old and new side by side
			cpu += s.needs.CPU * n
			mem += s.needs.Memory * n
			widest = max(widest, s.needs.CPU)
			if len(s.needs.StaticHostPorts) > 0 {
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
			if err := w.AddContainerInstance(cn, size, defaultInstanceMemory); err != nil {
				return err
			}
		}
	}
	return nil
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

// lbContainer picks the container a load balancer would front: the first
// essential container that maps a port.
func lbContainer(td *ecstypes.TaskDefinition) (string, int32) {
	for _, c := range td.ContainerDefinitions {
		if aws.ToBool(c.Essential) && len(c.PortMappings) > 0 {
			return aws.ToString(c.Name), aws.ToInt32(c.PortMappings[0].ContainerPort)
		}
	}
	return "", 0
}

// seedImages puts a synthetic stand-in for every base image the file names
// into the registry (there is no internet in the sandbox) and creates the
// repositories when the file does not ask pier to.
func seedImages(w *sim.World, f *config.File) error {
	var refs []string
	for _, im := range f.Images {
		switch {
		case im.Nginx != nil:
			refs = append(refs, firstOf(im.Nginx.Base, image.DefaultNginxBase))
		case im.Next != nil:
			refs = append(refs, firstOf(im.Next.Base, image.DefaultNodeBase))
		case im.SpringBoot != nil:
			refs = append(refs, firstOf(im.SpringBoot.Base, image.DefaultSpringBootBase))
		case im.Files != nil && im.Files.Base != "":
			refs = append(refs, im.Files.Base)
		case im.Copy != nil:
			refs = append(refs, im.Copy.Source)
		}
		if !f.CreateRepositories {
			repo := firstOf(im.Repository, im.Name)
			if err := w.ECR().CreateRepository(repo, false, false); err != nil && !strings.Contains(err.Error(), "already exists") {
				return fmt.Errorf("creating repository %q in the sandbox: %w", repo, err)
			}
		}
	}
	sort.Strings(refs)
	for i, ref := range refs {
		if i > 0 && refs[i-1] == ref {
			continue
		}
		if _, err := w.ECR().SeedPublic(ref, f.Platforms); err != nil {
			return fmt.Errorf("seeding the synthetic base image %s in the sandbox: %w", ref, err)
		}
	}
	return nil
}

// firstOf is the first non-empty string.
func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// seedImage is the image the revision running before pier's first deploy
// has. Task-definition files may carry redacted images ("~~/app:latest",
// which pier replaces with the image it builds), but ECS refuses such a
// reference ("Container.image contains invalid characters."): the seed runs
// the reference without the characters ECS does not allow.
func seedImage(image string) string {
	if sim.ValidImage(image) {
		return image
	}
	var b strings.Builder
	for _, r := range image {
		if sim.ValidImage(string(r)) {
			b.WriteRune(r)
		}
	}
	return strings.TrimLeft(b.String(), "/")
}
