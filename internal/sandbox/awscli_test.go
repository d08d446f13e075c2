package sandbox

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/pier-deploy/pier/internal/sim/simtest"
)

// runAWS runs the aws CLI and decodes what it printed.
func runAWS(t *testing.T, cli *simtest.CLI, args ...string) map[string]any {
	t.Helper()
	out := cli.Output(t, args...)
	var v map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("aws %s printed %q: %v", strings.Join(args, " "), out, err)
	}
	return v
}

// A second, independent client (Python's botocore) reads what the simulator holds.
func TestAWSCLIAgainstSandbox(t *testing.T) {
	e := startSandbox(t, "")
	// The CLI finds its region, keys and per-service endpoints in srv.Env(), as a
	// user of the sandbox would (--endpoint-url too, for CLIs older than 2.13).
	cli := simtest.NewCLI(t, e.srv.URL, "")
	cli.Env = e.srv.Env()
	if err := e.w.ECR().CreateRepository("backend-nginx", true, true); err != nil {
		t.Fatal(err)
	}
	svc := e.service(t, "inforum", "backend")

	ds := runAWS(t, cli, "ecs", "describe-services", "--cluster", "inforum", "--services", "backend", "frontend")
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

	lt := runAWS(t, cli, "ecs", "list-tasks", "--cluster", "inforum", "--service-name", "backend")
	if arns := lt["taskArns"].([]any); len(arns) != 2 || !strings.Contains(arns[0].(string), ":task/inforum/") {
		t.Errorf("list-tasks: %v", lt)
	}

	dr := runAWS(t, cli, "ecr", "describe-repositories")
	repos := dr["repositories"].([]any)
	if len(repos) != 1 {
		t.Fatalf("describe-repositories: %v", dr)
	}
	if r := repos[0].(map[string]any); r["repositoryName"] != "backend-nginx" || r["imageTagMutability"] != "IMMUTABLE" || !strings.HasPrefix(r["repositoryUri"].(string), e.srv.RegistryHost()+"/") {
		t.Errorf("repository as the CLI sees it: %v", r)
	}

	tg := aws.ToString(svc.LoadBalancers[0].TargetGroupArn)
	th := runAWS(t, cli, "elbv2", "describe-target-health", "--target-group-arn", tg)
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
