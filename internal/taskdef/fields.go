package taskdef

import (
	"fmt"
	"strings"

	"github.com/pier-deploy/pier/internal/plan"
)

// Fields flattens the definition in the one form pier compares definitions
// in (plan.Fields: Equal, Diff): normalized (ECS's defaults filled,
// order-free lists sorted, units as numbers) and without tags, which are
// metadata of a revision rather than part of what runs. Two definitions ECS
// treats as the same have equal Fields.
func (td *TaskDef) Fields() (plan.Fields, error) {
	data, err := td.Normalize().MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("rendering task definition %q: %w", td.Family(), err)
	}
	f, err := plan.Flatten(data)
	if err != nil {
		return nil, err
	}
	for k := range f {
		if strings.HasPrefix(k, "tags[") {
			delete(f, k)
		}
	}
	return f, nil
}
