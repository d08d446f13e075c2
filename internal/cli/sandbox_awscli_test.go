package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/pier-deploy/pier/internal/integration"
	"github.com/pier-deploy/pier/internal/sim/simtest"
)

// sandboxAWSCLI finds the aws CLI, Debian's first (/usr/bin/aws) and else the one
// on PATH (pip's v1 prints timestamps as numbers; this test reads none). A missing
// CLI skips the test, unless PIER_INTEGRATION=1 says this machine must have it.
func sandboxAWSCLI(t *testing.T) string {
	t.Helper()
	return integration.Program(t, "awscli", simtest.DebianAWS, "aws")
}

// Debian's aws CLI, a second client independent of the Go SDK, pointed at
// `pier sandbox` by nothing but the lines the command prints, reads what
// the simulator holds (as the SDK reads it from the same server).
func TestSandboxAnswersTheAWSCLI(t *testing.T) {
	cli := sandboxAWSCLI(t)
	vars, _, stop := runSandboxCmd(t, "-f", "../../testdata/inforum/pier.yaml", "--speed", "1")
	defer stop()

	home := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	env = append(env, "HOME="+home, "AWS_CONFIG_FILE="+home+"/config", "AWS_SHARED_CREDENTIALS_FILE="+home+"/credentials",
		"AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true")
	awsJSON := func(endpoint string, args ...string) map[string]any {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// aws CLI releases before 2.13 (Debian 12 has 2.9) ignore
		// AWS_ENDPOINT_URL_*: give them the printed endpoint as a flag.
		cmd := exec.CommandContext(ctx, cli, append(args, "--endpoint-url", endpoint, "--output", "json")...)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		var v map[string]any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("aws %s printed %q: %v", strings.Join(args, " "), out, err)
		}
		return v
	}

	ctx := context.Background()
	creds := credentials.NewStaticCredentialsProvider(vars["AWS_ACCESS_KEY_ID"], vars["AWS_SECRET_ACCESS_KEY"], "")
	ecsc := ecs.New(ecs.Options{Region: vars["AWS_REGION"], BaseEndpoint: aws.String(vars["AWS_ENDPOINT_URL_ECS"]), HTTPClient: &http.Client{}, Credentials: creds})
	ecrc := ecr.New(ecr.Options{Region: vars["AWS_REGION"], BaseEndpoint: aws.String(vars["AWS_ENDPOINT_URL_ECR"]), HTTPClient: &http.Client{}, Credentials: creds})
	elbc := elb.New(elb.Options{Region: vars["AWS_REGION"], BaseEndpoint: aws.String(vars["AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2"]), HTTPClient: &http.Client{}, Credentials: creds})

	held, err := ecsc.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("inforum"), Services: []string{"backend"}})
	if err != nil || len(held.Services) != 1 {
		t.Fatalf("the SDK's describe-services: %v %+v", err, held)
	}
	want := held.Services[0]
	ds := awsJSON(vars["AWS_ENDPOINT_URL_ECS"], "ecs", "describe-services", "--cluster", "inforum", "--services", "backend")
	svc := ds["services"].([]any)[0].(map[string]any)
	dep := svc["deployments"].([]any)[0].(map[string]any)
	if svc["serviceArn"] != aws.ToString(want.ServiceArn) || svc["runningCount"] != float64(want.RunningCount) || svc["pendingCount"] != float64(0) ||
		svc["taskDefinition"] != aws.ToString(want.TaskDefinition) || dep["id"] != aws.ToString(want.Deployments[0].Id) ||
		dep["rolloutState"] != string(want.Deployments[0].RolloutState) || dep["failedTasks"] != float64(0) {
		t.Errorf("aws ecs describe-services: %v\nthe SDK: %+v", svc, want)
	}

	sdkTasks, err := ecsc.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("inforum"), ServiceName: aws.String("backend")})
	if err != nil {
		t.Fatal(err)
	}
	var cliTasks []string
	for _, a := range awsJSON(vars["AWS_ENDPOINT_URL_ECS"], "ecs", "list-tasks", "--cluster", "inforum", "--service-name", "backend")["taskArns"].([]any) {
		cliTasks = append(cliTasks, a.(string))
	}
	slices.Sort(cliTasks)
	slices.Sort(sdkTasks.TaskArns)
	if len(cliTasks) != 2 || !slices.Equal(cliTasks, sdkTasks.TaskArns) {
		t.Errorf("aws ecs list-tasks: %v, the SDK: %v", cliTasks, sdkTasks.TaskArns)
	}

	repo, err := ecrc.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("backend-nginx"),
		ImageTagMutability: ecrtypes.ImageTagMutabilityImmutable, ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: true}})
	if err != nil {
		t.Fatal(err)
	}
	repos := awsJSON(vars["AWS_ENDPOINT_URL_ECR"], "ecr", "describe-repositories")["repositories"].([]any)
	if len(repos) != 1 {
		t.Fatalf("aws ecr describe-repositories: %v", repos)
	}
	r := repos[0].(map[string]any)
	if r["repositoryUri"] != aws.ToString(repo.Repository.RepositoryUri) || r["imageTagMutability"] != "IMMUTABLE" ||
		r["imageScanningConfiguration"].(map[string]any)["scanOnPush"] != true {
		t.Errorf("aws ecr describe-repositories: %v", r)
	}

	tg := aws.ToString(want.LoadBalancers[0].TargetGroupArn)
	health, err := elbc.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
	if err != nil {
		t.Fatal(err)
	}
	var sdkTargets, cliTargets []string
	for _, d := range health.TargetHealthDescriptions {
		sdkTargets = append(sdkTargets, aws.ToString(d.Target.Id)+":"+string(d.TargetHealth.State))
	}
	for _, d := range awsJSON(vars["AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2"], "elbv2", "describe-target-health", "--target-group-arn", tg)["TargetHealthDescriptions"].([]any) {
		d := d.(map[string]any)
		cliTargets = append(cliTargets, d["Target"].(map[string]any)["Id"].(string)+":"+d["TargetHealth"].(map[string]any)["State"].(string))
	}
	slices.Sort(sdkTargets)
	slices.Sort(cliTargets)
	if len(cliTargets) != 2 || !slices.Equal(cliTargets, sdkTargets) || !strings.HasSuffix(cliTargets[0], ":healthy") {
		t.Errorf("aws elbv2 describe-target-health: %v, the SDK: %v", cliTargets, sdkTargets)
	}
}
