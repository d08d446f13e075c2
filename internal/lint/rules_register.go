package lint

import (
	"regexp"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pier-deploy/pier/internal/taskdef"
)

// The rules below are the ones ECS applies when pier registers the task
// definition: a definition that breaks one is refused with a ClientException
// before anything rolls out, so lint says so first, at the line to edit.
// (Links outside bridge mode, awsvpc host ports, Fargate sizes and image
// references have rules of their own: links-network-mode, awsvpc-host-port,
// fargate-cpu-memory, image-reference.)

// roleARN is an IAM role ARN with an optional path; roleName the short name
// ECS also accepts. Anything else ECS refuses: "Role is not valid".
var (
	roleARN  = regexp.MustCompile(`^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::\d{12}:role/([\x21-\x7e]+/)?[\w+=,.@-]{1,64}$`)
	roleName = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
)

// checkRegistration runs the rules of RegisterTaskDefinition on one task.
func checkRegistration(out *findings, td *taskdef.TaskDef) {
	for _, r := range []struct {
		key   string
		value *string
	}{{"taskRoleArn", td.Input.TaskRoleArn}, {"executionRoleArn", td.Input.ExecutionRoleArn}} {
		if r.value != nil && !roleARN.MatchString(*r.value) && !roleName.MatchString(*r.value) {
			out.add(cpos(td.Pos(r.key)), Error, "role-arn",
				"%s %q is neither an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME) nor a role name, and ECS refuses the task definition with \"Role is not valid\": write the role's ARN", r.key, *r.value)
		}
	}
	checkEssentialContainer(out, td)
	checkContainerMemory(out, td)
	checkHostModePorts(out, td)
}

// checkEssentialContainer: ECS refuses a task with no essential container
// ("Task definition doesn't have any essential container."); a container is
// essential unless it says essential: false.
func checkEssentialContainer(out *findings, td *taskdef.TaskDef) {
	cs := td.Containers()
	for _, c := range cs {
		if c.Essential() {
			return
		}
	}
	if len(cs) > 0 {
		out.add(cpos(td.Pos("containerDefinitions")), Error, "essential-container",
			"every container has essential: false, and ECS refuses a task definition without an essential container: make the main container essential (leave essential out, or set it true)")
	}
}

// checkContainerMemory: a container's hard memory limit above the task's
// memory is refused ("The 'memory' setting for container … is greater than
// for the task.").
func checkContainerMemory(out *findings, td *taskdef.TaskDef) {
	task, ok := taskdef.ParseMemory(deref(td.Input.Memory))
	if !ok || task == 0 {
		return
	}
	for _, c := range td.Containers() {
		if m := c.Def.Memory; m != nil && int(*m) > task {
			out.add(cpos(c.FieldPos("memory")), Error, "container-memory",
				"container %q sets memory %d MiB, more than the task's %d MiB, which ECS refuses: lower it, or raise the task's memory", c.Name, *m, task)
		}
	}
}

// checkHostModePorts: in host network mode a container's port is the
// host's, so ECS refuses a hostPort other than the containerPort ("When
// networkMode=host, the host ports and container ports in port mappings must
// match."), as in awsvpc mode (awsvpc-host-port).
func checkHostModePorts(out *findings, td *taskdef.TaskDef) {
	if td.NetworkMode() != types.NetworkModeHost {
		return
	}
	for _, c := range td.Containers() {
		for i, pm := range c.Def.PortMappings {
			if pm.HostPort != nil && pm.ContainerPort != nil && *pm.HostPort != 0 && *pm.HostPort != *pm.ContainerPort {
				out.add(cpos(portPos(c, i, "hostPort")), Error, "host-mode-host-port",
					"container %q maps containerPort %d to hostPort %d, but in host mode hostPort must equal containerPort or be left out", c.Name, *pm.ContainerPort, *pm.HostPort)
			}
		}
	}
}
