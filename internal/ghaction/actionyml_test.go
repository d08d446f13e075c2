package ghaction

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// repoRoot is where action.yml and .github live, seen from this package's directory.
const repoRoot = "../.."

type actionYML struct {
	Inputs  map[string]struct{ Default string } `yaml:"inputs"`
	Outputs map[string]struct{}                 `yaml:"outputs"`
	Runs    struct {
		Using string   `yaml:"using"`
		Image string   `yaml:"image"`
		Args  []string `yaml:"args"`
	} `yaml:"runs"`
}

func readActionYML(t *testing.T) (actionYML, []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a actionYML
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatalf("parsing action.yml: %v", err)
	}
	// The order of the inputs, which a map loses.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var order []string
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "inputs" {
			m := root.Content[i+1]
			for j := 0; j+1 < len(m.Content); j += 2 {
				order = append(order, m.Content[j].Value)
			}
		}
	}
	return a, order
}

// TestActionYMLInputsAreReadInputs holds action.yml's inputs and the inputs ReadInputs
// reads equal: an input declared but never read, or read but never declared, fails.
func TestActionYMLInputsAreReadInputs(t *testing.T) {
	a, order := readActionYML(t)
	if !reflect.DeepEqual(order, InputNames) {
		t.Errorf("action.yml inputs = %q, InputNames = %q", order, InputNames)
	}

	read := map[string]bool{}
	if _, err := ReadInputs(func(k string) string {
		if name, ok := strings.CutPrefix(k, "INPUT_"); ok {
			read[name] = true
		}
		return ""
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for name := range a.Inputs {
		// The runner's naming: upper case, spaces to underscores, hyphens kept.
		want[strings.ToUpper(strings.ReplaceAll(name, " ", "_"))] = true
	}
	if !reflect.DeepEqual(read, want) {
		t.Errorf("ReadInputs reads INPUT_%v, action.yml declares INPUT_%v", keys(read), keys(want))
	}

	// action.yml's defaults are the defaults ReadInputs applies to an absent input.
	defaults := map[string]string{}
	for name, in := range a.Inputs {
		defaults["INPUT_"+strings.ToUpper(name)] = in.Default
	}
	withDefaults, err := ReadInputs(env(defaults))
	if err != nil {
		t.Fatalf("action.yml's defaults are not valid inputs: %v", err)
	}
	absent, _ := ReadInputs(env(nil))
	if !reflect.DeepEqual(withDefaults, absent) {
		t.Errorf("inputs from action.yml's defaults = %+v, from absent inputs = %+v", withDefaults, absent)
	}
}

func TestActionYMLRuns(t *testing.T) {
	a, _ := readActionYML(t)
	if a.Runs.Using != "docker" || a.Runs.Image != "Dockerfile" {
		t.Errorf("runs = %+v, want using docker, image Dockerfile (release.yml rewrites the image line on its tag)", a.Runs)
	}
	if !reflect.DeepEqual(a.Runs.Args, []string{"action"}) {
		t.Errorf("runs.args = %q, want [action]", a.Runs.Args)
	}
	// release.yml's sed matches this exact line.
	data, _ := os.ReadFile(filepath.Join(repoRoot, "action.yml"))
	if !strings.Contains(string(data), "\n  image: Dockerfile\n") {
		t.Error(`action.yml lacks the line "  image: Dockerfile" that release.yml rewrites`)
	}
	rel, err := os.ReadFile(filepath.Join(repoRoot, ".github/workflows/release.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rel), `s|^  image: Dockerfile\$|  image: docker://${IMAGE}|`) {
		t.Error("release.yml no longer rewrites action.yml's image line")
	}
}

// TestActionYMLOutputsAreWritten holds action.yml's outputs and what SetOutputs writes equal.
func TestActionYMLOutputsAreWritten(t *testing.T) {
	a, _ := readActionYML(t)
	file := filepath.Join(t.TempDir(), "output")
	w := NewWriter(new(strings.Builder), env(map[string]string{"GITHUB_OUTPUT": file}))
	if err := w.SetOutputs(Outputs{Result: Success, Plan: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for name := range parseOutputFile(t, file) {
		got[name] = true
	}
	want := map[string]bool{}
	for name := range a.Outputs {
		want[name] = true
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SetOutputs writes %v, action.yml declares %v", keys(got), keys(want))
	}
}

// knownInputs are the inputs of the third-party actions the workflows use, at the
// major versions they pin (from each action's action.yml). A workflow using an action
// not listed here fails the test until its inputs are added.
var knownInputs = map[string][]string{
	"actions/checkout@v4":                      {"repository", "ref", "token", "fetch-depth", "fetch-tags", "path", "persist-credentials"},
	"actions/setup-go@v5":                      {"go-version", "go-version-file", "check-latest", "cache", "cache-dependency-path", "architecture"},
	"aws-actions/configure-aws-credentials@v4": {"audience", "aws-access-key-id", "aws-secret-access-key", "aws-session-token", "aws-region", "mask-aws-account-id", "role-to-assume", "web-identity-token-file", "role-duration-seconds", "role-session-name", "role-external-id", "role-skip-session-tagging", "http-proxy"},
	"docker/setup-qemu-action@v3":              {"image", "platforms", "cache-image"},
	"docker/setup-buildx-action@v3":            {"version", "driver", "driver-opts", "buildkitd-flags", "install", "use", "name", "platforms", "config", "config-inline"},
	"docker/login-action@v3":                   {"registry", "username", "password", "ecr", "logout"},
	"docker/build-push-action@v6":              {"context", "file", "build-args", "labels", "tags", "platforms", "push", "load", "target", "cache-from", "cache-to", "provenance", "sbom"},
}

type workflow struct {
	On   map[string]any `yaml:"on"`
	Jobs map[string]struct {
		RunsOn string `yaml:"runs-on"`
		Steps  []struct {
			ID   string            `yaml:"id"`
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]string `yaml:"with"`
			Env  map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

// TestWorkflows parses every workflow and checks the with: keys of every step against
// the inputs of the action it uses: action.yml for `uses: ./`, knownInputs otherwise.
// Literal values given to pier must also pass ReadInputs.
func TestWorkflows(t *testing.T) {
	a, _ := readActionYML(t)
	files, err := filepath.Glob(filepath.Join(repoRoot, ".github/workflows/*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	for _, want := range []string{"ci.yml", "deploy.yml", "nexus-upgrade.yml", "release.yml"} {
		if !slices.Contains(names, want) {
			t.Errorf("no .github/workflows/%s", want)
		}
	}
	usesSelf := 0
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var wf workflow
			if err := yaml.Unmarshal(data, &wf); err != nil {
				t.Fatalf("parsing: %v", err)
			}
			if len(wf.On) == 0 || len(wf.Jobs) == 0 {
				t.Fatalf("no triggers (on:) or no jobs")
			}
			for jobName, job := range wf.Jobs {
				if job.RunsOn == "" {
					t.Errorf("job %s: no runs-on", jobName)
				}
				for i, st := range job.Steps {
					where := fmt.Sprintf("job %s step %d (%s)", jobName, i+1, st.Uses)
					if (st.Uses == "") == (st.Run == "") {
						t.Errorf("%s: a step needs exactly one of uses and run", where)
						continue
					}
					if st.Uses == "" {
						continue
					}
					var allowed []string
					if st.Uses == "./" {
						usesSelf++
						allowed = InputNames
						checkLiteralInputs(t, where, st.With)
					} else if in, ok := knownInputs[st.Uses]; ok {
						allowed = in
					} else {
						t.Errorf("%s: action not in knownInputs; add its inputs", where)
						continue
					}
					for k := range st.With {
						if !slices.Contains(allowed, k) {
							t.Errorf("%s: with: %q is not an input of %s", where, k, st.Uses)
						}
						if st.Uses == "./" {
							if _, ok := a.Inputs[k]; !ok {
								t.Errorf("%s: with: %q is not in action.yml", where, k)
							}
						}
					}
				}
			}
		})
	}
	if usesSelf < 4 {
		t.Errorf("%d steps use ./, want at least 4 (ci plan+deploy, deploy, nexus-upgrade)", usesSelf)
	}
}

// checkLiteralInputs feeds the with: values that hold no ${{ }} expression to ReadInputs.
func checkLiteralInputs(t *testing.T, where string, with map[string]string) {
	t.Helper()
	e := map[string]string{}
	for k, v := range with {
		if !strings.Contains(v, "${{") {
			e["INPUT_"+strings.ToUpper(k)] = v
		}
	}
	if _, err := ReadInputs(env(e)); err != nil {
		t.Errorf("%s: %v", where, err)
	}
}

// parseOutputFile reads a $GITHUB_OUTPUT file written with heredoc delimiters.
func parseOutputFile(t *testing.T, file string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ReadOutputs(data)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return out
}

func keys(m map[string]bool) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}
