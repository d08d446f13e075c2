package sim

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// awsCLI finds Debian's aws CLI: a missing CLI skips the test, unless
// PIER_INTEGRATION=1 says this machine must have it.
func awsCLI(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("aws")
	if err != nil {
		if _, statErr := os.Stat("/usr/bin/aws"); statErr == nil {
			return "/usr/bin/aws"
		}
		if os.Getenv("PIER_INTEGRATION") == "1" {
			t.Fatalf("PIER_INTEGRATION=1 but the aws CLI is missing: %v", err)
		}
		t.Skip("the aws CLI is not installed (apt-get install awscli)")
	}
	return path
}

// runAWS runs the aws CLI against srv with an environment of its own: no
// profile, no CA bundle, dummy credentials. The endpoint goes both in the
// service-specific variables (aws-cli ≥ 2.13) and --endpoint-url (older CLIs).
func runAWS(t *testing.T, cli string, srv *Server, args ...string) map[string]any {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	home := t.TempDir()
	env = append(env, srv.Env()...)
	env = append(env, "AWS_PAGER=", "HOME="+home,
		"AWS_CONFIG_FILE="+home+"/config", "AWS_SHARED_CREDENTIALS_FILE="+home+"/credentials", "AWS_EC2_METADATA_DISABLED=true")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, append(args, "--endpoint-url", srv.URL, "--output", "json")...)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	var v map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("aws %s printed %q: %v", strings.Join(args, " "), out, err)
	}
	return v
}

// A second, independent client (Python's botocore) reads what the simulator holds.
func TestAWSCLIAgainstSandbox(t *testing.T) {
	cli := awsCLI(t)
	e := startSandbox(t, "")
	if err := e.w.ECR().CreateRepository("backend-nginx", true, true); err != nil {
		t.Fatal(err)
	}
	svc := e.service(t, "inforum", "backend")

	ds := runAWS(t, cli, e.srv, "ecs", "describe-services", "--cluster", "inforum", "--services", "backend", "frontend")
	services := ds["services"].([]any)
	if len(services) != 2 {
		t.Fatalf("describe-services: %v", ds)
	}
	backend := services[0].(map[string]any)
	if backend["serviceName"] != "backend" || backend["runningCount"] != float64(2) || backend["taskDefinition"] != aws.ToString(svc.TaskDefinition) {
		t.Errorf("backend as the CLI sees it: name %v running %v td %v", backend["serviceName"], backend["runningCount"], backend["taskDefinition"])
	}
	deps := backend["deployments"].([]any)
	if d := deps[0].(map[string]any); d["rolloutState"] != "COMPLETED" || d["id"] != aws.ToString(svc.Deployments[0].Id) {
		t.Errorf("deployment as the CLI sees it: %v", d)
	}

	lt := runAWS(t, cli, e.srv, "ecs", "list-tasks", "--cluster", "inforum", "--service-name", "backend")
	if arns := lt["taskArns"].([]any); len(arns) != 2 || !strings.Contains(arns[0].(string), ":task/inforum/") {
		t.Errorf("list-tasks: %v", lt)
	}

	dr := runAWS(t, cli, e.srv, "ecr", "describe-repositories")
	repos := dr["repositories"].([]any)
	if len(repos) != 1 {
		t.Fatalf("describe-repositories: %v", dr)
	}
	if r := repos[0].(map[string]any); r["repositoryName"] != "backend-nginx" || r["imageTagMutability"] != "IMMUTABLE" || !strings.HasPrefix(r["repositoryUri"].(string), e.srv.RegistryHost()+"/") {
		t.Errorf("repository as the CLI sees it: %v", r)
	}

	tg := aws.ToString(svc.LoadBalancers[0].TargetGroupArn)
	th := runAWS(t, cli, e.srv, "elbv2", "describe-target-health", "--target-group-arn", tg)
	descs := th["TargetHealthDescriptions"].([]any)
	if len(descs) != 2 {
		t.Fatalf("describe-target-health: %v", th)
	}
	for _, d := range descs {
		d := d.(map[string]any)
		state := d["TargetHealth"].(map[string]any)["State"]
		port := d["Target"].(map[string]any)["Port"].(float64)
		if state != "healthy" || port < 32768 || port > 60999 {
			t.Errorf("target as the CLI sees it: %v", d)
		}
	}
}
