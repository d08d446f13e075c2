package iampolicy

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/pier-deploy/pier/internal/awsapi"
	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/deploy"
	"github.com/pier-deploy/pier/internal/registry"
	"github.com/pier-deploy/pier/internal/taskdef"
)

var update = flag.Bool("update", false, "rewrite golden files")

func inforum(t *testing.T) (*config.File, []Service) {
	t.Helper()
	f, err := config.Load("../../testdata/inforum/pier.yaml", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	services, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	return f, services
}

// TestInforumGolden: the policy for the reference deployment, checked against a
// golden file (go test -update rewrites it), and the assumptions it printed.
func TestInforumGolden(t *testing.T) {
	f, services := inforum(t)
	p, warns := For(f, services)
	got, err := p.JSON()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "inforum-policy.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("policy differs from %s (go test -update rewrites it):\n%s", path, got)
	}
	// The seed's roles are full ARNs (ECS rejects anything else with "Role is
	// not valid"), so nothing had to be assumed; TestPassRoleARN covers the
	// redacted forms.
	if len(warns) != 0 {
		t.Errorf("warnings = %v, want none for the seed's role ARNs", warns)
	}
}

// dataPlane are the ECR actions the registry protocol (go-containerregistry's pusher)
// needs; they are not SDK calls, so awsapi does not list them.
var dataPlane = []string{
	"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
	"ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart",
}

// TestCoversEveryCallPierMakes holds the policy and pier's AWS surface equal: every
// method of the interfaces pier calls AWS through is allowed, and nothing else is,
// except the registry data plane, tagging on registration and iam:PassRole.
func TestCoversEveryCallPierMakes(t *testing.T) {
	f, services := inforum(t)
	if p, _ := For(f, services); slices.Contains(p.Actions(), "ecs:DeregisterTaskDefinition") {
		t.Error("the policy allows ecs:DeregisterTaskDefinition, but no service of the file keeps revisions")
	}
	// With keepRevisions pier deregisters old revisions: the whole surface is called.
	services[0].KeepRevisions = 5
	p, _ := For(f, services)
	var calls []string
	// Every interface through which pier calls AWS: awsapi's, and the narrower ones
	// packages declare for themselves.
	for _, api := range []struct {
		prefix string
		iface  reflect.Type
	}{
		{"ecs", reflect.TypeFor[awsapi.ECS]()},
		{"ecr", reflect.TypeFor[awsapi.ECR]()},
		{"elasticloadbalancing", reflect.TypeFor[awsapi.ELB]()},
		{"ecr", reflect.TypeFor[registry.ECRAPI]()},
		{"ecs", reflect.TypeFor[deploy.ECSReader]()},
	} {
		for i := range api.iface.NumMethod() {
			calls = append(calls, api.prefix+":"+api.iface.Method(i).Name)
		}
	}
	slices.Sort(calls)
	calls = slices.Compact(calls)
	if len(calls) < 10 {
		t.Fatalf("found only %d methods on awsapi's interfaces: %q", len(calls), calls)
	}
	allowed := p.Actions()
	for _, c := range calls {
		if !slices.Contains(allowed, c) {
			t.Errorf("pier calls %s (internal/awsapi) but the policy does not allow it", c)
		}
	}
	extra := append(slices.Clone(dataPlane), "ecs:TagResource", "iam:PassRole")
	for _, a := range allowed {
		if !slices.Contains(calls, a) && !slices.Contains(extra, a) {
			t.Errorf("the policy allows %s, which pier never calls", a)
		}
	}
}

var arnPattern = regexp.MustCompile(`^(\*|arn:aws(-cn|-us-gov)?:(ecs|ecr|iam):([a-z0-9-]+|\*)?:(\d{12}|\*):[a-z-]+/[\w+=,.@/*-]+)$`)

