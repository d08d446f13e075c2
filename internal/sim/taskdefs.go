package sim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// parseCPU turns ECS's task cpu notation ("1024", "1 vCPU", ".5 vcpu") into units.
func parseCPU(s string) (int32, bool) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" {
		return 0, true
	}
	if v, ok := strings.CutSuffix(s, "vcpu"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f <= 0 {
			return 0, false
		}
		return int32(f * 1024), true
	}
	n, err := strconv.Atoi(s)
	return int32(n), err == nil && n >= 0
}

// parseMemory turns ECS's task memory notation ("2048", "2 GB", "0.5gb") into MiB.
func parseMemory(s string) (int32, bool) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" {
		return 0, true
	}
	if v, ok := strings.CutSuffix(s, "gb"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f <= 0 {
			return 0, false
		}
		return int32(f * 1024), true
	}
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(strings.TrimSuffix(s, "mib")), "mb"))
	return int32(n), err == nil && n >= 0
}

func (w *World) opRegisterTaskDefinition(in *ecs.RegisterTaskDefinitionInput) (*ecs.RegisterTaskDefinitionOutput, error) {
	r, err := validateRegistration(in)
	if err != nil {
		return nil, err
	}
	r.fillDefaults()
	fam, cpu, mem, mode := aws.ToString(in.Family), r.cpu, r.mem, r.mode
	sumCPU, sumMem := r.containerSums()
	f := w.families[fam]
	if f == nil {
		f = &family{name: fam}
		w.families[fam] = f
		w.familyOrder = append(w.familyOrder, fam)
	}
	rev := int32(len(f.revisions) + 1)
	compat := []ecstypes.Compatibility{ecstypes.CompatibilityEc2}
	if mode == ecstypes.NetworkModeAwsvpc && cpu > 0 && mem > 0 {
		compat = append(compat, ecstypes.CompatibilityFargate)
	}
	now := w.now()
	td := ecstypes.TaskDefinition{
		TaskDefinitionArn:       aws.String(w.arn(fmt.Sprintf("task-definition/%s:%d", fam, rev))),
		Family:                  aws.String(fam),
		Revision:                rev,
		Status:                  ecstypes.TaskDefinitionStatusActive,
		ContainerDefinitions:    in.ContainerDefinitions,
		NetworkMode:             mode,
		TaskRoleArn:             in.TaskRoleArn,
		ExecutionRoleArn:        in.ExecutionRoleArn,
		Volumes:                 in.Volumes,
		PlacementConstraints:    in.PlacementConstraints,
		RequiresCompatibilities: in.RequiresCompatibilities,
		Compatibilities:         compat,
		RuntimePlatform:         in.RuntimePlatform,
		EphemeralStorage:        in.EphemeralStorage,
		PidMode:                 in.PidMode,
		IpcMode:                 in.IpcMode,
		ProxyConfiguration:      in.ProxyConfiguration,
		EnableFaultInjection:    in.EnableFaultInjection,
		RequiresAttributes:      w.requiredAttributes(in),
		RegisteredAt:            aws.Time(now),
		RegisteredBy:            aws.String(fmt.Sprintf("arn:aws:iam::%s:user/pier-sim", w.account)),
	}
	if in.Cpu != nil {
		td.Cpu = aws.String(strconv.Itoa(int(cpu)))
	}
	if in.Memory != nil {
		td.Memory = aws.String(strconv.Itoa(int(mem)))
	}
	if td.Volumes == nil {
		td.Volumes = []ecstypes.Volume{}
	}
	if td.PlacementConstraints == nil {
		td.PlacementConstraints = []ecstypes.TaskDefinitionPlacementConstraint{}
	}
	if cpu == 0 {
		cpu = sumCPU
	}
	if mem == 0 {
		mem = sumMem
	}
	def := &taskDef{def: td, tags: in.Tags, cpu: cpu, memory: mem}
	f.revisions = append(f.revisions, def)
	return &ecs.RegisterTaskDefinitionOutput{TaskDefinition: &def.def, Tags: in.Tags}, nil
}

