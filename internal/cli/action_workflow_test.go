package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/pier-deploy/pier/internal/plan"
)

// exprRE matches a whole-value GitHub expression.
var exprRE = regexp.MustCompile(`^\$\{\{\s*(.*?)\s*\}\}$`)

// evalExpr evaluates the few expression forms the workflows pass to pier:
// `inputs.NAME`, `!inputs.NAME` and `inputs.NAME && 'a' || 'b'`, with the
// workflow_dispatch inputs given as strings ("true"/"false" for booleans). Anything
// else fails the test, so a workflow change that this cannot follow is noticed.
func evalExpr(t *testing.T, v string, inputs map[string]string) string {
	t.Helper()
	m := exprRE.FindStringSubmatch(v)
	if m == nil {
		if strings.Contains(v, "${{") {
			t.Fatalf("expression inside a longer value: %q", v)
		}
		return v
	}
	e := m[1]
	if name, ok := strings.CutPrefix(e, "!inputs."); ok {
		if inputs[name] == "true" {
			return "false"
		}
		return "true"
	}
	if m := regexp.MustCompile(`^inputs\.([\w-]+) && '([^']*)' \|\| '([^']*)'$`).FindStringSubmatch(e); m != nil {
		if inputs[m[1]] == "true" {
			return m[2]
		}
		return m[3]
	}
	if name, ok := strings.CutPrefix(e, "inputs."); ok {
		return inputs[name]
	}
	t.Fatalf("expression %q is not one this test evaluates", e)
	return ""
}

// nexusUpgradeStep reads nexus-upgrade.yml's job and returns, for the given dispatch
// inputs, whether the AWS credentials step runs and the pier step's inputs and env.
func nexusUpgradeStep(t *testing.T, dispatch map[string]string) (awsRuns bool, with, env map[string]string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, ".github/workflows/nexus-upgrade.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf workflowFile
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatal(err)
	}
	with, env = map[string]string{}, map[string]string{}
	for _, st := range wf.Jobs["upgrade"].Steps {
		switch {
		case strings.HasPrefix(st.Uses, "aws-actions/configure-aws-credentials@"):
			awsRuns = st.If == "" || evalExpr(t, st.If, dispatch) == "true"
		case st.Uses == "./":
			for k, v := range st.With {
				with[k] = evalExpr(t, v, dispatch)
			}
			for k, v := range st.Env {
				env[k] = evalExpr(t, v, dispatch)
			}
		}
	}
	if len(with) == 0 {
		t.Fatal("nexus-upgrade.yml has no step using ./")
	}
	return awsRuns, with, env
}

