package sim

import (
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// registration is a RegisterTaskDefinition input with what its checks derive
// from it: the task size, the network mode and whether it requires Fargate.
type registration struct {
	in       *ecs.RegisterTaskDefinitionInput
	cpu, mem int32 // task-level size (0: not set)
	mode     ecstypes.NetworkMode
	fargate  bool
	names    map[string]bool // container names
}

// registerCheck is one rule ECS applies to RegisterTaskDefinition; it returns
// ECS's ClientException, in ECS's words, or nil.
type registerCheck func(*registration) error

// registerChecks are ECS's rules in the order they are tried: the first
// failure is the answer, as ECS gives one error a call.
var registerChecks = []registerCheck{
	checkFamily,
	checkContainerList,
	checkTaskSize,
	checkFargate,
	checkRoles,
	checkContainerFields,
	checkEssential,
	checkContainerMemory,
	checkLinks,
	checkPortMappings,
}

// newRegistration reads what the checks need; the cpu and memory strings
// must parse (checkTaskSize reports them when they do not).
func newRegistration(in *ecs.RegisterTaskDefinitionInput) *registration {
	r := &registration{in: in, mode: in.NetworkMode, names: map[string]bool{}}
	if r.mode == "" {
		r.mode = ecstypes.NetworkModeBridge
	}
	r.cpu, _ = parseCPU(aws.ToString(in.Cpu))
	r.mem, _ = parseMemory(aws.ToString(in.Memory))
	for _, c := range in.RequiresCompatibilities {
		r.fargate = r.fargate || c == ecstypes.CompatibilityFargate
	}
	return r
}

// validateRegistration runs ECS's checks on in.
func validateRegistration(in *ecs.RegisterTaskDefinitionInput) (*registration, error) {
	r := newRegistration(in)
	for _, check := range registerChecks {
		if err := check(r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func checkFamily(r *registration) error {
	if fam := aws.ToString(r.in.Family); !validName(fam) {
		return errorf(errClient, "Family contains invalid characters: %q. Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.", fam)
	}
	return nil
}

func checkContainerList(r *registration) error {
	if len(r.in.ContainerDefinitions) == 0 {
		return errorf(errClient, "Container list cannot be empty.")
	}
	return nil
}

func checkTaskSize(r *registration) error {
	if _, ok := parseCPU(aws.ToString(r.in.Cpu)); !ok {
		return errorf(errClient, "Invalid 'cpu' setting for task.")
	}
	if _, ok := parseMemory(aws.ToString(r.in.Memory)); !ok {
		return errorf(errClient, "Invalid 'memory' setting for task.")
	}
	return nil
}

func checkFargate(r *registration) error {
	switch {
	case !r.fargate:
		return nil
	case r.mode != ecstypes.NetworkModeAwsvpc:
		return errorf(errClient, "Fargate only supports network mode ‘awsvpc’.")
	case r.cpu == 0 || r.mem == 0:
		return errorf(errClient, "Fargate requires that 'cpu' and 'memory' be defined at the task level.")
	case !fargateSize(r.cpu, r.mem):
		return errorf(errClient, "No Fargate configuration exists for given values: %d CPU, %d memory. See the Amazon ECS documentation for the valid values.", r.cpu, r.mem)
	}
	return nil
}

// roleARN is an IAM role ARN (with an optional path); roleName is the short
// name ECS also accepts for taskRoleArn and executionRoleArn.
var (
	roleARN  = regexp.MustCompile(`^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::\d{12}:role/([\x21-\x7e]+/)?[\w+=,.@-]{1,64}$`)
	roleName = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
)

// ValidRole reports whether ECS accepts s as a taskRoleArn or
// executionRoleArn: a role ARN or a role name.
func ValidRole(s string) bool { return roleARN.MatchString(s) || roleName.MatchString(s) }

func checkRoles(r *registration) error {
	for _, role := range []*string{r.in.TaskRoleArn, r.in.ExecutionRoleArn} {
		if role != nil && !ValidRole(*role) {
			return errorf(errClient, "Role is not valid")
		}
	}
	return nil
}

// imageChars is what ECS allows in Container.image: letters, numbers,
// hyphens, underscores, colons, periods, forward slashes and number signs,
// and @ before a digest; up to 255 of them.
var imageChars = regexp.MustCompile(`^[A-Za-z0-9_:./#@-]{1,255}$`)

// ValidImage reports whether ECS accepts s as a container's image.
func ValidImage(s string) bool { return imageChars.MatchString(s) }

func checkContainerFields(r *registration) error {
	for _, c := range r.in.ContainerDefinitions {
		name := aws.ToString(c.Name)
		if name == "" {
			return errorf(errClient, "Container.name should not be null or empty.")
		}
		if !validName(name) {
			return errorf(errClient, "Container.name contains invalid characters.")
		}
		if r.names[name] {
			return errorf(errClient, "Duplicate container name found: %s", name)
		}
		r.names[name] = true
		if aws.ToString(c.Image) == "" {
			return errorf(errClient, "Container.image should not be null or empty.")
		}
		if !ValidImage(aws.ToString(c.Image)) {
			return errorf(errClient, "Container.image contains invalid characters.")
		}
		if r.mem == 0 && c.Memory == nil && c.MemoryReservation == nil {
			return errorf(errClient, "Invalid setting for container '%s'. At least one of 'memory' or 'memoryReservation' must be specified.", name)
		}
	}
	return nil
}

func checkEssential(r *registration) error {
	for _, c := range r.in.ContainerDefinitions {
		if c.Essential == nil || *c.Essential {
			return nil
		}
	}
	return errorf(errClient, "Task definition doesn't have any essential container.")
}

func checkContainerMemory(r *registration) error {
	if r.mem == 0 {
		return nil
	}
	for _, c := range r.in.ContainerDefinitions {
		if c.Memory != nil && *c.Memory > r.mem {
			return errorf(errClient, "The 'memory' setting for container '%s' is greater than for the task.", aws.ToString(c.Name))
		}
	}
	return nil
}

func checkLinks(r *registration) error {
	for _, c := range r.in.ContainerDefinitions {
		if len(c.Links) > 0 && r.mode != ecstypes.NetworkModeBridge {
			return errorf(errClient, "Links are not supported when networkMode=%s.", r.mode)
		}
		for _, l := range c.Links {
			if target, _, _ := strings.Cut(l, ":"); !r.names[target] {
				return errorf(errClient, "Invalid container link: container %q links to %q, which is not a container of this task definition.", aws.ToString(c.Name), target)
			}
		}
	}
	return nil
}

// checkPortMappings applies the awsvpc and host rule: a container's port is
// the host's (or the ENI's), so a hostPort other than the containerPort has
// no meaning there.
func checkPortMappings(r *registration) error {
	if r.mode != ecstypes.NetworkModeAwsvpc && r.mode != ecstypes.NetworkModeHost {
		return nil
	}
	for _, c := range r.in.ContainerDefinitions {
		for _, pm := range c.PortMappings {
			if hp := aws.ToInt32(pm.HostPort); hp != 0 && hp != aws.ToInt32(pm.ContainerPort) {
				return errorf(errClient, "When networkMode=%s, the host ports and container ports in port mappings must match.", r.mode)
			}
		}
	}
	return nil
}

// fillDefaults sets what ECS fills in a registered task definition: an
// omitted essential is true, an omitted protocol tcp, and in awsvpc and host
// mode an omitted hostPort is the containerPort.
func (r *registration) fillDefaults() {
	for i := range r.in.ContainerDefinitions {
		c := &r.in.ContainerDefinitions[i]
		if c.Essential == nil {
			c.Essential = aws.Bool(true)
		}
		for j := range c.PortMappings {
			pm := &c.PortMappings[j]
			if pm.Protocol == "" {
				pm.Protocol = ecstypes.TransportProtocolTcp
			}
			if (r.mode == ecstypes.NetworkModeAwsvpc || r.mode == ecstypes.NetworkModeHost) && aws.ToInt32(pm.HostPort) == 0 {
				pm.HostPort = pm.ContainerPort
			}
		}
	}
}

// containerSums adds up the containers' cpu and memory (memory, else the
// reservation): what the task reserves without task-level sizes.
func (r *registration) containerSums() (cpu, mem int32) {
	for _, c := range r.in.ContainerDefinitions {
		cpu += c.Cpu
		switch {
		case c.Memory != nil:
			mem += *c.Memory
		case c.MemoryReservation != nil:
			mem += *c.MemoryReservation
		}
	}
	return cpu, mem
}