// fargateSize reports whether Fargate offers a task size (Linux).
func fargateSize(cpu, mem int32) bool {
	if cpu == 256 {
		return mem == 512 || mem == 1024 || mem == 2048
	}
	type span struct{ cpu, lo, hi, step int32 }
	for _, s := range []span{
		{512, 1024, 4096, 1024}, {1024, 2048, 8192, 1024}, {2048, 4096, 16384, 1024},
		{4096, 8192, 30720, 1024}, {8192, 16384, 61440, 4096}, {16384, 32768, 122880, 8192},
	} {
		if cpu == s.cpu && mem >= s.lo && mem <= s.hi && (mem-s.lo)%s.step == 0 {
			return true
		}
	}
	return false
}

// requiredAttributes lists the agent capabilities a task definition needs,
// the way ECS derives requiresAttributes.
func (w *World) requiredAttributes(in *ecs.RegisterTaskDefinitionInput) []ecstypes.Attribute {
	var names []string
	add := func(n string) {
		for _, x := range names {
			if x == n {
				return
			}
		}
		names = append(names, n)
	}
	for _, c := range in.ContainerDefinitions {
		if strings.Contains(aws.ToString(c.Image), ".dkr.ecr.") {
			add("com.amazonaws.ecs.capability.ecr-auth")
			if in.ExecutionRoleArn != nil {
				add("ecs.capability.execution-role-ecr-pull")
			}
		}
		if c.HealthCheck != nil {
			add("ecs.capability.container-health-check")
		}
		if len(c.Ulimits) > 0 {
			add("com.amazonaws.ecs.capability.docker-remote-api.1.18")
		}
	}
	if in.TaskRoleArn != nil {
		add("com.amazonaws.ecs.capability.task-iam-role")
	}
	if in.NetworkMode == ecstypes.NetworkModeAwsvpc {
		add("ecs.capability.task-eni")
	}
	for _, v := range in.Volumes {
		if v.EfsVolumeConfiguration != nil {
			add("ecs.capability.efsAuth")
			add("ecs.capability.efs")
		}
	}
	out := make([]ecstypes.Attribute, 0, len(names))
	for _, n := range names {
		out = append(out, ecstypes.Attribute{Name: aws.String(n)})
	}
	return out
}

// findTaskDef resolves "family", "family:revision" or an ARN. A bare family
// means its latest ACTIVE revision.
func (w *World) findTaskDef(ref string) (*taskDef, error) {
	name := lastPart(ref)
	if strings.HasPrefix(ref, "arn:") && !strings.Contains(ref, ":task-definition/") {
		return nil, errorf(errClient, "Unable to describe task definition.")
	}
	fam, revStr, hasRev := strings.Cut(name, ":")
	f := w.families[fam]
	if f == nil {
		return nil, errorf(errClient, "Unable to describe task definition.")
	}
	if !hasRev {
		for i := len(f.revisions) - 1; i >= 0; i-- {
			if td := f.revisions[i]; td.def.Status == ecstypes.TaskDefinitionStatusActive {
				return td, nil
			}
		}
		return nil, errorf(errClient, "Unable to describe task definition.")
	}
	rev, err := strconv.Atoi(revStr)
	if err != nil || rev < 1 || rev > len(f.revisions) || f.revisions[rev-1].deleted {
		return nil, errorf(errClient, "Unable to describe task definition.")
	}
	return f.revisions[rev-1], nil
}

func (w *World) opDescribeTaskDefinition(in *ecs.DescribeTaskDefinitionInput) (*ecs.DescribeTaskDefinitionOutput, error) {
	td, err := w.findTaskDef(aws.ToString(in.TaskDefinition))
	if err != nil {
		return nil, err
	}
	out := &ecs.DescribeTaskDefinitionOutput{TaskDefinition: &td.def}
	for _, f := range in.Include {
		if f == ecstypes.TaskDefinitionFieldTags {
			out.Tags = td.tags
			if out.Tags == nil {
				out.Tags = []ecstypes.Tag{}
			}
		}
	}
	return out, nil
}

