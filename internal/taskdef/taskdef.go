// Package taskdef reads ECS task definitions in the shape
// `aws ecs describe-task-definition` prints them, keeps the file position of
// every field for error messages, normalizes them the way ECS compares
// them, and turns them into the RegisterTaskDefinition input pier sends.
//
// The data model is the SDK's own: a TaskDef holds an
// ecs.RegisterTaskDefinitionInput, decoded through the SDK's generated
// (schema-driven) deserializers, so the fields pier accepts are exactly the
// fields the ECS API accepts.
//
//	td, err := taskdef.Load("backend-task.json")
//	td = td.WithImages(map[string]string{"nginx": "…/backend-nginx@sha256:…"})
//	in, err := td.RegisterInput()
//	changes := taskdef.Diff(live, td)
package taskdef

import (
	"fmt"
	"os"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// ReadOnlyFields are the members describe-task-definition prints that
// RegisterTaskDefinition does not take; Load drops them.
var ReadOnlyFields = []string{
	"taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
	"registeredAt", "registeredBy", "deregisteredAt", "deleteRequestedAt",
}

// TaskDef is one task definition: what pier would register, plus where each
// field was written.
type TaskDef struct {
	// File is the path the definition was read from; empty when it came
	// from ECS.
	File string
	// Input is the definition as RegisterTaskDefinition takes it. Callers
	// read it; to change it, use the methods that return a copy.
	Input ecs.RegisterTaskDefinitionInput

	pos map[string]Pos // field path → position of its key (or element)
}

// Load reads a task-definition file. The file holds either the whole
// describe-task-definition output ({"taskDefinition": {...}, "tags": [...]})
// or the bare task definition. Read-only fields are dropped; unknown fields,
// wrong types and syntax errors are errors with file:line:col (an Errors).
func Load(path string) (*TaskDef, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading task definition: %w", err)
	}
	return Parse(path, data)
}

// Parse is Load on bytes already read; name is used in positions.
func Parse(name string, data []byte) (*TaskDef, error) {
	root, err := parseJSON(name, data)
	if err != nil {
		return nil, Errors{err.(*Error)}
	}
	if root.kind != kObject {
		msg := "a task definition must be a JSON object, not " + describeNode(root)
		if root.kind == kArray {
			msg += " (a list of container definitions goes under \"containerDefinitions\", next to \"family\")"
		}
		return nil, Errors{{Pos: root.pos, Msg: msg}}
	}
	var errs Errors
	tdNode, tagsNode := root, (*node)(nil)
	if inner := root.get("taskDefinition"); inner != nil {
		tdNode, tagsNode = inner, root.get("tags")
		for _, m := range root.members {
			if m.key != "taskDefinition" && m.key != "tags" {
				errs = append(errs, &Error{Pos: m.keyPos, Msg: fmt.Sprintf("unknown field %q next to \"taskDefinition\" (describe-task-definition prints only \"taskDefinition\" and \"tags\")", m.key)})
			}
		}
		if tdNode.kind != kObject {
			return nil, Errors{{Pos: tdNode.pos, Msg: "\"taskDefinition\" must be an object, not " + describeNode(tdNode)}}
		}
	}

	// The bare form sometimes carries "tags" inline (copied from the
	// --include TAGS output); TaskDefinition itself has no such member.
	body := &node{kind: kObject, pos: tdNode.pos}
	for _, m := range tdNode.members {
		switch {
		case isReadOnly(m.key):
		case m.key == "tags":
			if tagsNode != nil {
				errs = append(errs, &Error{Pos: m.keyPos, Msg: "\"tags\" given both inside and next to \"taskDefinition\""})
			}
			tagsNode = m.val
		default:
			body.members = append(body.members, m)
		}
	}

	var def types.TaskDefinition
	d := newDecoder(body, "")
	d.enums = true
	_ = def.Deserialize(d) // the decoder collects errors instead of returning them
	var tags []types.Tag
	if tagsNode != nil && tagsNode.kind != kNull {
		d.cur, d.name = tagsNode, "tags"
		_ = decodeTags(d, &tags)
	}
	errs = append(errs, d.errs...)
	if len(errs) > 0 {
		errs.sort()
		return nil, errs
	}

	td := &TaskDef{File: name, Input: inputFrom(&def), pos: map[string]Pos{}}
	td.Input.Tags = tags
	recordPositions(td.pos, "", tdNode)
	if tagsNode != nil {
		recordPositions(td.pos, "tags", tagsNode)
	}
	return td, nil
}

func isReadOnly(key string) bool {
	for _, k := range ReadOnlyFields {
		if k == key {
			return true
		}
	}
	return false
}

// decodeTags reads a list of {key, value} through the SDK's Tag decoder.
func decodeTags(d *decoder, tags *[]types.Tag) error {
	d.push(d.cur, nil, kArray)
	for {
		more, _ := d.ReadListItem(nil)
		if !more {
			return nil
		}
		var t types.Tag
		_ = t.Deserialize(d)
		*tags = append(*tags, t)
	}
}

// FromECS converts a live definition (DescribeTaskDefinition's output) to
// a TaskDef, dropping the read-only fields. Pass the tags that
// DescribeTaskDefinition returned with Include=TAGS, or nil.
func FromECS(def *types.TaskDefinition, tags ...types.Tag) *TaskDef {
	in := inputFrom(def)
	in.Tags = tags
	td := &TaskDef{Input: in, pos: map[string]Pos{}}
	return td.clone()
}

