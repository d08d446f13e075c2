package lint

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/redact"
	"github.com/pier-deploy/pier/internal/taskdef"
)

func cpos(p taskdef.Pos) config.Pos { return config.Pos(p) }

// checkTask runs the rules that need one task definition alone.
func checkTask(out *findings, td *taskdef.TaskDef) {
	mode := td.NetworkMode()
	names := map[string]*taskdef.Container{}
	var list []string
	for _, c := range td.Containers() {
		names[c.Name] = c
		list = append(list, c.Name)
	}
	for _, c := range td.Containers() {
		for _, l := range c.Links() {
			if mode != types.NetworkModeBridge {
				out.add(cpos(l.Pos), Error, "links-network-mode",
					"container %q has links, which ECS only allows in bridge network mode, but the task uses %s: containers of one %s task reach each other on localhost", c.Name, mode, mode)
				continue
			}
			target, ok := names[l.Name]
			if !ok {
				out.add(cpos(l.Pos), Error, "link-target",
					"container %q links to %q, but the task has no container of that name (containers: %s)%s", c.Name, l.Name, strings.Join(list, ", "), didYouMean(l.Name, list))
				continue
			}
			if !target.Essential() {
				out.add(cpos(target.FieldPos("essential")), Warning, "essential-link",
					"container %q is linked from %q but has essential: false: if it dies, %s keeps the task alive and answers 502 until someone notices; make it essential so ECS replaces the task", target.Name, c.Name, c.Name)
			}
		}
		if mode == types.NetworkModeAwsvpc {
			for i, pm := range c.Def.PortMappings {
				if pm.HostPort != nil && pm.ContainerPort != nil && *pm.HostPort != *pm.ContainerPort {
					out.add(cpos(portPos(c, i, "hostPort")), Error, "awsvpc-host-port",
						"container %q maps containerPort %d to hostPort %d, but in awsvpc mode hostPort must equal containerPort or be left out", c.Name, *pm.ContainerPort, *pm.HostPort)
				}
			}
		}
		checkSecretsInEnv(out, c)
	}
	if td.RequiresCompatibility(types.CompatibilityFargate) {
		checkFargateSize(out, td)
	}
	checkEFS(out, td)
	checkRegistration(out, td)
}

// portPos finds a port mapping's field; taskdef names list elements by
// their "name" member when every element has a distinct one, else by index.
func portPos(c *taskdef.Container, i int, field string) taskdef.Pos {
	pms := c.Def.PortMappings
	key := strconv.Itoa(i)
	seen := map[string]bool{}
	byName := true
	for _, pm := range pms {
		if pm.Name == nil || seen[*pm.Name] {
			byName = false
			break
		}
		seen[*pm.Name] = true
	}
	if byName {
		key = *pms[i].Name
	}
	return c.FieldPos(fmt.Sprintf("portMappings[%s].%s", key, field))
}

// checkSecretsInEnv flags environment entries that hold a secret: a name
// that looks like one (redact.Name: DB_PASSWORD, apiKey, GITHUB_TOKEN; not
// KEYCLOAK_URL) or a value shaped like a credential (an AWS access key id, a
// GitHub token, a URL with a password). Their values end up in plain text in
// the task definition, visible to anyone with ecs:DescribeTaskDefinition;
// secrets with valueFrom keeps only a reference there. The value is never
// printed.
func checkSecretsInEnv(out *findings, c *taskdef.Container) {
	for _, kv := range c.Def.Environment {
		if kv.Name == nil {
			continue
		}
		why := "a name that looks like a secret"
		switch {
		case redact.Name(*kv.Name):
		case kv.Value != nil && redact.Value(*kv.Value):
			why = "a value shaped like a credential"
		default:
			continue
		}
		out.add(cpos(c.FieldPos("environment["+*kv.Name+"]")), Warning, "secret-in-environment",
			"container %q sets %s in environment (%s): its value is stored in plain text in the task definition, readable by anyone who can describe it; "+
				"move it to secrets: {\"name\": %q, \"valueFrom\": ARN of a Secrets Manager secret or SSM Parameter Store parameter} (the execution role needs secretsmanager:GetSecretValue or ssm:GetParameters)", c.Name, *kv.Name, why, *kv.Name)
	}
}