func (w *World) opListTaskDefinitions(in *ecs.ListTaskDefinitionsInput) (*ecs.ListTaskDefinitionsOutput, error) {
	want := ecstypes.TaskDefinitionStatusActive
	if in.Status != "" {
		want = in.Status
	}
	prefix := aws.ToString(in.FamilyPrefix)
	var arns []string
	fams := sortedKeys(w.families)
	for _, fn := range fams {
		if prefix != "" && fn != prefix {
			// ECS matches the family exactly despite the parameter's name.
			continue
		}
		for _, td := range w.families[fn].revisions {
			if !td.deleted && td.def.Status == want {
				arns = append(arns, td.arn())
			}
		}
	}
	desc := in.Sort == ecstypes.SortOrderDesc
	sort.SliceStable(arns, func(i, j int) bool {
		fi, ri := splitRev(arns[i])
		fj, rj := splitRev(arns[j])
		if fi != fj {
			return (fi < fj) != desc
		}
		return (ri < rj) != desc
	})
	page, next, err := paginate(arns, in.NextToken, in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	return &ecs.ListTaskDefinitionsOutput{TaskDefinitionArns: page, NextToken: next}, nil
}

func splitRev(arn string) (string, int) {
	fam, rev, _ := strings.Cut(lastPart(arn), ":")
	n, _ := strconv.Atoi(rev)
	return fam, n
}

func (w *World) opListTaskDefinitionFamilies(in *ecs.ListTaskDefinitionFamiliesInput) (*ecs.ListTaskDefinitionFamiliesOutput, error) {
	prefix := aws.ToString(in.FamilyPrefix)
	var names []string
	for _, fn := range sortedKeys(w.families) {
		if !strings.HasPrefix(fn, prefix) {
			continue
		}
		active := false
		for _, td := range w.families[fn].revisions {
			if td.def.Status == ecstypes.TaskDefinitionStatusActive {
				active = true
			}
		}
		switch in.Status {
		case ecstypes.TaskDefinitionFamilyStatusAll:
		case ecstypes.TaskDefinitionFamilyStatusInactive:
			if active {
				continue
			}
		default:
			if !active {
				continue
			}
		}
		names = append(names, fn)
	}
	page, next, err := paginate(names, in.NextToken, in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	return &ecs.ListTaskDefinitionFamiliesOutput{Families: page, NextToken: next}, nil
}

func (w *World) opDeregisterTaskDefinition(in *ecs.DeregisterTaskDefinitionInput) (*ecs.DeregisterTaskDefinitionOutput, error) {
	ref := aws.ToString(in.TaskDefinition)
	if !strings.Contains(lastPart(ref), ":") {
		return nil, errorf(errClient, "Revision is required for task definition %q: deregister family:revision or the full ARN.", ref)
	}
	td, err := w.findTaskDef(ref)
	if err != nil {
		return nil, errorf(errClient, "The specified task definition does not exist.")
	}
	if td.def.Status == ecstypes.TaskDefinitionStatusActive {
		td.def.Status = ecstypes.TaskDefinitionStatusInactive
		td.def.DeregisteredAt = aws.Time(w.now())
	}
	return &ecs.DeregisterTaskDefinitionOutput{TaskDefinition: &td.def}, nil
}

func (w *World) opDeleteTaskDefinitions(in *ecs.DeleteTaskDefinitionsInput) (*ecs.DeleteTaskDefinitionsOutput, error) {
	if len(in.TaskDefinitions) == 0 {
		return nil, errorf(errInvalidParam, "taskDefinitions can not be empty.")
	}
	out := &ecs.DeleteTaskDefinitionsOutput{TaskDefinitions: []ecstypes.TaskDefinition{}, Failures: []ecstypes.Failure{}}
	for _, ref := range in.TaskDefinitions {
		td, err := w.findTaskDef(ref)
		if err != nil || !strings.Contains(lastPart(ref), ":") {
			out.Failures = append(out.Failures, ecstypes.Failure{Arn: aws.String(ref), Reason: aws.String("The specified task definition does not exist. Specify a valid account, family, revision and try again.")})
			continue
		}
		if td.def.Status == ecstypes.TaskDefinitionStatusActive {
			out.Failures = append(out.Failures, ecstypes.Failure{Arn: aws.String(td.arn()), Reason: aws.String("The specified task definition is still in ACTIVE status. Please deregister the target and try again.")})
			continue
		}
		td.def.Status = ecstypes.TaskDefinitionStatusDeleteInProgress
		td.def.DeleteRequestedAt = aws.Time(w.now())
		td.deleted = true
		out.TaskDefinitions = append(out.TaskDefinitions, td.def)
	}
	return out, nil
}
