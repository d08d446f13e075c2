package taskdef

import (
	"testing"

	smithy "github.com/aws/smithy-go"

	"github.com/aws/aws-sdk-go-v2/service/ecs/schemas"
)

// Every enum member reachable from TaskDefinition has its values known;
// otherwise a typo there would pass Load silently.
func TestEveryEnumIsKnown(t *testing.T) {
	seen := map[*smithy.Schema]bool{}
	checked := 0
	var walk func(s *smithy.Schema, path string)
	walk = func(s *smithy.Schema, path string) {
		if seen[s] {
			return
		}
		seen[s] = true
		if s.Type() == smithy.ShapeTypeEnum {
			checked++
			if _, ok := enumValues[s.TargetID().Name]; !ok && s.TargetID().Name != "" {
				t.Errorf("%s: no values known for enum %s", path, s.TargetID().Name)
			}
			return
		}
		for name, m := range s.Members() {
			walk(m, path+"."+name)
		}
	}
	walk(schemas.TaskDefinition, "TaskDefinition")
	if checked < 20 || len(enumValues) < 20 {
		t.Errorf("checked %d enum members, know %d enums: the walk is broken", checked, len(enumValues))
	}
}
