package sim

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecrapi "github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
)

// apiCode returns the error code of an SDK error ("" for nil).
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return "not an API error: " + err.Error()
	}
	return ""
}

func TestConformanceErrors(t *testing.T) {
	e := start(t)
	e.cluster(t, "c", 4096)
	td := e.bridgeTask(t, "web", "256", "nginx:1")
	must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("web"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(1)}))(t)
	var notFound *ecstypes.ServiceNotFoundException
	var noCluster *ecstypes.ClusterNotFoundException
	var client *ecstypes.ClientException
	var invalid *ecstypes.InvalidParameterException
	for _, tc := range []struct {
		name   string
		call   func() error
		target any
		msg    string
	}{
		{"UpdateService unknown service", func() error {
			_, err := e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c"), Service: aws.String("nope"), DesiredCount: aws.Int32(1)})
			return err
		}, &notFound, "Service not found."},
		{"DescribeServices unknown cluster", func() error {
			_, err := e.ecs.DescribeServices(e.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("nope"), Services: []string{"web"}})
			return err
		}, &noCluster, "Cluster not found."},
		{"ListTasks unknown service", func() error {
			_, err := e.ecs.ListTasks(e.ctx, &ecs.ListTasksInput{Cluster: aws.String("c"), ServiceName: aws.String("nope")})
			return err
		}, &notFound, "Service not found."},
		{"DescribeTaskDefinition unknown", func() error {
			_, err := e.ecs.DescribeTaskDefinition(e.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("nope:3")})
			return err
		}, &client, "Unable to describe task definition."},
		{"RegisterTaskDefinition without image", func() error {
			_, err := e.ecs.RegisterTaskDefinition(e.ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("x"), ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("a"), Memory: aws.Int32(128), Image: aws.String("")}}})
			return err
		}, &client, "Container.image should not be null or empty."},
		{"RegisterTaskDefinition bad link", func() error {
			_, err := e.ecs.RegisterTaskDefinition(e.ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("x"), ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("nginx"), Image: aws.String("nginx"), Memory: aws.Int32(128), Links: []string{"springbot"}}}})
			return err
		}, &client, `links to "springbot"`},
		{"Fargate size", func() error {
			_, err := e.ecs.RegisterTaskDefinition(e.ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("f"), NetworkMode: ecstypes.NetworkModeAwsvpc, Cpu: aws.String("2048"), Memory: aws.String("1024"),
				RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate}, ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("a"), Image: aws.String("a")}}})
			return err
		}, &client, "No Fargate configuration exists for given values: 2048 CPU, 1024 memory."},
		{"UpdateService to a deregistered revision", func() error {
			old := e.bridgeTask(t, "web", "256", "nginx:0")
			if _, err := e.ecs.DeregisterTaskDefinition(e.ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(old)}); err != nil {
				return err
			}
			_, err := e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c"), Service: aws.String("web"), TaskDefinition: aws.String(old)})
			return err
		}, &client, "TaskDefinition is inactive"},
		{"CreateService twice", func() error {
			_, err := e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("web"), TaskDefinition: aws.String(td)})
			return err
		}, &invalid, "Creation of service was not idempotent."},
		{"CreateService unknown target group", func() error {
			_, err := e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("web2"), TaskDefinition: aws.String(td),
				LoadBalancers: []ecstypes.LoadBalancer{{TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/1"), ContainerName: aws.String("nginx"), ContainerPort: aws.Int32(80)}}})
			return err
		}, &invalid, "does not exist"},
		{"CreateService with a target group no load balancer uses", func() error {
			cfg := e.srv.AWSConfig()
			cfg.Retryer = connectionRetryer
			tg := must(elb.NewFromConfig(cfg).CreateTargetGroup(e.ctx, &elb.CreateTargetGroupInput{Name: aws.String("lonely"), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: aws.String("vpc-1")}))(t)
			_, err := e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("web4"), TaskDefinition: aws.String(td),
				LoadBalancers: []ecstypes.LoadBalancer{{TargetGroupArn: tg.TargetGroups[0].TargetGroupArn, ContainerName: aws.String("nginx"), ContainerPort: aws.Int32(80)}}})
			return err
		}, &invalid, "does not have an associated load balancer."},
		{"UpdateService bad percent", func() error {
			_, err := e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c"), Service: aws.String("web"), DeploymentConfiguration: &ecstypes.DeploymentConfiguration{MaximumPercent: aws.Int32(50)}})
			return err
		}, &invalid, "maximumPercent"},
		{"Fargate service without network configuration", func() error {
			_, err := e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("web3"), TaskDefinition: aws.String(td), LaunchType: ecstypes.LaunchTypeFargate})
			return err
		}, &invalid, "does not support launch_type FARGATE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.As(err, tc.target) {
				t.Fatalf("error %T %v, want %T", err, err, tc.target)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
		})
	}
}