// TestNexusUpgradeWorkflowThroughTheAction runs nexus-upgrade.yml's pier step the way
// `act workflow_dispatch -W .github/workflows/nexus-upgrade.yml --input version=3.73.0
// --input sandbox=true` would: first as a dry run (a plan), then for real (a recreate
// of Nexus on the new version).
func TestNexusUpgradeWorkflowThroughTheAction(t *testing.T) {
	dispatch := map[string]string{"version": "3.73.0", "dry-run": "true", "sandbox": "true"}
	awsRuns, with, env := nexusUpgradeStep(t, dispatch)
	if awsRuns {
		t.Error("configure-aws-credentials runs in a sandbox run (no credentials under act)")
	}
	if env["NEXUS_VERSION"] != "3.73.0" || with["command"] != "plan" || with["services"] != "nexus" {
		t.Fatalf("dry run: with %v, env %v", with, env)
	}
	r := runActionBinary(t, with, env)
	if r.code != ExitOK || r.outputs["result"] != "success" || r.outputs["changed"] != "true" {
		t.Fatalf("dry run: exit %d, result %q, changed %q:\n%s", r.code, r.outputs["result"], r.outputs["changed"], r)
	}
	p, err := plan.Read("plan output", []byte(r.outputs["plan"]))
	if err != nil {
		t.Fatal(err)
	}
	nexus, ok := p.Service("nexus")
	if !ok || nexus.Strategy != "recreate" || nexus.Action != plan.Register {
		t.Errorf("plan for nexus = %+v, want a recreate that registers a revision", nexus)
	}
	var planned map[string]string
	if err := json.Unmarshal([]byte(r.outputs["images"]), &planned); err != nil {
		t.Fatal(err)
	}

	dispatch["dry-run"] = "false"
	_, with, env = nexusUpgradeStep(t, dispatch)
	if with["command"] != "deploy" {
		t.Fatalf("command = %q without dry-run, want deploy", with["command"])
	}
	r = runActionBinary(t, with, env)
	if r.code != ExitOK || r.outputs["result"] != "success" {
		t.Fatalf("upgrade: exit %d, result %q:\n%s", r.code, r.outputs["result"], r)
	}
	var deployed map[string]string
	if err := json.Unmarshal([]byte(r.outputs["images"]), &deployed); err != nil {
		t.Fatal(err)
	}
	// The same image the dry run planned (ports differ between sandboxes).
	digest := func(ref string) string { _, d, _ := strings.Cut(ref, "@"); return d }
	if digest(deployed["nexus"]) == "" || digest(deployed["nexus"]) != digest(planned["nexus"]) {
		t.Errorf("deployed nexus %q, planned %q: not the same digest", deployed["nexus"], planned["nexus"])
	}
	if !regexp.MustCompile(`\| nexus \| nexus:\d+ → \d+ \| recreate \| ✅ success \|`).MatchString(r.summary) {
		t.Errorf("summary does not show nexus recreated:\n%s", r.summary)
	}
	for _, phase := range []string{"scale-down :done", "health-check :done"} {
		if !strings.Contains(r.summary, phase) {
			t.Errorf("timeline lacks %q:\n%s", phase, r.summary)
		}
	}

	// Another version is another image.
	dispatch["version"] = "3.72.0"
	_, with, env = nexusUpgradeStep(t, dispatch)
	r = runActionBinary(t, with, env)
	var older map[string]string
	_ = json.Unmarshal([]byte(r.outputs["images"]), &older)
	if r.code != ExitOK || digest(older["nexus"]) == digest(deployed["nexus"]) {
		t.Errorf("version 3.72.0 gave exit %d and nexus %q, the same digest as 3.73.0", r.code, older["nexus"])
	}
}

// TestCIWorkflowActionJob runs ci.yml's `action` job as the runner would: each
// `uses: ./` step through the binary, each `run:` step with bash and jq, step outputs
// passed through ${{ steps.ID.outputs.NAME }}. So the job's own checks of the outputs
// are proven against real outputs, not only written.
func TestCIWorkflowActionJob(t *testing.T) {
	for _, prog := range []string{"bash", "jq"} {
		if _, err := exec.LookPath(prog); err != nil {
			if os.Getenv("PIER_INTEGRATION") == "1" {
				t.Fatalf("%s is missing and PIER_INTEGRATION=1", prog)
			}
			t.Skipf("%s is missing (install it, or set PIER_INTEGRATION=1 to make this a failure)", prog)
		}
	}
	data, err := os.ReadFile(filepath.Join(repoRoot, ".github/workflows/ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf workflowFile
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatal(err)
	}
	job, ok := wf.Jobs["action"]
	if !ok {
		t.Fatal("ci.yml has no job named action")
	}
	outputs := map[string]map[string]string{}
	stepRef := regexp.MustCompile(`^\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}$`)
	ran := 0
	for _, st := range job.Steps {
		switch {
		case st.Uses == "./":
			r := runActionBinary(t, st.With, nil)
			if r.code != ExitOK {
				t.Fatalf("step %q: exit %d:\n%s", st.Name, r.code, r)
			}
			outputs[st.ID] = r.outputs
			ran++
		case st.Run != "":
			cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", st.Run)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
			for k, v := range st.Env {
				if m := stepRef.FindStringSubmatch(v); m != nil {
					v = outputs[m[1]][m[2]]
				} else if strings.Contains(v, "${{") {
					t.Fatalf("step %q: env %s = %q is an expression this test cannot evaluate", st.Name, k, v)
				}
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("step %q failed: %v\n%s", st.Name, err, out)
			}
			ran++
		}
	}
	if ran < 3 {
		t.Errorf("ran %d steps of the action job, want its two pier steps and the check", ran)
	}
}

// workflowFile is the part of a workflow file the tests run: each job's steps.
type workflowFile struct {
	Jobs map[string]struct {
		Steps []struct {
			Name string            `yaml:"name"`
			ID   string            `yaml:"id"`
			If   string            `yaml:"if"`
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]string `yaml:"with"`
			Env  map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}
