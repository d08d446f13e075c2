package taskdef

import "bytes"

// DescribeJSON renders the definition the way `aws ecs describe-task-definition
// --include TAGS` prints it, without the read-only fields: the definition under
// "taskDefinition" and its tags beside it (left out when it has none), indented
// with four spaces like the aws CLI. Load reads it back to the same TaskDef, so
// `pier init` writes files a user can commit and edit like a hand-copied one.
func (td *TaskDef) DescribeJSON() []byte {
	tree := toTree(&td.Input)
	var tags *node
	body := &node{kind: kObject}
	for _, m := range tree.members {
		if m.key == "tags" {
			tags = m.val
			continue
		}
		body.members = append(body.members, m)
	}
	doc := &node{kind: kObject, members: []member{{key: "taskDefinition", val: body}}}
	if tags != nil && len(tags.elems) > 0 {
		doc.members = append(doc.members, member{key: "tags", val: tags})
	}
	var buf bytes.Buffer
	writeJSON(&buf, doc, "", "    ")
	buf.WriteByte('\n')
	return buf.Bytes()
}