func TestConformanceFailuresMissing(t *testing.T) {
	e := start(t)
	e.cluster(t, "c", 4096)
	td := e.bridgeTask(t, "web", "256", "nginx:1")
	must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("web"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(1)}))(t)
	svc := must(e.ecs.DescribeServices(e.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("c"), Services: []string{"web", "ghost"}}))(t)
	if len(svc.Services) != 1 || len(svc.Failures) != 1 || aws.ToString(svc.Failures[0].Reason) != "MISSING" ||
		aws.ToString(svc.Failures[0].Arn) != "arn:aws:ecs:us-east-1:123456789012:service/c/ghost" {
		t.Errorf("DescribeServices: %+v %+v", svc.Services, svc.Failures)
	}
	cl := must(e.ecs.DescribeClusters(e.ctx, &ecs.DescribeClustersInput{Clusters: []string{"c", "ghost"}}))(t)
	if len(cl.Clusters) != 1 || len(cl.Failures) != 1 || aws.ToString(cl.Failures[0].Reason) != "MISSING" {
		t.Errorf("DescribeClusters: %+v", cl.Failures)
	}
	tk := must(e.ecs.DescribeTasks(e.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: []string{"0123456789abcdef0123456789abcdef"}}))(t)
	if len(tk.Failures) != 1 || aws.ToString(tk.Failures[0].Reason) != "MISSING" || !strings.HasSuffix(aws.ToString(tk.Failures[0].Arn), "task/c/0123456789abcdef0123456789abcdef") {
		t.Errorf("DescribeTasks: %+v", tk.Failures)
	}
	ci := must(e.ecs.DescribeContainerInstances(e.ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("c"), ContainerInstances: []string{"ghost"}}))(t)
	if len(ci.Failures) != 1 || aws.ToString(ci.Failures[0].Reason) != "MISSING" {
		t.Errorf("DescribeContainerInstances: %+v", ci.Failures)
	}
	sd := must(e.ecs.DescribeServiceDeployments(e.ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{"arn:aws:ecs:us-east-1:123456789012:service-deployment/c/web/ghost"}}))(t)
	if len(sd.Failures) != 1 || aws.ToString(sd.Failures[0].Reason) != "MISSING" {
		t.Errorf("DescribeServiceDeployments: %+v", sd.Failures)
	}
}

