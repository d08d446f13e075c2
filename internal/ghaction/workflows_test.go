package ghaction

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// loadWorkflow parses one workflow into plain maps, for checks on its structure.
func loadWorkflow(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, ".github/workflows", name))
	if err != nil {
		t.Fatal(err)
	}
	var wf map[string]any
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return wf
}

// get walks a parsed YAML document along keys; ints index lists.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// selfSteps returns the with: maps of the steps that use ./, per job.
func selfSteps(wf map[string]any) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	jobs, _ := wf["jobs"].(map[string]any)
	for name, job := range jobs {
		steps, _ := get(job, "steps").([]any)
		for _, st := range steps {
			if get(st, "uses") == "./" {
				with, _ := get(st, "with").(map[string]any)
				out[name] = append(out[name], with)
			}
		}
	}
	return out
}

// TestWorkflowsDoWhatTheIssueSays pins the behaviour each workflow exists for.
func TestWorkflowsDoWhatTheIssueSays(t *testing.T) {
	t.Run("ci runs .ci/run and the action on the sandbox", func(t *testing.T) {
		wf := loadWorkflow(t, "ci.yml")
		data, _ := os.ReadFile(filepath.Join(repoRoot, ".github/workflows/ci.yml"))
		if !strings.Contains(string(data), ".ci/run") {
			t.Error("ci.yml does not run .ci/run")
		}
		found := false
		for _, steps := range selfSteps(wf) {
			for _, with := range steps {
				if with["sandbox"] == true && with["config"] == "testdata/inforum/pier.yaml" {
					found = true
				}
			}
		}
		if !found {
			t.Error("no step uses ./ with sandbox: true on testdata/inforum/pier.yaml")
		}
	})
	t.Run("deploy runs on push to main with OIDC for frontend and backend", func(t *testing.T) {
		wf := loadWorkflow(t, "deploy.yml")
		if br, _ := get(wf, "on", "push", "branches").([]any); len(br) != 1 || br[0] != "main" {
			t.Errorf("on.push.branches = %v, want [main]", br)
		}
		if get(wf, "permissions", "id-token") != "write" {
			t.Error("no id-token: write permission for OIDC")
		}
		steps := get(wf, "jobs", "deploy", "steps").([]any)
		aws, pier := -1, -1
		for i, st := range steps {
			switch get(st, "uses") {
			case "aws-actions/configure-aws-credentials@v4":
				aws = i
				if get(st, "with", "role-to-assume") == nil {
					t.Error("configure-aws-credentials without role-to-assume (OIDC)")
				}
			case "./":
				pier = i
				if get(st, "with", "services") != "frontend backend" {
					t.Errorf("services = %v, want \"frontend backend\"", get(st, "with", "services"))
				}
			}
		}
		if aws < 0 || pier < 0 || aws > pier {
			t.Errorf("want configure-aws-credentials (step %d) before pier (step %d)", aws, pier)
		}
	})
	t.Run("nexus-upgrade is dispatched with version and dry-run", func(t *testing.T) {
		wf := loadWorkflow(t, "nexus-upgrade.yml")
		inputs, _ := get(wf, "on", "workflow_dispatch", "inputs").(map[string]any)
		for _, in := range []string{"version", "dry-run"} {
			if inputs[in] == nil {
				t.Errorf("workflow_dispatch has no input %q", in)
			}
		}
		var with map[string]any
		var env map[string]any
		for _, st := range get(wf, "jobs", "upgrade", "steps").([]any) {
			if get(st, "uses") == "./" {
				with, _ = get(st, "with").(map[string]any)
				env, _ = get(st, "env").(map[string]any)
			}
		}
		if with["services"] != "nexus" {
			t.Errorf("services = %v, want nexus", with["services"])
		}
		if env["NEXUS_VERSION"] != "${{ inputs.version }}" {
			t.Errorf("NEXUS_VERSION = %v, want the version input", env["NEXUS_VERSION"])
		}
		if c, _ := with["command"].(string); !strings.Contains(c, "inputs.dry-run") || !strings.Contains(c, "'plan'") {
			t.Errorf("command = %q, want plan on dry-run", c)
		}
		// pier.yaml takes the Nexus version from NEXUS_VERSION.
		cfg, _ := os.ReadFile(filepath.Join(repoRoot, "testdata/inforum/pier.yaml"))
		if !strings.Contains(string(cfg), "${NEXUS_VERSION") {
			t.Error("testdata/inforum/pier.yaml does not read NEXUS_VERSION")
		}
	})
	t.Run("release builds four binaries and a two-platform image on GHCR", func(t *testing.T) {
		wf := loadWorkflow(t, "release.yml")
		data, _ := os.ReadFile(filepath.Join(repoRoot, ".github/workflows/release.yml"))
		for _, want := range []string{"for os in linux darwin", "for arch in amd64 arm64", "CGO_ENABLED=0", "-trimpath", "ghcr.io/", "gh release create"} {
			if !strings.Contains(string(data), want) {
				t.Errorf("release.yml lacks %q", want)
			}
		}
		// The image is pier's own work: prepare-image cross-compiles, pier
		// pushes .github/pier.yaml, whose platforms are the image's.
		var runs []string
		for _, st := range get(wf, "jobs", "image", "steps").([]any) {
			if u, _ := get(st, "uses").(string); strings.HasPrefix(u, "docker/setup-qemu-action") || strings.HasPrefix(u, "docker/setup-buildx-action") || strings.HasPrefix(u, "docker/build-push-action") {
				t.Errorf("the image job uses %s; pier builds the image itself", u)
			}
			if r, ok := get(st, "run").(string); ok {
				runs = append(runs, r)
			}
		}
		script := strings.Join(runs, "\n")
		for _, want := range []string{".github/prepare-image", "-f .github/pier.yaml push pier"} {
			if !strings.Contains(script, want) {
				t.Errorf("the image job does not run %q", want)
			}
		}
		pierYAML, _ := os.ReadFile(filepath.Join(repoRoot, ".github/pier.yaml"))
		if !strings.Contains(string(pierYAML), "platforms: [linux/amd64, linux/arm64]") || !strings.Contains(string(pierYAML), "base: scratch") {
			t.Error(".github/pier.yaml does not build linux/amd64 and linux/arm64 on scratch")
		}
		if get(wf, "permissions", "packages") != "write" {
			t.Error("no packages: write to push to GHCR")
		}
	})
}
