package taskdef

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Container is one container definition of a TaskDef, with its positions.
type Container struct {
	Name string
	// Def points into the TaskDef's Input; treat it as read-only.
	Def *types.ContainerDefinition

	td   *TaskDef
	path string
}

// Containers returns the container definitions in file order.
func (td *TaskDef) Containers() []*Container {
	out := make([]*Container, len(td.Input.ContainerDefinitions))
	names := containerKeys(td.Input.ContainerDefinitions)
	for i := range td.Input.ContainerDefinitions {
		c := &td.Input.ContainerDefinitions[i]
		out[i] = &Container{Name: str(c.Name), Def: c, td: td, path: "containerDefinitions[" + names[i] + "]"}
	}
	return out
}

// Container returns the container named name, or nil.
func (td *TaskDef) Container(name string) *Container {
	for _, c := range td.Containers() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// containerKeys names containers in field paths the way elementKeys does.
func containerKeys(defs []types.ContainerDefinition) []string {
	keys := make([]string, len(defs))
	seen := map[string]bool{}
	byName := true
	for i, d := range defs {
		if d.Name == nil || seen[*d.Name] {
			byName = false
			break
		}
		seen[*d.Name] = true
		keys[i] = *d.Name
	}
	if !byName || len(defs) == 0 {
		for i := range keys {
			keys[i] = fmt.Sprint(i)
		}
	}
	return keys
}

// Path is the container's field path, e.g. "containerDefinitions[nginx]".
func (c *Container) Path() string { return c.path }

// Pos is where the container definition starts.
func (c *Container) Pos() Pos { return c.td.Pos(c.path) }

// FieldPos is where a field of the container was written, e.g. "image",
// "links[0]", "ulimits[nofile].softLimit"; absent fields give the position
// of the closest written ancestor (usually the container itself).
func (c *Container) FieldPos(field string) Pos {
	if strings.HasPrefix(field, "[") {
		return c.td.Pos(c.path + field)
	}
	return c.td.Pos(c.path + "." + field)
}

// Image is the container's image reference as written.
func (c *Container) Image() string { return str(c.Def.Image) }

// Essential reports whether the task stops when this container stops; ECS
// treats an absent "essential" as true.
func (c *Container) Essential() bool { return c.Def.Essential == nil || *c.Def.Essential }

// Link is one entry of a container's links: "name" or "name:alias".
type Link struct {
	Name  string // the linked container
	Alias string // the host name it is reachable under; Name when no alias
	Pos   Pos
}

// Links parses the container's links.
func (c *Container) Links() []Link {
	out := make([]Link, 0, len(c.Def.Links))
	for i, l := range c.Def.Links {
		name, alias, ok := strings.Cut(l, ":")
		if !ok {
			alias = name
		}
		out = append(out, Link{Name: name, Alias: alias, Pos: c.FieldPos(fmt.Sprintf("links[%d]", i))})
	}
	return out
}

// ContainerPorts lists the containerPort of every port mapping.
func (c *Container) ContainerPorts() []int32 {
	var out []int32
	for _, pm := range c.Def.PortMappings {
		if pm.ContainerPort != nil {
			out = append(out, *pm.ContainerPort)
		}
	}
	return out
}

// Ulimit returns the ulimit named name (e.g. types.UlimitNameNofile), or nil.
func (c *Container) Ulimit(name types.UlimitName) *types.Ulimit {
	for i := range c.Def.Ulimits {
		if c.Def.Ulimits[i].Name == name {
			return &c.Def.Ulimits[i]
		}
	}
	return nil
}

// EFSVolume is a task volume backed by EFS.
type EFSVolume struct {
	Name   string
	Config *types.EFSVolumeConfiguration
	Path   string // field path, e.g. "volumes[nexus]"
	Pos    Pos
}

// EFSVolumes lists the volumes with an efsVolumeConfiguration.
func (td *TaskDef) EFSVolumes() []EFSVolume {
	var out []EFSVolume
	names := volumeKeys(td.Input.Volumes)
	for i := range td.Input.Volumes {
		v := &td.Input.Volumes[i]
		if v.EfsVolumeConfiguration == nil {
			continue
		}
		p := "volumes[" + names[i] + "]"
		out = append(out, EFSVolume{Name: str(v.Name), Config: v.EfsVolumeConfiguration, Path: p, Pos: td.Pos(p)})
	}
	return out
}

func volumeKeys(vols []types.Volume) []string {
	keys := make([]string, len(vols))
	seen := map[string]bool{}
	for i, v := range vols {
		if v.Name == nil || seen[*v.Name] {
			for i := range keys {
				keys[i] = fmt.Sprint(i)
			}
			return keys
		}
		seen[*v.Name] = true
		keys[i] = *v.Name
	}
	return keys
}

// WithImages returns a copy whose containers use the given images
// (container name → image reference). Names the task does not have are
// ignored: lint reports them against pier.yaml.
func (td *TaskDef) WithImages(images map[string]string) *TaskDef {
	out := td.clone()
	for i := range out.Input.ContainerDefinitions {
		c := &out.Input.ContainerDefinitions[i]
		if img, ok := images[str(c.Name)]; ok && c.Name != nil {
			c.Image = &img
		}
	}
	return out
}

// RegisterInput returns the input pier sends to RegisterTaskDefinition: a
// deep copy, as written (not normalized: ECS applies its own defaults).
// It fails when ECS would certainly reject the definition for a missing
// required field.
func (td *TaskDef) RegisterInput() (*ecs.RegisterTaskDefinitionInput, error) {
	var problems []string
	if td.Family() == "" {
		problems = append(problems, "no \"family\"")
	}
	if len(td.Input.ContainerDefinitions) == 0 {
		problems = append(problems, "no \"containerDefinitions\"")
	}
	for i, c := range td.Input.ContainerDefinitions {
		if str(c.Name) == "" {
			problems = append(problems, fmt.Sprintf("container %d has no \"name\"", i))
		} else if str(c.Image) == "" {
			problems = append(problems, fmt.Sprintf("container %q has no \"image\"", *c.Name))
		}
	}
	if len(problems) > 0 {
		where := td.File
		if where == "" {
			where = "task definition " + fmt.Sprintf("%q", td.Family())
		}
		return nil, fmt.Errorf("preparing RegisterTaskDefinition input from %s: %s", where, strings.Join(problems, "; "))
	}
	in := td.clone().Input
	return &in, nil
}

// JSON renders the RegisterTaskDefinition input as indented JSON with the
// SDK's member names and a stable key order (the SDK's serialization order),
// ending in a newline. It is what `pier render` prints.
func (td *TaskDef) JSON() []byte {
	var buf bytes.Buffer
	writeJSON(&buf, toTree(&td.Input), "", "  ")
	buf.WriteByte('\n')
	return buf.Bytes()
}

// MarshalJSON renders the compact form of JSON.
func (td *TaskDef) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	writeJSON(&buf, toTree(&td.Input), "", "")
	return buf.Bytes(), nil
}
