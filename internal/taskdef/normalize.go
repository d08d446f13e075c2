package taskdef

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// ECS's defaults for fields it fills in when they are left out; a
// definition read back from ECS carries them, a file usually does not.
const (
	defaultHealthInterval = 30
	defaultHealthTimeout  = 5
	defaultHealthRetries  = 3
)

// Normalize returns a copy in the form ECS compares definitions in, so that
// two definitions ECS treats as equal are identical. It follows ecspresso's
// rules, which encode real drift bugs:
//   - lists whose order carries no meaning are sorted (containers by name,
//     environment, secrets, port mappings, mount points, volumesFrom,
//     ulimits, links, dependsOn, extraHosts, systemControls, volumes,
//     placement constraints, requiresCompatibilities, tags, …);
//   - empty lists and objects are removed (ECS reads them as absent);
//   - defaults are filled: essential true, port protocol tcp, hostPort =
//     containerPort in awsvpc and host mode (0 in bridge mode), networkMode,
//     readOnly false, health-check interval/timeout/retries, EFS root "/"
//     and transit encryption / IAM DISABLED;
//   - task cpu and memory units become plain numbers: "1 vCPU" → "1024",
//     "2 GB" → "2048", "0.5 GB" → "512".
//
// Positions of index-keyed fields (e.g. portMappings[0]) keep referring to
// the file's order.
func (td *TaskDef) Normalize() *TaskDef {
	out := td.clone()
	in := &out.Input
	mode := td.NetworkMode()
	in.NetworkMode = mode
	in.Cpu = normalizeUnits(in.Cpu, "vcpu")
	in.Memory = normalizeUnits(in.Memory, "gb")

	for i := range in.ContainerDefinitions {
		normalizeContainer(&in.ContainerDefinitions[i], mode)
	}
	slices.SortStableFunc(in.ContainerDefinitions, func(a, b types.ContainerDefinition) int {
		return strings.Compare(str(a.Name), str(b.Name))
	})

	slices.Sort(in.RequiresCompatibilities)
	in.RequiresCompatibilities = slices.Compact(in.RequiresCompatibilities)
	slices.SortStableFunc(in.PlacementConstraints, func(a, b types.TaskDefinitionPlacementConstraint) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), strings.Compare(str(a.Expression), str(b.Expression)))
	})
	slices.SortStableFunc(in.Tags, func(a, b types.Tag) int { return strings.Compare(str(a.Key), str(b.Key)) })

	for i := range in.Volumes {
		v := &in.Volumes[i]
		if efs := v.EfsVolumeConfiguration; efs != nil {
			if str(efs.RootDirectory) == "" {
				efs.RootDirectory = ptr("/")
			}
			if efs.TransitEncryption == "" {
				efs.TransitEncryption = types.EFSTransitEncryptionDisabled
			}
			if efs.AuthorizationConfig != nil && efs.AuthorizationConfig.Iam == "" {
				efs.AuthorizationConfig.Iam = types.EFSAuthorizationConfigIAMDisabled
			}
		}
	}
	slices.SortStableFunc(in.Volumes, func(a, b types.Volume) int { return strings.Compare(str(a.Name), str(b.Name)) })

	// Prune empty lists and objects through the tree, which sees every field.
	out.Input = fromTree(prune(toTree(in)))
	return out
}