// fargateMemory lists the memory sizes (MiB) Fargate accepts for each CPU size.
func fargateMemory(cpu int) (lo, hi, step int, ok bool) {
	switch cpu {
	case 256:
		return 512, 2048, 0, true // 512, 1024, 2048
	case 512:
		return 1024, 4096, 1024, true
	case 1024:
		return 2048, 8192, 1024, true
	case 2048:
		return 4096, 16384, 1024, true
	case 4096:
		return 8192, 30720, 1024, true
	case 8192:
		return 16384, 61440, 4096, true
	case 16384:
		return 32768, 122880, 8192, true
	}
	return 0, 0, 0, false
}

func checkFargateSize(out *findings, td *taskdef.TaskDef) {
	cpuS, memS := deref(td.Input.Cpu), deref(td.Input.Memory)
	if cpuS == "" || memS == "" {
		out.add(cpos(td.Pos("requiresCompatibilities")), Error, "fargate-cpu-memory",
			"the task requires FARGATE but does not set both task-level cpu and memory, which Fargate needs")
		return
	}
	cpu, okC := taskdef.ParseCPU(cpuS)
	mem, okM := taskdef.ParseMemory(memS)
	if !okC {
		out.add(cpos(td.Pos("cpu")), Error, "fargate-cpu-memory", "cpu %q is not a number of CPU units (1024) or vCPUs (\"1 vCPU\")", cpuS)
		return
	}
	if !okM {
		out.add(cpos(td.Pos("memory")), Error, "fargate-cpu-memory", "memory %q is not a number of MiB (2048) or GB (\"2 GB\")", memS)
		return
	}
	lo, hi, step, ok := fargateMemory(cpu)
	if !ok {
		out.add(cpos(td.Pos("cpu")), Error, "fargate-cpu-memory", "cpu %d is not a Fargate size: use 256, 512, 1024, 2048, 4096, 8192 or 16384", cpu)
		return
	}
	valid := mem >= lo && mem <= hi
	if valid && step == 0 {
		valid = mem == 512 || mem == 1024 || mem == 2048
	} else if valid {
		valid = (mem-lo)%step == 0
	}
	if !valid {
		allowed := fmt.Sprintf("%d to %d MiB in steps of %d", lo, hi, step)
		if step == 0 {
			allowed = "512, 1024 or 2048 MiB"
		}
		out.add(cpos(td.Pos("memory")), Error, "fargate-cpu-memory", "Fargate does not offer memory %d MiB with cpu %d: use %s", mem, cpu, allowed)
	}
}

// checkEFS applies the EFS rules ECS enforces only at task launch, when
// the rollout is already under way.
func checkEFS(out *findings, td *taskdef.TaskDef) {
	for _, v := range td.EFSVolumes() {
		cfg := v.Config
		auth := cfg.AuthorizationConfig
		if auth != nil && deref(auth.AccessPointId) != "" {
			if cfg.TransitEncryption != types.EFSTransitEncryptionEnabled {
				out.add(cpos(td.Pos(v.Path+".efsVolumeConfiguration.transitEncryption")), Error, "efs-access-point",
					"volume %q mounts EFS through access point %s, which needs transitEncryption: ENABLED", v.Name, deref(auth.AccessPointId))
			}
			if r := deref(cfg.RootDirectory); r != "" && r != "/" {
				out.add(cpos(td.Pos(v.Path+".efsVolumeConfiguration.rootDirectory")), Error, "efs-access-point",
					"volume %q uses access point %s with rootDirectory %q: with an access point the root must be / or left out (the access point sets the directory)", v.Name, deref(auth.AccessPointId), r)
			}
		}
		if auth != nil && auth.Iam == types.EFSAuthorizationConfigIAMEnabled {
			if td.TaskRoleArn() == "" {
				out.add(cpos(td.Pos(v.Path+".efsVolumeConfiguration.authorizationConfig.iam")), Error, "efs-iam-role",
					"volume %q uses EFS IAM authorization, which needs a taskRoleArn with elasticfilesystem:ClientMount (and ClientWrite) on the file system", v.Name)
			}
			if cfg.TransitEncryption != types.EFSTransitEncryptionEnabled && deref(auth.AccessPointId) == "" {
				out.add(cpos(td.Pos(v.Path+".efsVolumeConfiguration.transitEncryption")), Error, "efs-iam-role",
					"volume %q uses EFS IAM authorization, which needs transitEncryption: ENABLED", v.Name)
			}
		}
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func didYouMean(word string, candidates []string) string {
	if s := config.Suggest(word, candidates); s != "" && s != word {
		return fmt.Sprintf("; did you mean %q?", s)
	}
	return ""
}