// inputFrom copies the registrable members of a TaskDefinition (every
// member of RegisterTaskDefinitionInput except tags, which live outside it).
func inputFrom(def *types.TaskDefinition) ecs.RegisterTaskDefinitionInput {
	return ecs.RegisterTaskDefinitionInput{
		ContainerDefinitions: def.ContainerDefinitions,
		Family:               def.Family,
		Cpu:                  def.Cpu,
		EnableFaultInjection: def.EnableFaultInjection,
		EphemeralStorage:     def.EphemeralStorage,
		ExecutionRoleArn:     def.ExecutionRoleArn,
		//lint:ignore SA1019 old definitions may still carry it; dropping it would change them
		InferenceAccelerators:   def.InferenceAccelerators,
		IpcMode:                 def.IpcMode,
		Memory:                  def.Memory,
		NetworkMode:             def.NetworkMode,
		PidMode:                 def.PidMode,
		PlacementConstraints:    def.PlacementConstraints,
		ProxyConfiguration:      def.ProxyConfiguration,
		RequiresCompatibilities: def.RequiresCompatibilities,
		RuntimePlatform:         def.RuntimePlatform,
		TaskRoleArn:             def.TaskRoleArn,
		Volumes:                 def.Volumes,
	}
}

// clone deep-copies td by a round trip through the SDK serializer and
// deserializer, so no field can be forgotten.
func (td *TaskDef) clone() *TaskDef {
	out := &TaskDef{File: td.File, Input: fromTree(toTree(&td.Input)), pos: td.pos}
	// Keep nil and empty tags distinct, as in the original.
	if td.Input.Tags != nil && out.Input.Tags == nil {
		out.Input.Tags = []types.Tag{}
	}
	return out
}

// fromTree decodes a tree made by toTree from a RegisterTaskDefinitionInput.
func fromTree(tree *node) ecs.RegisterTaskDefinitionInput {
	var def types.TaskDefinition
	var tags []types.Tag
	body := &node{kind: kObject}
	var tagsNode *node
	for _, m := range tree.members {
		if m.key == "tags" {
			tagsNode = m.val
			continue
		}
		body.members = append(body.members, m)
	}
	d := newDecoder(body, "")
	_ = def.Deserialize(d)
	if tagsNode != nil {
		d.cur = tagsNode
		_ = decodeTags(d, &tags)
	}
	if len(d.errs) > 0 {
		// The tree came from the SDK's own serializer; failing to read it
		// back is a bug in pier, not in the input.
		panic(fmt.Sprintf("taskdef: copying a task definition: %v", d.errs))
	}
	in := inputFrom(&def)
	in.Tags = tags
	return in
}

// Family is the task definition's family name.
func (td *TaskDef) Family() string { return str(td.Input.Family) }

// NetworkMode is the network mode ECS uses for the task: the one written,
// else awsvpc when the task requires Fargate, else bridge (ECS's default
// on Linux container instances).
func (td *TaskDef) NetworkMode() types.NetworkMode {
	switch {
	case td.Input.NetworkMode != "":
		return td.Input.NetworkMode
	case td.RequiresCompatibility(types.CompatibilityFargate):
		return types.NetworkModeAwsvpc
	}
	return types.NetworkModeBridge
}

// RequiresCompatibility reports whether requiresCompatibilities names c.
func (td *TaskDef) RequiresCompatibility(c types.Compatibility) bool {
	for _, rc := range td.Input.RequiresCompatibilities {
		if rc == c {
			return true
		}
	}
	return false
}

// TaskRoleArn is the task role, or "".
func (td *TaskDef) TaskRoleArn() string { return str(td.Input.TaskRoleArn) }

// Pos returns where the field at path was written, for messages. Paths look
// like Diff's: "cpu", "containerDefinitions[nginx].links[0]",
// "volumes[nexus].efsVolumeConfiguration.transitEncryption". When the field
// itself is absent, the position of its closest written ancestor is given;
// for a definition that did not come from a file, the zero Pos with File set.
func (td *TaskDef) Pos(path string) Pos {
	for p := path; ; {
		if pos, ok := td.pos[p]; ok {
			return pos
		}
		parent, ok := parentPath(p)
		if !ok {
			return Pos{File: td.File, Line: td.pos[""].Line, Col: td.pos[""].Col}
		}
		p = parent
	}
}

// parentPath strips the last step of a field path.
func parentPath(p string) (string, bool) {
	if p == "" {
		return "", false
	}
	for i := len(p) - 1; i >= 0; i-- {
		switch p[i] {
		case '.':
			return p[:i], true
		case '[':
			return p[:i], true
		case ']':
			// skip over the bracketed key, which may contain dots
			for i > 0 && p[i] != '[' {
				i--
			}
			return p[:i], true
		}
	}
	return "", true
}

// recordPositions walks a source tree and stores the position of every
// member key and element under its field path.
func recordPositions(pos map[string]Pos, path string, n *node) {
	if _, ok := pos[path]; !ok {
		pos[path] = n.pos
	}
	switch n.kind {
	case kObject:
		for _, m := range n.members {
			p := join(path, m.key)
			pos[p] = m.keyPos
			recordPositions(pos, p, m.val)
		}
	case kArray:
		keys := elementKeys(n)
		for i, el := range n.elems {
			recordPositions(pos, path+"["+keys[i]+"]", el)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// elementKeys names the elements of an array for field paths: by a naming
// member ("name", "containerPath", …) when every element has a distinct
// one, else by index.
func elementKeys(n *node) []string {
	keys := make([]string, len(n.elems))
	for _, field := range []string{"name", "containerName", "sourceContainer", "containerPath", "key", "namespace"} {
		seen := map[string]bool{}
		ok := len(n.elems) > 0
		for i, el := range n.elems {
			v := el.get(field)
			if v == nil || v.kind != kString || seen[v.str] {
				ok = false
				break
			}
			seen[v.str] = true
			keys[i] = v.str
		}
		if ok {
			return keys
		}
	}
	for i := range keys {
		keys[i] = strconv.Itoa(i)
	}
	return keys
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