func TestConformanceTaskDefinitionLifecycle(t *testing.T) {
	e := start(t)
	for range 3 {
		e.bridgeTask(t, "api", "1 vCPU", "api:1")
	}
	e.bridgeTask(t, "other", "256", "o:1")
	td := must(e.ecs.DescribeTaskDefinition(e.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("api"), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}}))(t)
	if td.TaskDefinition.Revision != 3 || aws.ToString(td.TaskDefinition.Cpu) != "1024" || td.TaskDefinition.Status != ecstypes.TaskDefinitionStatusActive || td.Tags == nil {
		t.Errorf("latest api: revision %d cpu %s status %s tags %v", td.TaskDefinition.Revision, aws.ToString(td.TaskDefinition.Cpu), td.TaskDefinition.Status, td.Tags)
	}
	if links := td.TaskDefinition.ContainerDefinitions[1].Links; len(links) != 1 || links[0] != "app" {
		t.Errorf("links %v", links)
	}
	if _, err := e.ecs.DeregisterTaskDefinition(e.ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("api")}); err == nil {
		t.Error("deregistering a family without revision succeeded")
	}
	dr := must(e.ecs.DeregisterTaskDefinition(e.ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("api:3")}))(t)
	if dr.TaskDefinition.Status != ecstypes.TaskDefinitionStatusInactive || dr.TaskDefinition.DeregisteredAt == nil {
		t.Errorf("deregistered: %s", dr.TaskDefinition.Status)
	}
	// The family now resolves to its newest ACTIVE revision.
	if got := must(e.ecs.DescribeTaskDefinition(e.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("api")}))(t).TaskDefinition.Revision; got != 2 {
		t.Errorf("api resolves to revision %d, want 2", got)
	}
	list := must(e.ecs.ListTaskDefinitions(e.ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("api"), Sort: ecstypes.SortOrderDesc}))(t)
	if len(list.TaskDefinitionArns) != 2 || !strings.HasSuffix(list.TaskDefinitionArns[0], "task-definition/api:2") {
		t.Errorf("ListTaskDefinitions: %v", list.TaskDefinitionArns)
	}
	inactive := must(e.ecs.ListTaskDefinitions(e.ctx, &ecs.ListTaskDefinitionsInput{Status: ecstypes.TaskDefinitionStatusInactive}))(t)
	if len(inactive.TaskDefinitionArns) != 1 {
		t.Errorf("inactive: %v", inactive.TaskDefinitionArns)
	}
	paged := must(e.ecs.ListTaskDefinitions(e.ctx, &ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(2)}))(t)
	if len(paged.TaskDefinitionArns) != 2 || paged.NextToken == nil {
		t.Fatalf("page 1: %v %v", paged.TaskDefinitionArns, paged.NextToken)
	}
	rest := must(e.ecs.ListTaskDefinitions(e.ctx, &ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(2), NextToken: paged.NextToken}))(t)
	if len(rest.TaskDefinitionArns) != 1 || rest.NextToken != nil {
		t.Errorf("page 2: %v", rest.TaskDefinitionArns)
	}
	fams := must(e.ecs.ListTaskDefinitionFamilies(e.ctx, &ecs.ListTaskDefinitionFamiliesInput{}))(t)
	if strings.Join(fams.Families, ",") != "api,other" {
		t.Errorf("families %v", fams.Families)
	}
	del := must(e.ecs.DeleteTaskDefinitions(e.ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{"api:3", "api:1"}}))(t)
	if len(del.TaskDefinitions) != 1 || del.TaskDefinitions[0].Status != ecstypes.TaskDefinitionStatusDeleteInProgress || len(del.Failures) != 1 ||
		!strings.Contains(aws.ToString(del.Failures[0].Reason), "still in ACTIVE status") {
		t.Errorf("DeleteTaskDefinitions: %+v %+v", del.TaskDefinitions, del.Failures)
	}
}