func normalizeContainer(c *types.ContainerDefinition, mode types.NetworkMode) {
	if c.Essential == nil {
		c.Essential = ptr(true)
	}
	for i := range c.PortMappings {
		pm := &c.PortMappings[i]
		if pm.Protocol == "" {
			pm.Protocol = types.TransportProtocolTcp
		}
		switch {
		case (mode == types.NetworkModeAwsvpc || mode == types.NetworkModeHost) &&
			(pm.HostPort == nil || *pm.HostPort == 0) && pm.ContainerPort != nil:
			pm.HostPort = ptr(*pm.ContainerPort)
		case mode == types.NetworkModeBridge && pm.HostPort == nil && pm.ContainerPortRange == nil:
			pm.HostPort = ptr(int32(0))
		}
	}
	slices.SortStableFunc(c.PortMappings, func(a, b types.PortMapping) int {
		return cmp.Or(
			cmp.Compare(i32(a.ContainerPort), i32(b.ContainerPort)),
			strings.Compare(str(a.ContainerPortRange), str(b.ContainerPortRange)),
			cmp.Compare(i32(a.HostPort), i32(b.HostPort)),
			cmp.Compare(a.Protocol, b.Protocol),
			strings.Compare(str(a.Name), str(b.Name)))
	})
	slices.SortStableFunc(c.Environment, func(a, b types.KeyValuePair) int {
		return cmp.Or(strings.Compare(str(a.Name), str(b.Name)), strings.Compare(str(a.Value), str(b.Value)))
	})
	slices.SortStableFunc(c.EnvironmentFiles, func(a, b types.EnvironmentFile) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), strings.Compare(str(a.Value), str(b.Value)))
	})
	slices.SortStableFunc(c.Secrets, func(a, b types.Secret) int { return strings.Compare(str(a.Name), str(b.Name)) })
	for i := range c.MountPoints {
		if c.MountPoints[i].ReadOnly == nil {
			c.MountPoints[i].ReadOnly = ptr(false)
		}
	}
	slices.SortStableFunc(c.MountPoints, func(a, b types.MountPoint) int {
		return cmp.Or(strings.Compare(str(a.ContainerPath), str(b.ContainerPath)), strings.Compare(str(a.SourceVolume), str(b.SourceVolume)))
	})
	for i := range c.VolumesFrom {
		if c.VolumesFrom[i].ReadOnly == nil {
			c.VolumesFrom[i].ReadOnly = ptr(false)
		}
	}
	slices.SortStableFunc(c.VolumesFrom, func(a, b types.VolumeFrom) int {
		return strings.Compare(str(a.SourceContainer), str(b.SourceContainer))
	})
	slices.SortStableFunc(c.Ulimits, func(a, b types.Ulimit) int { return cmp.Compare(a.Name, b.Name) })
	slices.Sort(c.Links)
	slices.SortStableFunc(c.DependsOn, func(a, b types.ContainerDependency) int {
		return strings.Compare(str(a.ContainerName), str(b.ContainerName))
	})
	slices.SortStableFunc(c.ExtraHosts, func(a, b types.HostEntry) int {
		return strings.Compare(str(a.Hostname), str(b.Hostname))
	})
	slices.SortStableFunc(c.SystemControls, func(a, b types.SystemControl) int {
		return strings.Compare(str(a.Namespace), str(b.Namespace))
	})
	slices.SortStableFunc(c.ResourceRequirements, func(a, b types.ResourceRequirement) int {
		return cmp.Compare(a.Type, b.Type)
	})
	if lc := c.LogConfiguration; lc != nil {
		slices.SortStableFunc(lc.SecretOptions, func(a, b types.Secret) int { return strings.Compare(str(a.Name), str(b.Name)) })
	}
	if hc := c.HealthCheck; hc != nil {
		if hc.Interval == nil {
			hc.Interval = ptr(int32(defaultHealthInterval))
		}
		if hc.Timeout == nil {
			hc.Timeout = ptr(int32(defaultHealthTimeout))
		}
		if hc.Retries == nil {
			hc.Retries = ptr(int32(defaultHealthRetries))
		}
	}
}

// normalizeUnits turns the task-level unit forms ECS accepts into plain
// numbers: "1 vCPU"/"0.25 vcpu" into CPU units, "2 GB"/"0.5GB" into MiB.
// Anything else is kept as written (lint judges it).
func normalizeUnits(v *string, unit string) *string {
	if v == nil {
		return nil
	}
	s := strings.TrimSpace(*v)
	lower := strings.ToLower(s)
	if num, ok := strings.CutSuffix(lower, unit); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err == nil && f > 0 {
			return ptr(strconv.FormatInt(int64(f*1024+0.5), 10))
		}
	}
	return ptr(s)
}

// prune removes empty lists and objects (and members left empty by that).
// It reports whether n itself is now empty.
func prune(n *node) *node {
	var walk func(n *node) bool
	walk = func(n *node) bool {
		switch n.kind {
		case kObject:
			kept := n.members[:0]
			for _, m := range n.members {
				if !walk(m.val) {
					kept = append(kept, m)
				}
			}
			n.members = kept
			return len(kept) == 0
		case kArray:
			for _, el := range n.elems {
				walk(el) // an empty element is still an element
			}
			return len(n.elems) == 0
		}
		return false
	}
	if walk(n) {
		return &node{kind: kObject}
	}
	return n
}

// ParseCPU returns a task-level cpu value in CPU units ("1 vCPU" → 1024).
func ParseCPU(s string) (int, bool) { return parseUnits(s, "vcpu") }

// ParseMemory returns a task-level memory value in MiB ("2 GB" → 2048).
func ParseMemory(s string) (int, bool) { return parseUnits(s, "gb") }

func parseUnits(s, unit string) (int, bool) {
	n, err := strconv.Atoi(*normalizeUnits(&s, unit))
	return n, err == nil && n > 0
}

func ptr[T any](v T) *T { return &v }

func i32(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}
