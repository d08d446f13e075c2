// Package iampolicy writes the least-privilege IAM policy pier needs for one
// pier.yaml: the ECS, ECR and ELBv2 actions pier calls (internal/awsapi and the
// registry data plane), limited to the file's clusters, services and repositories,
// and iam:PassRole for the task and execution roles its task definitions name.
//
// Where an AWS action cannot be limited to a resource, the statement says "*" and its
// Sid says why: ECS task-definition actions take no resource ARN
// (aws/containers-roadmap#929), ecr:GetAuthorizationToken and
// elasticloadbalancing:DescribeTargetHealth neither.
package iampolicy

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/taskdef"
)

// Policy is an IAM policy document.
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a policy. Action and Resource are sorted so the same
// file always gives the same policy.
type Statement struct {
	Sid       string                         `json:"Sid"`
	Effect    string                         `json:"Effect"`
	Action    []string                       `json:"Action"`
	Resource  []string                       `json:"Resource"`
	Condition map[string]map[string][]string `json:"Condition,omitempty"`
}

// JSON renders the policy as indented JSON, ready for `aws iam put-role-policy`.
func (p *Policy) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("rendering the IAM policy: %w", err)
	}
	return append(b, '\n'), nil
}

// Actions returns every action the policy allows, sorted, without duplicates.
func (p *Policy) Actions() []string {
	var out []string
	for _, s := range p.Statement {
		out = append(out, s.Action...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Warning is something the policy had to assume, at the place that made it assume.
type Warning struct {
	Pos config.Pos
	Msg string
}

func (w Warning) String() string {
	if w.Pos.File == "" {
		return w.Msg
	}
	return w.Pos.String() + ": " + w.Msg
}

// Service is what the policy needs to know about one service of the file.
type Service struct {
	Name    string           // ECS service name
	Cluster string           // cluster name or ARN
	Task    *taskdef.TaskDef // its task definition, as the file gives it
	// KeepRevisions is the service's keepRevisions: above 0, pier deregisters
	// the revisions it no longer keeps.
	KeepRevisions int
}

// ecrHost matches an ECR registry host: account, region and the partition's suffix.
var ecrHost = regexp.MustCompile(`^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$`)

// roleARN matches an IAM role ARN and captures partition and account.
var roleARN = regexp.MustCompile(`^arn:(aws[a-z-]*):iam::(\d{12}):role/.+$`)

// roleName is what IAM allows in a role name.
var roleName = regexp.MustCompile(`[\w+=,.@-]{1,64}$`)

// scope is the account, region and partition resources are named in.
type scope struct{ partition, region, account string }

func (s scope) arn(service, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", s.partition, service, s.region, s.account, resource)
}

// For computes the policy for f, whose services' task definitions are given in
// services (the CLI loads them with Load). Warnings say what was assumed.
func For(f *config.File, services []Service) (*Policy, []Warning) {
	var warns []Warning
	sc := scopeOf(f, services, &warns)

	var (
		clusters, serviceARNs, tasks, instances []string
		roles                                   []string
		tagged, retains                         bool
	)
	for _, s := range services {
		retains = retains || s.KeepRevisions > 0
		cluster := s.Cluster
		if strings.HasPrefix(cluster, "arn:") {
			// A cluster given by ARN names its own account and region.
			clusters = append(clusters, cluster)
			cluster = cluster[strings.LastIndex(cluster, "/")+1:]
		} else {
			clusters = append(clusters, sc.arn("ecs", "cluster/"+cluster))
		}
		serviceARNs = append(serviceARNs, sc.arn("ecs", "service/"+cluster+"/"+s.Name))
		tasks = append(tasks, sc.arn("ecs", "task/"+cluster+"/*"))
		instances = append(instances, sc.arn("ecs", "container-instance/"+cluster+"/*"))
		if s.Task == nil {
			continue
		}
		if len(s.Task.Input.Tags) > 0 {
			tagged = true
		}
		for _, field := range []struct{ name, value string }{
			{"taskRoleArn", s.Task.TaskRoleArn()},
			{"executionRoleArn", deref(s.Task.Input.ExecutionRoleArn)},
		} {
			if field.value == "" {
				continue
			}
			arn, w := passRoleARN(field.value, sc)
			if w != "" {
				warns = append(warns, Warning{Pos: config.Pos(s.Task.Pos(field.name)), Msg: fmt.Sprintf("%s %q %s", field.name, field.value, w)})
			}
			if arn != "" {
				roles = append(roles, arn)
			}
		}
	}

	var repos, baseRepos []string
	for _, im := range f.Images {
		name := im.Repository
		if name == "" {
			name = im.Name
		}
		repos = append(repos, repositoryARN(f.Registry, name, sc))
		if base := baseOf(im); base != "" {
			if arn, ok := ecrRepositoryOf(base); ok {
				baseRepos = append(baseRepos, arn)
			}
		}
	}

	p := &Policy{Version: "2012-10-17"}
	add := func(sid string, actions, resources []string, cond map[string]map[string][]string) {
		if len(actions) == 0 || len(resources) == 0 {
			return
		}
		p.Statement = append(p.Statement, Statement{Sid: sid, Effect: "Allow", Action: sorted(actions), Resource: sorted(resources), Condition: cond})
	}

	add("EcrLogin", []string{"ecr:GetAuthorizationToken"}, []string{"*"}, nil)
	push := []string{
		"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
		"ecr:DescribeRepositories", "ecr:GetDownloadUrlForLayer",
		"ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart",
	}
	if f.CreateRepositories {
		push = append(push, "ecr:CreateRepository")
	}
	add("EcrPushImages", push, repos, nil)
	add("EcrPullBaseImages", []string{"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}, without(baseRepos, repos), nil)

	taskDefs := []string{"ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions", "ecs:RegisterTaskDefinition"}
	if retains {
		// Only keepRevisions deregisters: without it pier never removes a revision.
		taskDefs = append(taskDefs, "ecs:DeregisterTaskDefinition")
	}
	add("EcsTaskDefinitionsNoResourceLevelPermissions", taskDefs, []string{"*"}, nil)
	if tagged {
		add("EcsTagTaskDefinitionsOnRegister", []string{"ecs:TagResource"}, []string{"*"},
			map[string]map[string][]string{"StringEquals": {"ecs:CreateAction": {"RegisterTaskDefinition"}}})
	}
	add("EcsServices", []string{"ecs:DescribeServices", "ecs:UpdateService"}, serviceARNs, nil)
	add("EcsTasks", []string{"ecs:DescribeTasks"}, tasks, nil)
	add("EcsListTasksInClusters", []string{"ecs:ListTasks"}, []string{"*"},
		map[string]map[string][]string{"ArnEquals": {"ecs:cluster": sorted(clusters)}})
	add("EcsContainerInstances", []string{"ecs:DescribeContainerInstances"}, instances, nil)
	add("EcsClusters", []string{"ecs:ListContainerInstances"}, clusters, nil)
	add("ElbTargetHealthNoResourceLevelPermissions", []string{"elasticloadbalancing:DescribeTargetHealth"}, []string{"*"}, nil)
	add("PassTaskRolesToEcs", []string{"iam:PassRole"}, roles,
		map[string]map[string][]string{"StringEquals": {"iam:PassedToService": {"ecs-tasks.amazonaws.com"}}})
	return p, warns
}

// scopeOf finds the account, region and partition: the registry host names all
// three; else region: from the file and the account from the roles' ARNs; what
// stays unknown is "*", with a warning.
func scopeOf(f *config.File, services []Service, warns *[]Warning) scope {
	sc := scope{partition: "aws", region: f.Region}
	if m := ecrHost.FindStringSubmatch(f.Registry); m != nil {
		sc.account = m[1]
		if sc.region == "" {
			sc.region = m[2]
		}
		if m[3] != "" {
			sc.partition = "aws-cn"
		}
	} else {
		accounts := map[string]bool{}
		for _, s := range services {
			if s.Task == nil {
				continue
			}
			for _, r := range []string{s.Task.TaskRoleArn(), deref(s.Task.Input.ExecutionRoleArn)} {
				if m := roleARN.FindStringSubmatch(r); m != nil {
					accounts[m[2]] = true
					sc.partition = m[1]
				}
			}
		}
		if len(accounts) == 1 {
			for a := range accounts {
				sc.account = a
			}
		}
	}
	switch {
	case strings.HasPrefix(sc.region, "cn-"):
		sc.partition = "aws-cn"
	case strings.HasPrefix(sc.region, "us-gov-"):
		sc.partition = "aws-us-gov"
	}
	if sc.account == "" {
		sc.account = "*"
		*warns = append(*warns, Warning{Msg: "the account is unknown (no registry: host and no role ARN in the task definitions): resources name account *"})
	}
	if sc.region == "" {
		sc.region = "*"
		*warns = append(*warns, Warning{Msg: "the region is unknown (no region: in the file and no registry: host): resources name region *"})
	}
	return sc
}

// passRoleARN turns a task definition's role reference into the ARN iam:PassRole is
// checked against. ECS takes a role name as well as an ARN; anything else is taken at
// its trailing role name, with a warning.
func passRoleARN(ref string, sc scope) (arn, warning string) {
	if roleARN.MatchString(ref) {
		return ref, ""
	}
	name := ref
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		name = ref[i+1:]
	}
	if full := roleName.FindString(name); full == name && name != "" {
		return fmt.Sprintf("arn:%s:iam::%s:role/%s", sc.partition, sc.account, name), ""
	}
	tail := roleName.FindString(name)
	if tail == "" {
		return "", "names no IAM role: left out of iam:PassRole; ECS will reject it too"
	}
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", sc.partition, sc.account, tail),
		fmt.Sprintf("is neither a role ARN nor a role name; the policy assumes role %q", tail)
}

func repositoryARN(registry, name string, sc scope) string {
	if m := ecrHost.FindStringSubmatch(registry); m != nil {
		part := "aws"
		if m[3] != "" {
			part = "aws-cn"
		}
		return fmt.Sprintf("arn:%s:ecr:%s:%s:repository/%s", part, m[2], m[1], name)
	}
	return sc.arn("ecr", "repository/"+name)
}

// ecrRepositoryOf returns the repository ARN of an image reference in ECR.
func ecrRepositoryOf(ref string) (string, bool) {
	host, rest, ok := strings.Cut(ref, "/")
	if !ok {
		return "", false
	}
	m := ecrHost.FindStringSubmatch(host)
	if m == nil {
		return "", false
	}
	if i := strings.IndexAny(rest, "@"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndex(rest, ":"); i >= 0 {
		rest = rest[:i]
	}
	part := "aws"
	if m[3] != "" {
		part = "aws-cn"
	}
	return fmt.Sprintf("arn:%s:ecr:%s:%s:repository/%s", part, m[2], m[1], rest), true
}

// baseOf is the image an image is built on (or mirrored from).
func baseOf(im *config.Image) string {
	switch {
	case im.Nginx != nil:
		return im.Nginx.Base
	case im.Next != nil:
		return im.Next.Base
	case im.SpringBoot != nil:
		return im.SpringBoot.Base
	case im.Files != nil:
		return im.Files.Base
	case im.Copy != nil:
		return im.Copy.Source
	}
	return ""
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// without returns the elements of a not in b.
func without(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Load reads the task definition of every service of f, for For.
func Load(f *config.File) ([]Service, error) {
	var out []Service
	for _, s := range f.Services {
		td, err := taskdef.Load(s.TaskDefinition)
		if err != nil {
			return nil, fmt.Errorf("reading the task definition of service %q: %w", s.Name, err)
		}
		name, cluster := s.Service, s.Cluster
		if name == "" {
			name = s.Name
		}
		if cluster == "" {
			cluster = f.Cluster
		}
		out = append(out, Service{Name: name, Cluster: cluster, Task: td, KeepRevisions: s.KeepRevisions})
	}
	return out, nil
}
