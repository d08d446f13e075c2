package sim

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	smithy "github.com/aws/smithy-go"
)

// memberPaths lists the member paths of an encoded reply ("services[0].pendingCount").
func memberPaths(t *testing.T, body []byte) []string {
	t.Helper()
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("reply %s: %v", body, err)
	}
	var paths []string
	var walk func(string, any)
	walk = func(p string, x any) {
		switch x := x.(type) {
		case map[string]any:
			for k, v := range x {
				paths = append(paths, p+"."+k)
				walk(p+"."+k, v)
			}
		case []any:
			for i, v := range x {
				walk(p+"["+strconv.Itoa(i)+"]", v)
			}
		}
	}
	walk("", doc)
	slices.Sort(paths)
	return paths
}

// setPrimitives sets every non-pointer number and boolean reachable in v to
// 1 / true, so the SDK's serializer writes each under its own name.
func setPrimitives(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			setPrimitives(v.Elem())
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				setPrimitives(v.Field(i))
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			setPrimitives(v.Index(i))
		}
	case reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Float64:
		v.SetFloat(1)
	case reflect.Bool:
		v.SetBool(true)
	}
}

// A zero count or a false flag is on the wire under the very name the SDK
// gives it when it is not zero: the replies carry every member ECS's do.
func TestZeroMembersAreOnTheWire(t *testing.T) {
	for _, tc := range []struct {
		name string
		out  func() smithy.Serializable
		want []string // a few members the aws CLI would otherwise not show
	}{
		{"DescribeServices", func() smithy.Serializable {
			return &ecs.DescribeServicesOutput{Services: []ecstypes.Service{{Deployments: []ecstypes.Deployment{{}}}}}
		}, []string{".services[0].pendingCount", ".services[0].deployments[0].failedTasks", ".services[0].deployments[0].pendingCount", ".services[0].enableExecuteCommand"}},
		{"DescribeContainerInstances", func() smithy.Serializable {
			return &ecs.DescribeContainerInstancesOutput{ContainerInstances: []ecstypes.ContainerInstance{{RemainingResources: []ecstypes.Resource{{}}}}}
		}, []string{".containerInstances[0].pendingTasksCount", ".containerInstances[0].remainingResources[0].longValue", ".containerInstances[0].remainingResources[0].doubleValue"}},
		{"DescribeClusters", func() smithy.Serializable {
			return &ecs.DescribeClustersOutput{Clusters: []ecstypes.Cluster{{}}}
		}, []string{".clusters[0].activeServicesCount", ".clusters[0].pendingTasksCount"}},
		{"DescribeTasks", func() smithy.Serializable {
			return &ecs.DescribeTasksOutput{Tasks: []ecstypes.Task{{}}}
		}, []string{".tasks[0].enableExecuteCommand", ".tasks[0].version"}},
		{"DescribeTaskDefinition", func() smithy.Serializable {
			return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: &ecstypes.TaskDefinition{ContainerDefinitions: []ecstypes.ContainerDefinition{{}}}}
		}, []string{".taskDefinition.containerDefinitions[0].cpu", ".taskDefinition.revision"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			zero, err := encodeJSON11(tc.out())
			if err != nil {
				t.Fatal(err)
			}
			ones := tc.out()
			setPrimitives(reflect.ValueOf(ones))
			set, err := encodeJSON11(ones)
			if err != nil {
				t.Fatal(err)
			}
			zp, sp := memberPaths(t, zero), memberPaths(t, set)
			if !slices.Equal(zp, sp) {
				t.Errorf("zero reply members\n%v\ndiffer from the set reply's\n%v", zp, sp)
			}
			for _, p := range tc.want {
				if !slices.Contains(zp, p) {
					t.Errorf("reply %s lacks %s", zero, p)
				}
			}
		})
	}
}
