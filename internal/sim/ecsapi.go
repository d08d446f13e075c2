package sim

import (
	smithy "github.com/aws/smithy-go"
)

// ecsOp decodes a request body, runs the operation (the world is locked)
// and returns the reply to encode.
type ecsOp func(w *World, body []byte) (smithy.Serializable, error)

// op adapts a typed operation to ecsOp: the input is the SDK's own input
// type, the output the SDK's own output type.
func op[I any, O smithy.Serializable](f func(*World, *I) (O, error)) ecsOp {
	return func(w *World, body []byte) (smithy.Serializable, error) {
		in := new(I)
		if err := decodeJSON11(body, in); err != nil {
			return nil, err
		}
		out, err := f(w, in)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

// ecsOps are the ECS operations the simulator answers.
var ecsOps = map[string]ecsOp{
	"CreateCluster":                 op((*World).opCreateCluster),
	"DescribeClusters":              op((*World).opDescribeClusters),
	"ListClusters":                  op((*World).opListClusters),
	"DeleteCluster":                 op((*World).opDeleteCluster),
	"RegisterContainerInstance":     op((*World).opRegisterContainerInstance),
	"DeregisterContainerInstance":   op((*World).opDeregisterContainerInstance),
	"ListContainerInstances":        op((*World).opListContainerInstances),
	"DescribeContainerInstances":    op((*World).opDescribeContainerInstances),
	"UpdateContainerInstancesState": op((*World).opUpdateContainerInstancesState),
	"RegisterTaskDefinition":        op((*World).opRegisterTaskDefinition),
	"DescribeTaskDefinition":        op((*World).opDescribeTaskDefinition),
	"ListTaskDefinitions":           op((*World).opListTaskDefinitions),
	"ListTaskDefinitionFamilies":    op((*World).opListTaskDefinitionFamilies),
	"DeregisterTaskDefinition":      op((*World).opDeregisterTaskDefinition),
	"DeleteTaskDefinitions":         op((*World).opDeleteTaskDefinitions),
	"CreateService":                 op((*World).opCreateService),
	"UpdateService":                 op((*World).apiUpdateService),
	"DeleteService":                 op((*World).opDeleteService),
	"DescribeServices":              op((*World).opDescribeServices),
	"ListServices":                  op((*World).opListServices),
	"ListTasks":                     op((*World).opListTasks),
	"DescribeTasks":                 op((*World).opDescribeTasks),
	"StopTask":                      op((*World).opStopTask),
	"RunTask":                       op((*World).opRunTask),
	"ListServiceDeployments":        op((*World).opListServiceDeployments),
	"DescribeServiceDeployments":    op((*World).opDescribeServiceDeployments),
}
