package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// lockedBuffer is a bytes.Buffer safe to read while a command writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runSandboxCmd starts `pier sandbox args...` and returns its export lines
// as a map once printed, and a function that stops it and returns the exit code.
func runSandboxCmd(t *testing.T, args ...string) (map[string]string, *lockedBuffer, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, append([]string{"sandbox"}, args...), &stdout, &stderr, func(string) string { return "" })
	}()
	stop := func() int { cancel(); return <-done }
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stdout.String(), "# registry:") {
		select {
		case code := <-done:
			t.Fatalf("pier sandbox exited %d early: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("no export lines; stderr: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if kv, ok := strings.CutPrefix(line, "export "); ok {
			k, v, _ := strings.Cut(kv, "=")
			vars[k] = v
		}
	}
	return vars, &stderr, stop
}

func TestSandboxServesPierYAML(t *testing.T) {
	vars, stderr, stop := runSandboxCmd(t, "-f", "../../testdata/inforum/pier.yaml")
	for _, k := range []string{"AWS_ENDPOINT_URL_ECS", "AWS_ENDPOINT_URL_ECR", "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if vars[k] == "" {
			t.Errorf("no export of %s", k)
		}
	}
	if !strings.HasPrefix(vars["AWS_ENDPOINT_URL_ECS"], "http://127.0.0.1:") || vars["AWS_REGION"] != "ap-northeast-2" {
		t.Errorf("exports %v", vars)
	}
	client := ecs.New(ecs.Options{
		Region: vars["AWS_REGION"], BaseEndpoint: aws.String(vars["AWS_ENDPOINT_URL_ECS"]), HTTPClient: &http.Client{},
		Credentials: credentials.NewStaticCredentialsProvider(vars["AWS_ACCESS_KEY_ID"], vars["AWS_SECRET_ACCESS_KEY"], ""),
	})
	out, err := client.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("inforum"), Services: []string{"backend"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Services) != 1 || out.Services[0].RunningCount != 2 {
		t.Errorf("backend: %+v", out.Services)
	}
	if strings.Contains(stderr.String(), "warning") {
		t.Errorf("loopback sandbox warned: %s", stderr.String())
	}
	if code := stop(); code != ExitOK {
		t.Errorf("exit %d, want 0", code)
	}
}

func TestSandboxWarnsBeyondLoopback(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world.yaml")
	if err := os.WriteFile(world, []byte("speed: 100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, stop := runSandboxCmd(t, "-f", "../../testdata/inforum/pier.yaml", "--world", world, "--addr", "0.0.0.0:0")
	stop()
	if !strings.Contains(stderr.String(), "beyond loopback") {
		t.Errorf("no warning for 0.0.0.0: %s", stderr.String())
	}
	// The warning names the port chosen, not the :0 asked for.
	if strings.Contains(stderr.String(), "listening on 0.0.0.0:0,") || !regexp.MustCompile(`listening on 0\.0\.0\.0:[1-9][0-9]*,`).MatchString(stderr.String()) {
		t.Errorf("the warning should name the port listened on: %s", stderr.String())
	}
}

func TestSandboxRejectsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--speed", "-1"}, "--speed must be positive"},
		{[]string{"--addr", "nonsense"}, `--addr takes host:port, e.g. 127.0.0.1:4566 (port 0 picks a free one), not "nonsense"`},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"sandbox", "-f", "../../testdata/inforum/pier.yaml"}, tc.args...)
		code := Run(context.Background(), args, &stdout, &stderr, func(string) string { return "" })
		if code != ExitUsage || !strings.Contains(stderr.String(), tc.want) || stdout.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, stdout.String(), stderr.String(), tc.want)
		}
	}
}

func TestSandboxRejectsBadWorldFile(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world.yaml")
	if err := os.WriteFile(world, []byte("faults:\n  throttleRate: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{"sandbox", "-f", "../../testdata/inforum/pier.yaml", "--world", world}, &stdout, &stderr, func(string) string { return "" })
	if code != ExitUsage || !strings.Contains(stderr.String(), world+":2:17: faults.throttleRate must be between 0 and 1") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}

func TestSandboxWithoutPierYAMLStartsEmpty(t *testing.T) {
	t.Chdir(t.TempDir())
	vars, stderr, stop := runSandboxCmd(t)
	defer stop()
	if !strings.Contains(stderr.String(), "no pier.yaml here: starting an empty world") {
		t.Errorf("stderr: %s", stderr.String())
	}
	client := ecs.New(ecs.Options{
		Region: vars["AWS_REGION"], BaseEndpoint: aws.String(vars["AWS_ENDPOINT_URL_ECS"]), HTTPClient: &http.Client{},
		Credentials: credentials.NewStaticCredentialsProvider(vars["AWS_ACCESS_KEY_ID"], vars["AWS_SECRET_ACCESS_KEY"], ""),
	})
	out, err := client.ListClusters(context.Background(), &ecs.ListClustersInput{})
	if err != nil || len(out.ClusterArns) != 0 {
		t.Errorf("empty world: %v %v", out, err)
	}
}

func TestSandboxJSON(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"sandbox", "--output", "json", "-f", "../../testdata/inforum/pier.yaml"}, &stdout, &stderr, func(string) string { return "" })
	}()
	deadline := time.Now().Add(20 * time.Second)
	var out struct {
		URL, Registry string
		Speed         float64
		Env           map[string]string
	}
	for json.Unmarshal([]byte(stdout.String()), &out) != nil {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no JSON: %q %s", stdout.String(), stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Errorf("exit %d", code)
	}
	if !strings.HasPrefix(out.URL, "http://127.0.0.1:") || out.Env["AWS_ENDPOINT_URL_ECR"] != out.URL || out.Registry != strings.TrimPrefix(out.URL, "http://") || out.Speed != 10 {
		t.Errorf("json %+v", out)
	}
}