// TestPolicyShape: valid JSON that IAM accepts in shape: version, Allow statements with
// unique Sids, actions in service:Action form, resources that are ARNs or *.
func TestPolicyShape(t *testing.T) {
	f, services := inforum(t)
	p, _ := For(f, services)
	raw, _ := p.JSON()
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("policy is not JSON: %v", err)
	}
	if doc["Version"] != "2012-10-17" {
		t.Errorf("Version = %v", doc["Version"])
	}
	sids := map[string]bool{}
	for _, s := range p.Statement {
		if s.Effect != "Allow" || len(s.Action) == 0 || len(s.Resource) == 0 {
			t.Errorf("statement %+v: want Allow with actions and resources", s)
		}
		if sids[s.Sid] || !regexp.MustCompile(`^[A-Za-z0-9]+$`).MatchString(s.Sid) {
			t.Errorf("Sid %q repeated or not alphanumeric", s.Sid)
		}
		sids[s.Sid] = true
		for _, a := range s.Action {
			if !regexp.MustCompile(`^[a-z]+:[A-Z][A-Za-z]+$`).MatchString(a) {
				t.Errorf("action %q is not service:Action", a)
			}
		}
		for _, r := range s.Resource {
			if !arnPattern.MatchString(r) {
				t.Errorf("resource %q is not an ARN or *", r)
			}
		}
	}
}