func TestConformanceClustersInstancesTasks(t *testing.T) {
	e := start(t)
	e.cluster(t, "c", 2048, 2048)
	if got := must(e.ecs.ListClusters(e.ctx, &ecs.ListClustersInput{}))(t).ClusterArns; len(got) != 1 || got[0] != "arn:aws:ecs:us-east-1:123456789012:cluster/c" {
		t.Errorf("ListClusters %v", got)
	}
	td := e.bridgeTask(t, "job", "1024", "job:1")
	run := must(e.ecs.RunTask(e.ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String(td), Count: aws.Int32(5), StartedBy: aws.String("me")}))(t)
	if len(run.Tasks) != 4 || len(run.Failures) != 1 || aws.ToString(run.Failures[0].Reason) != "RESOURCE:CPU" {
		t.Fatalf("RunTask: %d tasks, failures %+v", len(run.Tasks), run.Failures)
	}
	if aws.ToString(run.Tasks[0].LastStatus) != "PENDING" || aws.ToString(run.Tasks[0].DesiredStatus) != "RUNNING" {
		t.Errorf("new task %s/%s", aws.ToString(run.Tasks[0].LastStatus), aws.ToString(run.Tasks[0].DesiredStatus))
	}
	if tk := run.Tasks[0]; tk.Connectivity != ecstypes.ConnectivityConnected || tk.ConnectivityAt == nil || !tk.ConnectivityAt.Equal(aws.ToTime(tk.CreatedAt)) {
		t.Errorf("new EC2 task: connectivity %q at %v, created %v", tk.Connectivity, tk.ConnectivityAt, tk.CreatedAt)
	}
	e.advance(time.Minute)
	ci := must(e.ecs.ListContainerInstances(e.ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("c")}))(t)
	desc := must(e.ecs.DescribeContainerInstances(e.ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("c"), ContainerInstances: ci.ContainerInstanceArns}))(t)
	for _, i := range desc.ContainerInstances {
		for _, r := range i.RemainingResources {
			if aws.ToString(r.Name) == "CPU" && r.IntegerValue != 0 {
				t.Errorf("instance %s has %d CPU left, want 0", aws.ToString(i.Ec2InstanceId), r.IntegerValue)
			}
			if aws.ToString(r.Name) == "PORTS" && len(r.StringSetValue) != 5+2 {
				t.Errorf("instance ports %v, want the 5 reserved and 2 dynamic", r.StringSetValue)
			}
		}
		if i.RunningTasksCount != 2 || !i.AgentConnected {
			t.Errorf("instance: running %d", i.RunningTasksCount)
		}
	}
	mine := must(e.ecs.ListTasks(e.ctx, &ecs.ListTasksInput{Cluster: aws.String("c"), StartedBy: aws.String("me"), Family: aws.String("job")}))(t)
	if len(mine.TaskArns) != 4 {
		t.Fatalf("ListTasks: %d", len(mine.TaskArns))
	}
	tasks := must(e.ecs.DescribeTasks(e.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: mine.TaskArns[:1]}))(t).Tasks
	tk := tasks[0]
	nginx := tk.Containers[1]
	if aws.ToString(tk.LastStatus) != "RUNNING" || tk.StartedAt == nil || aws.ToString(tk.Group) != "family:job" || len(nginx.NetworkBindings) != 1 {
		t.Fatalf("task %+v", tk)
	}
	if p := aws.ToInt32(nginx.NetworkBindings[0].HostPort); p < 32768 || p > 60999 || aws.ToInt32(nginx.NetworkBindings[0].ContainerPort) != 80 {
		t.Errorf("binding %d→%d", p, aws.ToInt32(nginx.NetworkBindings[0].ContainerPort))
	}
	stopped := must(e.ecs.StopTask(e.ctx, &ecs.StopTaskInput{Cluster: aws.String("c"), Task: tk.TaskArn, Reason: aws.String("done here")}))(t)
	if aws.ToString(stopped.Task.DesiredStatus) != "STOPPED" || stopped.Task.StopCode != ecstypes.TaskStopCodeUserInitiated {
		t.Errorf("StopTask: %s %s", aws.ToString(stopped.Task.DesiredStatus), stopped.Task.StopCode)
	}
	e.advance(30 * time.Second)
	after := must(e.ecs.DescribeTasks(e.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: []string{aws.ToString(tk.TaskArn)}}))(t).Tasks[0]
	if aws.ToString(after.LastStatus) != "STOPPED" || aws.ToString(after.StoppedReason) != "done here" || after.StoppedAt == nil || aws.ToInt32(after.Containers[1].ExitCode) != 0 {
		t.Errorf("stopped task: %s %q", aws.ToString(after.LastStatus), aws.ToString(after.StoppedReason))
	}
	if _, err := e.ecs.DeleteCluster(e.ctx, &ecs.DeleteClusterInput{Cluster: aws.String("c")}); apiCode(err) != "ClusterContainsContainerInstancesException" {
		t.Errorf("DeleteCluster with instances: %v", err)
	}
}

