package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/pier-deploy/pier/internal/ghaction"
	"github.com/pier-deploy/pier/internal/golden"
)

// These tests run the real pier binary the way the GitHub runner runs the container:
// the arguments from action.yml's runs.args, the inputs as INPUT_* variables (upper
// case, hyphens kept), temporary GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, the
// repository as GITHUB_WORKSPACE, and no AWS credentials: sandbox: true.

var (
	buildOnce sync.Once
	pierBin   string
	buildErr  error
)

// repoRoot is the repository, seen from this package's directory.
var repoRoot, _ = filepath.Abs("../..")

// pierBinary builds pier once per test run the way the Dockerfile does: its go build
// command, in a copy of the docker build context (action_docker_test.go).
func pierBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pier-action-test")
		if err != nil {
			buildErr = err
			return
		}
		pierBin, buildErr = buildLikeDocker(dir, t)
	})
	if buildErr != nil {
		t.Fatalf("building pier: %v", buildErr)
	}
	return pierBin
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// runsArgs reads the container arguments from action.yml.
func runsArgs(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		Runs struct {
			Args []string `yaml:"args"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatal(err)
	}
	return a.Runs.Args
}

// actionRun is what one run of the action left behind.
type actionRun struct {
	code           int
	stdout, stderr string
	outputs        map[string]string
	summary        string
}

// runActionBinary runs the binary as the runner would with the given inputs (names as in
// action.yml) and extra environment.
func runActionBinary(t *testing.T, inputs, extraEnv map[string]string) actionRun {
	t.Helper()
	return runActionBinaryWatching(t, inputs, extraEnv, nil)
}

// runActionBinaryWatching is runActionBinary calling watch with each line pier writes
// to stderr as it comes, and the process, so a test can signal it at a given phase.
func runActionBinaryWatching(t *testing.T, inputs, extraEnv map[string]string, watch func(line string, p *os.Process)) actionRun {
	t.Helper()
	bin := pierBinary(t)
	tmp, home, tmpdir := t.TempDir(), t.TempDir(), t.TempDir()
	outFile, sumFile := filepath.Join(tmp, "output"), filepath.Join(tmp, "summary")
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home, // /github/home
		"TMPDIR=" + tmpdir,
		"GITHUB_ACTIONS=true",
		"GITHUB_WORKSPACE=" + repoRoot,
		"GITHUB_OUTPUT=" + outFile,
		"GITHUB_STEP_SUMMARY=" + sumFile,
		"SOURCE_DATE_EPOCH=1700000000",
	}
	for name, v := range inputs {
		env = append(env, "INPUT_"+strings.ToUpper(name)+"="+v)
	}
	for k, v := range extraEnv {
		env = append(env, k+"="+v)
	}
	cmd := exec.Command(bin, runsArgs(t)...)
	cmd.Dir = repoRoot // docker run --workdir /github/workspace
	cmd.Env = env
	var stdout, stderr strings.Builder
	cmd.Stdout = &stdout
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(pipe)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		stderr.WriteString(sc.Text() + "\n")
		if watch != nil {
			watch(sc.Text(), cmd.Process)
		}
	}
	err = cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", bin, err)
	}
	// The action writes nothing to disk but its outputs and the summary: the build
	// cache lives in a temporary directory it removes.
	for _, dir := range []string{home, tmpdir} {
		if left, _ := os.ReadDir(dir); len(left) > 0 {
			t.Errorf("the action left %d file(s) in %s, e.g. %s", len(left), dir, left[0].Name())
		}
	}
	r := actionRun{code: code, stdout: stdout.String(), stderr: stderr.String(), outputs: readOutputs(t, outFile)}
	if s, err := os.ReadFile(sumFile); err == nil {
		r.summary = string(s)
	}
	return r
}

func (r actionRun) String() string {
	return "exit " + strconv.Itoa(r.code) + "\n--- stdout\n" + r.stdout + "\n--- stderr\n" + r.stderr + "\n--- summary\n" + r.summary
}

// readOutputs parses a $GITHUB_OUTPUT file (name<<delimiter … delimiter, or name=value).
func readOutputs(t *testing.T, file string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("reading GITHUB_OUTPUT: %v", err)
	}
	out, err := ghaction.ReadOutputs(data)
	if err != nil {
		t.Fatalf("reading GITHUB_OUTPUT %s: %v", file, err)
	}
	return out
}

// volatile matches what changes from run to run in a summary: ports, wall-clock times,
// durations and digests (checked on their own through the outputs).
var volatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:PORT"},
	{regexp.MustCompile(`\b[0-9a-f]{32}\b`), "TASK"},
	// Revision numbers follow the sandbox's seeding; the tests check the revision
	// story (old → new, back on old) on their own.
	{regexp.MustCompile(`\b(ecs-backend-task|ecs-front-task|nexus):\d+`), "$1:REV"},
	{regexp.MustCompile(`:REV → \d+`), ":REV → REV"},
	{regexp.MustCompile(`sha256:[0-9a-f]{64}`), "sha256:DIGEST"},
	{regexp.MustCompile(`, \d{13}, \d{13}\n`), ", START, END\n"},
	{regexp.MustCompile(`\| \d\d:\d\d:\d\d \|`), "| TIME |"},
	{regexp.MustCompile(`\| (\d+h)?(\d+m)?[\d.]+(ms|s)( simulated)? \|\n`), "| DURATION$4 |\n"},
	// Cross-repository mounts race between parallel pushes: which image uploads a
	// shared base layer and which mounts it varies.
	{regexp.MustCompile(`\| \d+( \(already in the registry\))? \| [\d.]+ (B|KiB|MiB|GiB) \|\n`), "| BLOBS | BYTES |\n"},
}

func normalize(s string) string {
	for _, v := range volatile {
		s = v.re.ReplaceAllString(s, v.with)
	}
	// The sandbox runs against the wall clock, so events of the same second may come
	// in either order from one run to the next; with times normalized, sort them.
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); {
		j := i
		for j < len(lines) && strings.HasPrefix(lines[j], "| TIME |") {
			j++
		}
		if j > i {
			slices.Sort(lines[i:j])
			i = j
		} else {
			i++
		}
	}
	return strings.Join(lines, "\n")
}

// actionGolden compares a normalized summary with testdata/name (-update rewrites it).
func actionGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), []byte(normalize(got)), *update)
}

var digestRef = regexp.MustCompile(`^127\.0\.0\.1:\d+/[a-z0-9._/-]+@sha256:[0-9a-f]{64}$`)

// TestActionDeploySandbox deploys the inforum services through the action, with
// working-directory (INPUT_WORKING-DIRECTORY, hyphen kept) and a config relative to it.
func TestActionDeploySandbox(t *testing.T) {
	r := runActionBinary(t, map[string]string{
		"working-directory": "testdata/inforum",
		"config":            "pier.yaml",
		"sandbox":           "true",
		"timeout":           "20m",
	}, nil)
	if r.code != ExitOK {
		t.Fatalf("action failed:\n%s", r)
	}
	if r.outputs["result"] != "success" || r.outputs["changed"] != "true" {
		t.Errorf("result %q changed %q, want success and true", r.outputs["result"], r.outputs["changed"])
	}
	var images, tds map[string]string
	if err := json.Unmarshal([]byte(r.outputs["images"]), &images); err != nil {
		t.Fatalf("images output %q: %v", r.outputs["images"], err)
	}
	for _, name := range []string{"backend-springboot", "backend-nginx", "front-next", "front-nginx", "nexus"} {
		if !digestRef.MatchString(images[name]) {
			t.Errorf("images[%q] = %q, want repository@sha256:…", name, images[name])
		}
	}
	if err := json.Unmarshal([]byte(r.outputs["task-definitions"]), &tds); err != nil {
		t.Fatalf("task-definitions output %q: %v", r.outputs["task-definitions"], err)
	}
	for _, svc := range []string{"frontend", "backend", "nexus"} {
		if !regexp.MustCompile(`^arn:aws:ecs:[a-z0-9-]+:\d{12}:task-definition/[\w-]+:\d+$`).MatchString(tds[svc]) {
			t.Errorf("task-definitions[%q] = %q, want a task definition ARN", svc, tds[svc])
		}
	}
	if _, ok := r.outputs["plan"]; ok {
		t.Error("deploy wrote a plan output")
	}
	// A log group per run phase and one per service and phase (stderr), then one per
	// service from the report (stdout); each group closed.
	for _, g := range []string{"::group::build\n", "::group::push\n", "::group::plan\n", "::group::backend: register\n",
		"::group::backend: rollout\n", "::group::nexus: scale-down\n", "::group::nexus: health-check\n"} {
		if !strings.Contains(r.stderr, g) {
			t.Errorf("no log group %q in stderr", g)
		}
	}
	for _, g := range []string{"::group::frontend: success (", "::group::backend: success (", "::group::nexus: success ("} {
		if !strings.Contains(r.stdout, g) {
			t.Errorf("no log group %q in stdout", g)
		}
	}
	for _, stream := range []string{r.stdout, r.stderr} {
		open := false
		for _, l := range strings.Split(stream, "\n") {
			switch {
			case strings.HasPrefix(l, "::group::") && open, strings.HasPrefix(l, "::endgroup::") && !open:
				t.Errorf("log groups nest or do not pair up at %q:\n%s", l, stream)
			case strings.HasPrefix(l, "::group::"):
				open = true
			case strings.HasPrefix(l, "::endgroup::"):
				open = false
			}
		}
	}
	if regexp.MustCompile(`(?m)^==> \S+ \S+`).MatchString(r.stderr) {
		t.Errorf("a service phase as a header:\n%s", r.stderr)
	}
	// The registry password is masked before anything could print it, and nothing does.
	masks := regexp.MustCompile(`(?m)^::add-mask::(.+)$`).FindAllStringSubmatch(r.stdout, -1)
	if len(masks) == 0 {
		t.Error("no ::add-mask:: for the ECR password")
	}
	for _, m := range masks {
		if n := strings.Count(r.stdout+r.stderr+r.summary, m[1]); n != 1 {
			t.Errorf("the masked password appears %d times in the log and summary, want only in its ::add-mask::", n)
		}
	}
	actionGolden(t, "action-deploy-summary.md", r.summary)
}

// TestActionDeployRolledBack: a release whose backend nginx is killed (exit 137) right
// after it starts. The step fails with exit 3, result is rolled-back, the service runs
// its previous revision again, and the summary shows the cause, the service's events
// and the stopped tasks with the exit code.
func TestActionDeployRolledBack(t *testing.T) {
	r := runActionBinary(t, map[string]string{
		"config":   "testdata/inforum/pier.yaml",
		"services": "backend",
		"sandbox":  "true",
		"args":     "--sandbox-world internal/cli/testdata/action-crashing-backend.yaml",
	}, nil)
	if r.code != ExitRolledBack {
		t.Fatalf("exit %d, want %d:\n%s", r.code, ExitRolledBack, r)
	}
	if r.outputs["result"] != "rolled-back" || r.outputs["changed"] != "true" {
		t.Errorf("result %q changed %q, want rolled-back and true", r.outputs["result"], r.outputs["changed"])
	}
	var tds map[string]string
	if err := json.Unmarshal([]byte(r.outputs["task-definitions"]), &tds); err != nil {
		t.Fatal(err)
	}
	// The service's story: old → new, back on old; the output names the old revision.
	story := regexp.MustCompile(`::group::backend: rolled-back \(ecs-backend-task:(\d+) → (\d+), back on ecs-backend-task:(\d+)\)`).FindStringSubmatch(r.stdout)
	if story == nil {
		t.Fatalf("no log group telling backend's story:\n%s", r.stdout)
	}
	if story[1] != story[3] || story[1] == story[2] {
		t.Errorf("backend went %s → %s and is back on %s, want back on %s", story[1], story[2], story[3], story[1])
	}
	if !strings.HasSuffix(tds["backend"], ":task-definition/ecs-backend-task:"+story[1]) || len(tds) != 1 {
		t.Errorf("task-definitions = %v, want only backend, back on ecs-backend-task:%s", tds, story[1])
	}
	if !regexp.MustCompile(`(?m)^::error title=pier%3A backend rolled-back::task \w+: container nginx exited with code 137`).MatchString(r.stdout) {
		t.Errorf("no error annotation with the cause:\n%s", r)
	}
	for _, want := range []string{
		"## pier deploy: ↩️ rolled back",
		"**Cause:** task ", "container nginx exited with code 137",
		"Last service events:", "(service backend) has started 2 tasks",
		"Stopped tasks, by reason:", "| 2 | ", "nginx exit 137", "| 137 (killed: out of memory?) |",
		"rollout :crit,",
	} {
		if !strings.Contains(r.summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.summary)
		}
	}
	actionGolden(t, "action-rolled-back-summary.md", r.summary)
}

// TestActionStatusSandbox: command: status prints for people, to the log and, quoted,
// into the summary; it has nothing to output but its result.
func TestActionStatusSandbox(t *testing.T) {
	r := runActionBinary(t, map[string]string{"command": "status", "config": "testdata/inforum/pier.yaml", "sandbox": "true", "services": "backend,nexus"}, nil)
	if r.code != ExitOK || r.outputs["result"] != "success" || r.outputs["changed"] != "false" {
		t.Fatalf("exit %d, result %q, changed %q; want 0, success, false:\n%s", r.code, r.outputs["result"], r.outputs["changed"], r)
	}
	for _, want := range []string{"backend (backend in inforum, ACTIVE)", "nexus (nexus in inforum, ACTIVE)"} {
		if !strings.Contains(r.stdout, want) || !strings.Contains(r.summary, want) {
			t.Errorf("%q missing from the log or the summary:\n%s", want, r)
		}
	}
	if strings.Contains(r.stdout, "frontend (") {
		t.Error("status showed frontend, which the services input left out")
	}
	if !strings.HasPrefix(r.summary, "## pier status: ✅ success") {
		t.Errorf("summary:\n%s", r.summary)
	}
}

// TestActionCommandIsHidden: `pier action` is the container's entry, not a command to
// list in help, yet `pier help action` still explains it.
func TestActionCommandIsHidden(t *testing.T) {
	run := func(args ...string) (int, string, string) {
		var out, errs strings.Builder
		code := Run(context.Background(), args, &out, &errs, func(string) string { return "" })
		return code, out.String(), errs.String()
	}
	code, out, _ := run("help")
	if code != ExitOK || strings.Contains(out, "\n  action ") {
		t.Errorf("pier help lists action (exit %d):\n%s", code, out)
	}
	code, out, _ = run("help", "action")
	if code != ExitOK || !strings.Contains(out, "INPUT_*") {
		t.Errorf("pier help action: exit %d\n%s", code, out)
	}
	if code, _, errs := run("action", "extra"); code != ExitUsage || !strings.Contains(errs, "INPUT_* variables") {
		t.Errorf("pier action extra: exit %d, %q", code, errs)
	}
}

// TestActionPushSandbox: command: push outputs the pushed images and sums up what
// uploading them cost.
func TestActionPushSandbox(t *testing.T) {
	r := runActionBinary(t, map[string]string{"command": "push", "config": "testdata/inforum/pier.yaml", "sandbox": "true", "services": "front-nginx nexus"}, nil)
	if r.code != ExitOK || r.outputs["result"] != "success" || r.outputs["changed"] != "true" {
		t.Fatalf("exit %d, result %q, changed %q; want 0, success, true:\n%s", r.code, r.outputs["result"], r.outputs["changed"], r)
	}
	var images map[string]string
	if err := json.Unmarshal([]byte(r.outputs["images"]), &images); err != nil {
		t.Fatal(err)
	}
	if len(images) != 2 || !digestRef.MatchString(images["front-nginx"]) || !digestRef.MatchString(images["nexus"]) {
		t.Errorf("images = %v, want front-nginx and nexus by digest", images)
	}
	if r.outputs["task-definitions"] != "{}" {
		t.Errorf("task-definitions = %s after a push", r.outputs["task-definitions"])
	}
	for _, want := range []string{"## pier push: ✅ success", "| front-nginx | `127.0.0.1:", "| nexus | `127.0.0.1:"} {
		if !strings.Contains(r.summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.summary)
		}
	}
}

// TestActionCancelled: the workflow is cancelled in the middle of the backend's
// rollout (the runner sends SIGTERM to the container's pier). pier reverses the step in
// flight, and the action still writes its outputs and summary: result rolled-back.
func TestActionCancelled(t *testing.T) {
	world := filepath.Join(t.TempDir(), "world.yaml")
	// 60 virtual seconds per real second, so the rollout has a middle to interrupt.
	if err := os.WriteFile(world, []byte("speed: 60\nservices:\n  backend: {deregistrationDelay: 5s}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	signalled := false
	r := runActionBinaryWatching(t, map[string]string{
		"config":   "testdata/inforum/pier.yaml",
		"services": "backend",
		"sandbox":  "true",
		"args":     "--sandbox-world '" + world + "' --grace 30m",
	}, nil, func(line string, p *os.Process) {
		// Under Actions a phase's lines come as one group when it ends:
		// the update's group is written as the rollout begins.
		if !signalled && strings.HasPrefix(line, "::group::backend: update") {
			signalled = true
			if err := p.Signal(syscall.SIGTERM); err != nil {
				t.Error(err)
			}
		}
	})
	if !signalled {
		t.Fatalf("never saw the rollout start:\n%s", r)
	}
	if r.code != ExitRolledBack || r.outputs["result"] != "rolled-back" {
		t.Fatalf("exit %d, result %q; want 3 and rolled-back:\n%s", r.code, r.outputs["result"], r)
	}
	if !strings.Contains(r.summary, "## pier deploy: ↩️ rolled back") || !strings.Contains(r.summary, "### backend: rolled-back") {
		t.Errorf("the summary does not tell the cancelled run:\n%s", r.summary)
	}
	if !strings.Contains(r.summary, "**Cause:** cancelled while waiting for deployment") {
		t.Errorf("the summary does not give cancellation as the cause:\n%s", r.summary)
	}
	if !strings.Contains(r.stderr, "cancelled") {
		t.Errorf("the log does not say the run was cancelled:\n%s", r.stderr)
	}
}
