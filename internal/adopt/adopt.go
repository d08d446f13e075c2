// Package adopt reads services that already run on ECS and turns them into
// a pier.yaml and task-definition files that describe them as they are, so
// that a first `pier plan` shows no change. What pier could do beyond that
// (build the images, which strategy to use) is proposed, never applied:
// images stay as the services run them until the user says otherwise.
//
//	a, err := adopt.Read(ctx, clients.ECS, adopt.Request{Cluster: "inforum", All: true})
//	files, err := a.Files("pier.yaml")
//	err = adopt.Write(files, false)
package adopt

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pier-deploy/pier/internal/awsapi"
	"github.com/pier-deploy/pier/internal/taskdef"
)

// ECS is what adopting asks of Amazon ECS: read-only calls, which
// *ecs.Client satisfies.
type ECS interface {
	ListServices(context.Context, *ecs.ListServicesInput, ...func(*ecs.Options)) (*ecs.ListServicesOutput, error)
	DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinition(context.Context, *ecs.DescribeTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
}

var _ ECS = (*ecs.Client)(nil)

// Request says which services to adopt.
type Request struct {
	Cluster  string
	Services []string // ECS service names; with All, ignored
	All      bool     // every service of the cluster
	Region   string   // written as region: when set
	// OwnRegistries are registry hosts of the user's own images besides
	// private ECR's (the sandbox's registry): an image there is built by
	// the user, one elsewhere is third-party and proposed as copy.
	OwnRegistries []string
}

// Adopted is what was read: the services to write, and those left out.
type Adopted struct {
	Region   string
	Cluster  string
	Services []*Service // sorted by name
	Skipped  []Skipped
}

// Service is one adopted ECS service.
type Service struct {
	Name     string // the ECS service name, also its key in pier.yaml
	Revision string // family:revision of the task definition it runs
	Desired  int32
	TaskDef  *taskdef.TaskDef
	Strategy string // rolling or recreate
	Why      string // why recreate, a sentence; empty for rolling
	Images   []Image
}

// Skipped is a service that cannot be deployed by pier, and why.
type Skipped struct {
	Name, Why string
}

// maxDescribe is DescribeServices' limit of services per call.
const maxDescribe = 10

// Read reads the requested services of one cluster and the task
// definitions they run (with their tags).
func Read(ctx context.Context, api ECS, req Request) (*Adopted, error) {
	if req.Cluster == "" {
		return nil, fmt.Errorf("adopting services: no cluster given")
	}
	names := slices.Clone(req.Services)
	if req.All {
		var err error
		if names, err = listServices(ctx, api, req.Cluster); err != nil {
			return nil, err
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("cluster %s has no services to adopt (check the cluster name and the region)", req.Cluster)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("adopting services of cluster %s: name at least one service, or all of them", req.Cluster)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	a := &Adopted{Region: req.Region, Cluster: req.Cluster}
	var found []types.Service
	for i := 0; i < len(names); i += maxDescribe {
		chunk := names[i:min(i+maxDescribe, len(names))]
		out, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(req.Cluster), Services: chunk})
		if err != nil {
			return nil, fmt.Errorf("describing services %s in cluster %s: %w", strings.Join(chunk, ", "), req.Cluster, awsapi.Explain(err))
		}
		if len(out.Failures) > 0 {
			var missing []string
			for _, f := range out.Failures {
				missing = append(missing, fmt.Sprintf("%s (%s)", serviceName(aws.ToString(f.Arn)), aws.ToString(f.Reason)))
			}
			return nil, fmt.Errorf("cluster %s has no service %s: check the names (pier init --all adopts every service of the cluster)", req.Cluster, strings.Join(missing, ", "))
		}
		found = append(found, out.Services...)
	}
	own := ownRegistries(req.OwnRegistries)
	for i := range found {
		svc := &found[i]
		name := aws.ToString(svc.ServiceName)
		if why := notDeployable(svc); why != "" {
			a.Skipped = append(a.Skipped, Skipped{Name: name, Why: why})
			continue
		}
		s, err := readService(ctx, api, svc, own)
		if err != nil {
			return nil, err
		}
		a.Services = append(a.Services, s)
	}
	slices.SortFunc(a.Services, func(x, y *Service) int { return strings.Compare(x.Name, y.Name) })
	if len(a.Services) == 0 {
		return a, fmt.Errorf("none of the services can be adopted: %s", a.skippedText())
	}
	nameImages(a.Services)
	return a, nil
}

func listServices(ctx context.Context, api ECS, cluster string) ([]string, error) {
	var names []string
	in := &ecs.ListServicesInput{Cluster: aws.String(cluster)}
	for {
		out, err := api.ListServices(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("listing the services of cluster %s: %w", cluster, awsapi.Explain(err))
		}
		for _, arn := range out.ServiceArns {
			names = append(names, serviceName(arn))
		}
		if out.NextToken == nil {
			return names, nil
		}
		in.NextToken = out.NextToken
	}
}

// serviceName is the name at the end of a service ARN
// (arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME, or the older
// service/NAME), or the argument when it is a name already.
func serviceName(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// notDeployable says why pier cannot deploy svc, or "".
func notDeployable(svc *types.Service) string {
	if st := aws.ToString(svc.Status); st != "ACTIVE" {
		return fmt.Sprintf("its status is %s", st)
	}
	if dc := svc.DeploymentController; dc != nil && dc.Type != "" && dc.Type != types.DeploymentControllerTypeEcs {
		return fmt.Sprintf("it deploys through the %s deployment controller; pier deploys with ECS's own rolling update", dc.Type)
	}
	if aws.ToString(svc.TaskDefinition) == "" {
		return "it runs no task definition"
	}
	return ""
}

func readService(ctx context.Context, api ECS, svc *types.Service, own func(string) bool) (*Service, error) {
	name := aws.ToString(svc.ServiceName)
	out, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: svc.TaskDefinition,
		Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	if err != nil {
		return nil, fmt.Errorf("describing task definition %s of service %s: %w", aws.ToString(svc.TaskDefinition), name, awsapi.Explain(err))
	}
	def := out.TaskDefinition
	s := &Service{
		Name:     name,
		Revision: fmt.Sprintf("%s:%d", aws.ToString(def.Family), def.Revision),
		Desired:  svc.DesiredCount,
		TaskDef:  taskdef.FromECS(def, out.Tags...),
		Strategy: "rolling",
	}
	if efs := efsFileSystems(s.TaskDef); len(efs) > 0 && s.Desired <= 1 {
		s.Strategy = "recreate"
		s.Why = fmt.Sprintf("Its task mounts EFS (%s) and the service runs one task: a rolling update would start a second copy on the same data before the old one stops", strings.Join(efs, ", "))
	}
	for _, c := range s.TaskDef.Containers() {
		s.Images = append(s.Images, classify(*c.Def, own))
	}
	return s, nil
}

// efsFileSystems lists the EFS file systems a container of the task
// mounts, each once: a volume no container mounts holds nothing.
func efsFileSystems(td *taskdef.TaskDef) []string {
	mounted := map[string]bool{}
	for _, c := range td.Containers() {
		for _, m := range c.Def.MountPoints {
			mounted[aws.ToString(m.SourceVolume)] = true
		}
	}
	var out []string
	for _, v := range td.EFSVolumes() {
		if id := aws.ToString(v.Config.FileSystemId); id != "" && mounted[v.Name] && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func (a *Adopted) skippedText() string {
	var parts []string
	for _, s := range a.Skipped {
		parts = append(parts, s.Name+": "+s.Why)
	}
	return strings.Join(parts, "; ")
}