func TestConformanceServicesAndDeployments(t *testing.T) {
	e := start(t)
	e.cluster(t, "c", 4096, 4096)
	v1 := e.bridgeTask(t, "web", "512", "web:1")
	created := must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("c"), ServiceName: aws.String("web"), TaskDefinition: aws.String(v1), DesiredCount: aws.Int32(2),
		Tags: []ecstypes.Tag{{Key: aws.String("team"), Value: aws.String("infra")}},
	}))(t).Service
	if aws.ToString(created.Status) != "ACTIVE" || len(created.Deployments) != 1 || aws.ToString(created.Deployments[0].Status) != "PRIMARY" ||
		!strings.HasPrefix(aws.ToString(created.Deployments[0].Id), "ecs-svc/") || len(aws.ToString(created.Deployments[0].Id)) != len("ecs-svc/")+19 ||
		aws.ToInt32(created.DeploymentConfiguration.MaximumPercent) != 200 || aws.ToInt32(created.DeploymentConfiguration.MinimumHealthyPercent) != 100 {
		t.Fatalf("created %+v", created)
	}
	e.advance(2 * time.Minute)
	// forceNewDeployment redeploys the same revision.
	upd := must(e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c"), Service: aws.String("web"), ForceNewDeployment: true}))(t).Service
	if len(upd.Deployments) != 2 || aws.ToString(upd.Deployments[1].Status) != "ACTIVE" || upd.Deployments[0].RolloutState != ecstypes.DeploymentRolloutStateInProgress {
		t.Fatalf("after force: %+v", upd.Deployments)
	}
	e.advance(5 * time.Second)
	mid := e.service(t, "c", "web")
	if d := mid.Deployments[0]; d.PendingCount != 2 || mid.Deployments[1].RunningCount != 2 || mid.RunningCount != 2 || mid.PendingCount != 2 {
		t.Errorf("mid-rollout: %+v", mid.Deployments)
	}
	e.advance(3 * time.Minute)
	done := e.service(t, "c", "web")
	if len(done.Deployments) != 1 || done.Deployments[0].RolloutState != ecstypes.DeploymentRolloutStateCompleted || done.RunningCount != 2 {
		t.Errorf("after rollout: %+v", done.Deployments)
	}
	// Events come newest first.
	if !strings.Contains(aws.ToString(done.Events[0].Message), "has reached a steady state.") || aws.ToTime(done.Events[0].CreatedAt).Before(aws.ToTime(done.Events[len(done.Events)-1].CreatedAt)) {
		t.Errorf("events not newest first:\n%s", eventLog(done))
	}
	// A desired-count change is not a new deployment.
	must(e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c"), Service: aws.String("web"), DesiredCount: aws.Int32(3)}))(t)
	e.advance(2 * time.Minute)
	if s := e.service(t, "c", "web"); len(s.Deployments) != 1 || s.RunningCount != 3 {
		t.Errorf("scaled: %d deployments, %d running", len(s.Deployments), s.RunningCount)
	}
	tagged := must(e.ecs.DescribeServices(e.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("c"), Services: []string{"web"}, Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags}}))(t)
	if len(tagged.Services[0].Tags) != 1 {
		t.Errorf("tags %v", tagged.Services[0].Tags)
	}
	if arns := must(e.ecs.ListServices(e.ctx, &ecs.ListServicesInput{Cluster: aws.String("c")}))(t).ServiceArns; len(arns) != 1 || arns[0] != "arn:aws:ecs:us-east-1:123456789012:service/c/web" {
		t.Errorf("ListServices %v", arns)
	}
	sds := must(e.ecs.ListServiceDeployments(e.ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("c"), Service: aws.String("web")}))(t)
	if len(sds.ServiceDeployments) != 2 || sds.ServiceDeployments[0].Status != ecstypes.ServiceDeploymentStatusSuccessful {
		t.Errorf("ListServiceDeployments %+v", sds.ServiceDeployments)
	}
	// Timestamps in requests are epoch seconds too.
	start := e.w.Clock().Now()
	recent := must(e.ecs.ListServiceDeployments(e.ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("c"), Service: aws.String("web"),
		CreatedAt: &ecstypes.CreatedAt{After: aws.Time(start.Add(-6 * time.Minute))}}))(t)
	if len(recent.ServiceDeployments) != 1 {
		t.Errorf("deployments created in the last 6 minutes: %d, want the forced one", len(recent.ServiceDeployments))
	}
	desc := must(e.ecs.DescribeServiceDeployments(e.ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{aws.ToString(sds.ServiceDeployments[0].ServiceDeploymentArn)}}))(t)
	if d := desc.ServiceDeployments[0]; len(d.SourceServiceRevisions) != 1 || d.TargetServiceRevision == nil || d.FinishedAt == nil {
		t.Errorf("DescribeServiceDeployments %+v", d)
	}
	// Deleting: scale to zero first, then the service drains to INACTIVE.
	if _, err := e.ecs.DeleteService(e.ctx, &ecs.DeleteServiceInput{Cluster: aws.String("c"), Service: aws.String("web")}); apiCode(err) != "InvalidParameterException" {
		t.Errorf("deleting a scaled service: %v", err)
	}
	must(e.ecs.DeleteService(e.ctx, &ecs.DeleteServiceInput{Cluster: aws.String("c"), Service: aws.String("web"), Force: aws.Bool(true)}))(t)
	e.advance(time.Minute)
	if s := e.service(t, "c", "web"); aws.ToString(s.Status) != "INACTIVE" || s.RunningCount != 0 {
		t.Errorf("deleted service %s running %d", aws.ToString(s.Status), s.RunningCount)
	}
	if _, err := e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c"), Service: aws.String("web"), DesiredCount: aws.Int32(1)}); apiCode(err) != "ServiceNotActiveException" {
		t.Errorf("updating an inactive service: %v", err)
	}
}