func td(t *testing.T, taskRole, execRole string, tags bool) *taskdef.TaskDef {
	t.Helper()
	in := map[string]any{
		"family":               "app",
		"containerDefinitions": []any{map[string]any{"name": "app", "image": "x"}},
	}
	if taskRole != "" {
		in["taskRoleArn"] = taskRole
	}
	if execRole != "" {
		in["executionRoleArn"] = execRole
	}
	if tags {
		in["tags"] = []any{map[string]any{"key": "team", "value": "web"}}
	}
	data, _ := json.Marshal(in)
	d, err := taskdef.Parse("app-task.json", data)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func statement(p *Policy, sid string) *Statement {
	for i := range p.Statement {
		if p.Statement[i].Sid == sid {
			return &p.Statement[i]
		}
	}
	return nil
}

func TestFor(t *testing.T) {
	tests := []struct {
		name     string
		file     config.File
		services func(t *testing.T) []Service
		check    func(t *testing.T, p *Policy, warns []Warning)
	}{
		{
			name: "registry host names account, region and the China partition",
			file: config.File{Registry: "210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn", Images: []*config.Image{{Name: "web", Repository: "team/web"}}},
			services: func(t *testing.T) []Service {
				return []Service{{Name: "web", Cluster: "prod", Task: td(t, "web-task", "", false)}}
			},
			check: func(t *testing.T, p *Policy, warns []Warning) {
				if len(warns) != 0 {
					t.Errorf("warnings %v", warns)
				}
				wantRes(t, p, "EcrPushImages", "arn:aws-cn:ecr:cn-north-1:210987654321:repository/team/web")
				wantRes(t, p, "EcsServices", "arn:aws-cn:ecs:cn-north-1:210987654321:service/prod/web")
				wantRes(t, p, "PassTaskRolesToEcs", "arn:aws-cn:iam::210987654321:role/web-task")
				if statement(p, "EcrPushImages") != nil && slices.Contains(statement(p, "EcrPushImages").Action, "ecr:CreateRepository") {
					t.Error("CreateRepository allowed without createRepositories: true")
				}
				if statement(p, "EcsTagTaskDefinitionsOnRegister") != nil {
					t.Error("TagResource allowed for untagged task definitions")
				}
			},
		},
		{
			name: "nothing names the account: * and a warning",
			file: config.File{Region: "eu-west-1", Cluster: "c"},
			services: func(t *testing.T) []Service {
				return []Service{{Name: "api", Cluster: "c", Task: td(t, "", "", false)}}
			},
			check: func(t *testing.T, p *Policy, warns []Warning) {
				if len(warns) != 1 || !strings.Contains(warns[0].Msg, "account is unknown") {
					t.Errorf("warnings = %v", warns)
				}
				wantRes(t, p, "EcsServices", "arn:aws:ecs:eu-west-1:*:service/c/api")
				if statement(p, "PassTaskRolesToEcs") != nil || statement(p, "EcrPushImages") != nil {
					t.Error("statements without resources were written")
				}
			},
		},
		{
			name: "cluster by ARN, roles by path, tagged definitions, a base image in ECR",
			file: config.File{
				Region: "us-east-1", CreateRepositories: true,
				Images: []*config.Image{{Name: "api", Files: &config.FilesBuild{Base: "111122223333.dkr.ecr.us-east-1.amazonaws.com/base/jre:21@sha256:00"}}},
			},
			services: func(t *testing.T) []Service {
				return []Service{{
					Name: "api", Cluster: "arn:aws:ecs:us-east-1:444455556666:cluster/shared",
					Task: td(t, "arn:aws:iam::444455556666:role/app/api-task", "service-role/exec", true),
				}}
			},
			check: func(t *testing.T, p *Policy, warns []Warning) {
				if len(warns) != 0 {
					t.Errorf("warnings %v", warns)
				}
				wantRes(t, p, "EcsClusters", "arn:aws:ecs:us-east-1:444455556666:cluster/shared")
				wantRes(t, p, "EcsServices", "arn:aws:ecs:us-east-1:444455556666:service/shared/api")
				wantRes(t, p, "PassTaskRolesToEcs", "arn:aws:iam::444455556666:role/app/api-task", "arn:aws:iam::444455556666:role/exec")
				wantRes(t, p, "EcrPullBaseImages", "arn:aws:ecr:us-east-1:111122223333:repository/base/jre")
				if !slices.Contains(statement(p, "EcrPushImages").Action, "ecr:CreateRepository") {
					t.Error("no CreateRepository with createRepositories: true")
				}
				if statement(p, "EcsTagTaskDefinitionsOnRegister") == nil {
					t.Error("no TagResource for a tagged task definition")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.file
			p, warns := For(&f, tt.services(t))
			tt.check(t, p, warns)
		})
	}
}

func wantRes(t *testing.T, p *Policy, sid string, resources ...string) {
	t.Helper()
	s := statement(p, sid)
	if s == nil {
		t.Errorf("no statement %s", sid)
		return
	}
	if !reflect.DeepEqual(s.Resource, resources) {
		t.Errorf("%s resources = %q, want %q", sid, s.Resource, resources)
	}
}

func TestPassRoleARN(t *testing.T) {
	sc := scope{partition: "aws", region: "ap-northeast-2", account: "123456789012"}
	tests := []struct{ ref, arn, warn string }{
		{"arn:aws:iam::999999999999:role/x", "arn:aws:iam::999999999999:role/x", ""},
		{"ecsTaskExecutionRole", "arn:aws:iam::123456789012:role/ecsTaskExecutionRole", ""},
		{"~~/ecsTaskExecutionRole", "arn:aws:iam::123456789012:role/ecsTaskExecutionRole", ""},
		{"~~ecsTaskExecutionRole", "arn:aws:iam::123456789012:role/ecsTaskExecutionRole", "assumes role"},
		{"~~~", "", "names no IAM role"},
	}
	for _, tt := range tests {
		arn, warn := passRoleARN(tt.ref, sc)
		if arn != tt.arn || (tt.warn == "") != (warn == "") || !strings.Contains(warn, tt.warn) {
			t.Errorf("passRoleARN(%q) = %q, %q; want %q, %q", tt.ref, arn, warn, tt.arn, tt.warn)
		}
	}
}

// A definition read back from ECS (no file, no positions) works as well as one from a file.
func TestForDefinitionFromECS(t *testing.T) {
	d := taskdef.FromECS(&ecstypes.TaskDefinition{Family: aws.String("x"), ExecutionRoleArn: aws.String("exec")})
	p, warns := For(&config.File{Registry: "123456789012.dkr.ecr.us-east-1.amazonaws.com"}, []Service{{Name: "x", Cluster: "c", Task: d}})
	if len(warns) != 0 {
		t.Errorf("warnings %v", warns)
	}
	wantRes(t, p, "PassTaskRolesToEcs", "arn:aws:iam::123456789012:role/exec")
	wantRes(t, p, "EcsServices", "arn:aws:ecs:us-east-1:123456789012:service/c/x")
}