// ECR and ELBv2 answer on the same port as ECS, with their own typed errors.
func TestConformanceOneServerThreeServices(t *testing.T) {
	e := start(t)
	cfg := e.srv.AWSConfig()
	cfg.Retryer = connectionRetryer
	_, err := ecrapi.NewFromConfig(cfg).DescribeRepositories(e.ctx, &ecrapi.DescribeRepositoriesInput{RepositoryNames: []string{"ghost"}})
	var noRepo *ecrtypes.RepositoryNotFoundException
	if !errors.As(err, &noRepo) {
		t.Errorf("ECR: %v (%T)", err, err)
	}
	_, err = elb.NewFromConfig(cfg).DescribeTargetHealth(e.ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/ghost/0123456789abcdef")})
	var noTG *elbtypes.TargetGroupNotFoundException
	if !errors.As(err, &noTG) || apiCode(err) != "TargetGroupNotFound" {
		t.Errorf("ELBv2: %v (%T)", err, err)
	}
	calls := e.w.Calls()
	if calls["ecr.DescribeRepositories"] != 1 || calls["elbv2.DescribeTargetHealth"] != 1 {
		t.Errorf("calls %v", calls)
	}
	if _, err := e.ecs.ListClusters(e.ctx, nil); err != nil {
		t.Errorf("ECS: %v", err)
	}
}

// An ARM64 task does not fit x86_64 instances: ECS names the missing attribute.

// A service shows the defaults ECS applied: propagateTags NONE, a grace
// period of 0 once it has a load balancer, assignPublicIp DISABLED.
func TestServiceShowsECSDefaults(t *testing.T) {
	e := start(t)
	e.cluster(t, "c", 4096)
	fargate := must(e.ecs.RegisterTaskDefinition(e.ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("f"), NetworkMode: ecstypes.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("app:1"),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(80)}}}},
	}))(t)
	tg, _ := e.targetGroup(t, "f")
	created := must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("c"), ServiceName: aws.String("f"), TaskDefinition: fargate.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(1), LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}},
		LoadBalancers:        []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String("app"), ContainerPort: aws.Int32(80)}},
	}))(t).Service
	plain := must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("b"),
		TaskDefinition: aws.String(e.bridgeTask(t, "b", "256", "b:1")), DesiredCount: aws.Int32(1)}))(t).Service
	for _, s := range []ecstypes.Service{*created, e.service(t, "c", "f")} {
		if s.PropagateTags != ecstypes.PropagateTagsNone || s.HealthCheckGracePeriodSeconds == nil || *s.HealthCheckGracePeriodSeconds != 0 {
			t.Errorf("propagateTags %q, grace period %v", s.PropagateTags, s.HealthCheckGracePeriodSeconds)
		}
		if vpc := s.NetworkConfiguration.AwsvpcConfiguration; vpc.AssignPublicIp != ecstypes.AssignPublicIpDisabled ||
			s.Deployments[0].NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp != ecstypes.AssignPublicIpDisabled {
			t.Errorf("assignPublicIp %q", vpc.AssignPublicIp)
		}
	}
	if plain.PropagateTags != ecstypes.PropagateTagsNone || plain.HealthCheckGracePeriodSeconds != nil || plain.NetworkConfiguration != nil {
		t.Errorf("service without load balancer: propagateTags %q, grace period %v, network %+v", plain.PropagateTags, plain.HealthCheckGracePeriodSeconds, plain.NetworkConfiguration)
	}
}

// The SDK's own waiters (the aws CLI's `ecs wait services-stable` and
// `tasks-stopped` use the same acceptors) agree with the simulator.
func TestSDKWaiters(t *testing.T) {
	e := start(t)
	e.cluster(t, "c", 4096)
	td := e.bridgeTask(t, "web", "256", "web:1")
	must(e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("web"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(2)}))(t)
	fast := func(o *ecs.ServicesStableWaiterOptions) {
		o.MinDelay, o.MaxDelay = time.Millisecond, 2*time.Millisecond
	}
	stable := ecs.NewServicesStableWaiter(e.ecs, fast)
	in := &ecs.DescribeServicesInput{Cluster: aws.String("c"), Services: []string{"web"}}
	if err := stable.Wait(e.ctx, in, 20*time.Millisecond); err == nil {
		t.Error("services-stable before any task ran")
	}
	e.advance(2 * time.Minute)
	if err := stable.Wait(e.ctx, in, time.Second); err != nil {
		t.Errorf("services-stable after the rollout: %v", err)
	}
	arns := must(e.ecs.ListTasks(e.ctx, &ecs.ListTasksInput{Cluster: aws.String("c")}))(t).TaskArns
	for _, a := range arns {
		must(e.ecs.StopTask(e.ctx, &ecs.StopTaskInput{Cluster: aws.String("c"), Task: aws.String(a)}))(t)
	}
	e.advance(time.Minute)
	stopped := ecs.NewTasksStoppedWaiter(e.ecs, func(o *ecs.TasksStoppedWaiterOptions) { o.MinDelay, o.MaxDelay = time.Millisecond, 2*time.Millisecond })
	if err := stopped.Wait(e.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: arns}, time.Second); err != nil {
		t.Errorf("tasks-stopped: %v", err)
	}
	if _, err := ecs.NewServicesStableWaiter(e.ecs, fast).WaitForOutput(e.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("c"), Services: []string{"ghost"}}, time.Second); err == nil || !strings.Contains(err.Error(), "transitioned to Failure") {
		t.Errorf("services-stable of a missing service: %v, want the MISSING failure acceptor", err)
	}
}

// An awsvpc task describes its network interface the way ECS does: a UUID
// attachment naming the subnet, ENI, MAC, DNS name and address, which the
// containers' networkInterfaces point back to.
func TestAwsvpcTaskAttachment(t *testing.T) {
	e := start(t)
	e.cluster(t, "c")
	fargate := must(e.ecs.RegisterTaskDefinition(e.ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("f"), NetworkMode: ecstypes.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		ContainerDefinitions:    []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("app:1")}},
	}))(t)
	run := must(e.ecs.RunTask(e.ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: fargate.TaskDefinition.TaskDefinitionArn, LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{"subnet-0a"}}}}))(t)
	e.advance(time.Minute)
	tk := must(e.ecs.DescribeTasks(e.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: []string{aws.ToString(run.Tasks[0].TaskArn)}}))(t).Tasks[0]
	if len(tk.Attachments) != 1 {
		t.Fatalf("attachments %+v", tk.Attachments)
	}
	a := tk.Attachments[0]
	details := map[string]string{}
	var names []string
	for _, d := range a.Details {
		details[aws.ToString(d.Name)] = aws.ToString(d.Value)
		names = append(names, aws.ToString(d.Name))
	}
	ip := details["privateIPv4Address"]
	if strings.Join(names, ",") != "subnetId,networkInterfaceId,macAddress,privateDnsName,privateIPv4Address" || details["subnetId"] != "subnet-0a" ||
		!strings.HasPrefix(details["networkInterfaceId"], "eni-0") || len(details["macAddress"]) != len("0a:00:00:00:00:00") ||
		details["privateDnsName"] != "ip-"+strings.ReplaceAll(ip, ".", "-")+".ec2.internal" {
		t.Errorf("attachment details %v", details)
	}
	if id := aws.ToString(a.Id); len(id) != 36 || strings.Count(id, "-") != 4 || aws.ToString(a.Type) != "ElasticNetworkInterface" || aws.ToString(a.Status) != "ATTACHED" {
		t.Errorf("attachment %s %s %s", id, aws.ToString(a.Type), aws.ToString(a.Status))
	}
	ni := tk.Containers[0].NetworkInterfaces
	if len(ni) != 1 || aws.ToString(ni[0].AttachmentId) != aws.ToString(a.Id) || aws.ToString(ni[0].PrivateIpv4Address) != ip {
		t.Errorf("container network interfaces %+v", ni)
	}
}
