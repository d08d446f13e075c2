package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The tests here follow a newcomer's first steps: help, a typo, a missing
// file, a flag in the wrong place. Each case is something a person tried and
// found wrong or unhelpful.

// flagLine is how a flag is listed in `pier <command> --help`: the way the
// usage lines and the README write it (--output, -f), with one word for its
// argument.
var flagLine = regexp.MustCompile(`^  (-f, --file FILE|-[a-z]|--[a-z][a-z-]*)( [A-Z:]+)?$`)

func TestCommandHelpListsFlagsAsDocumented(t *testing.T) {
	for name, c := range commands {
		if c.hidden {
			continue
		}
		t.Run(name, func(t *testing.T) {
			code, out, errs := runPier(t, nil, name, "--help")
			if code != ExitOK || errs != "" {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
			first, _, _ := strings.Cut(out, "\n")
			if strings.TrimSpace(first) != first {
				t.Errorf("usage line %q has stray spaces", first)
			}
			_, flags, ok := strings.Cut(out, "\nFlags:\n")
			if !ok {
				t.Fatalf("no Flags: section:\n%s", out)
			}
			for _, line := range strings.Split(strings.TrimRight(flags, "\n"), "\n") {
				if strings.HasPrefix(line, "    \t") {
					continue // the flag's description
				}
				if !flagLine.MatchString(line) {
					t.Errorf("flag listed as %q", line)
				}
			}
			if strings.Contains(flags, "m0s)") {
				t.Errorf("a default duration is written as Go prints it (2m0s), not as pier.yaml does (2m):\n%s", flags)
			}
			if n := strings.Count(flags, "-f, --file FILE\n"); n != 1 {
				t.Errorf("-f/--file listed %d times:\n%s", n, flags)
			}
			if _, same, _ := runPier(t, nil, "help", name); same != out {
				t.Errorf("pier help %s differs from pier %s --help", name, name)
			}
		})
	}
}

func TestHelpOfHelp(t *testing.T) {
	for _, args := range [][]string{{"help", "--help"}, {"help", "-h"}, {"help", "help"}, {"--help"}} {
		code, out, errs := runPier(t, nil, args...)
		if code != ExitOK || errs != "" || !strings.Contains(out, "\nCommands:\n") || !strings.Contains(out, "3 deploy or rollback failed") {
			t.Errorf("pier %s: exit %d, stderr %q, stdout %q", strings.Join(args, " "), code, errs, out)
		}
	}
}

func TestUsageMistakesSayWhatToDo(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "none.yaml")
	badWorld := filepath.Join(dir, "world.yaml")
	if err := os.WriteFile(badWorld, []byte("seed: 1\nclusters: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	brokenTD := filepath.Join(dir, "pier.yaml")
	if err := os.WriteFile(brokenTD, []byte("cluster: c\nservices:\n  a: {taskDefinition: td.json}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "td.json"), []byte(`{"family": "x", `), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string // in stderr
		env  map[string]string
	}{
		{[]string{"deploy", "--sandbox", "-f", inforumYAML}, `SOURCE_DATE_EPOCH="abc" is not a number`, map[string]string{"SOURCE_DATE_EPOCH": "abc"}},
		{[]string{"plan", "--sandbox", "-f", inforumYAML}, `SOURCE_DATE_EPOCH="abc" is not a number`, map[string]string{"SOURCE_DATE_EPOCH": "abc"}},
		// Nothing before the usage check: no lint, no build, no sandbox.
		{[]string{"deploy", "--sandbox-world", badWorld, "-f", inforumYAML}, "--sandbox-world needs --sandbox (add --sandbox", nil},
		{[]string{"plan", "--sandbox-world", badWorld, "-f", inforumYAML}, "--sandbox-world needs --sandbox", nil},
		{[]string{"push", "--sandbox-world", badWorld, "-f", inforumYAML}, "--sandbox-world needs --sandbox", nil},
		{[]string{"deploy", "--sandbox", "--sandbox-world", missing, "-f", inforumYAML}, "--sandbox-world: reading world file: open " + missing, nil},
		{[]string{"status", "--sandbox", "--sandbox-world", badWorld, "-f", inforumYAML}, badWorld + ":2:", nil},
		{[]string{"rollback", "backend", "--sandbox", "--sandbox-world", missing, "-f", inforumYAML}, "reading world file", nil},
		// A task definition the sandbox cannot read is the user's input to fix.
		{[]string{"status", "--sandbox", "-f", brokenTD}, "td.json:1:", nil},
		{[]string{"deploy", "--timeout", "5", "-f", inforumYAML}, `invalid value "5" for flag --timeout: want a duration with a unit, such as 90s, 20m or 1h30m`, nil},
		{[]string{"rollback", "backend", "--grace", "-1s", "-f", inforumYAML}, "want a positive duration", nil},
		{[]string{"lint", "-f", missing}, "no such file or directory (check the path given to -f)", nil},
		{[]string{"deploy"}, "open pier.yaml: no such file or directory (run pier in the directory that holds pier.yaml, or name the file with -f FILE)", nil},
		{[]string{"deploy", "--sandbox", "--plan", missing, "-f", inforumYAML}, "--plan cannot be used with --sandbox: each --sandbox run starts a fresh simulated account", nil},
		{[]string{"deploy", "--sandbx", "-f", inforumYAML}, "pier deploy: unknown flag --sandbx (did you mean --sandbox?)", nil},
		{[]string{"--outptu", "json", "lint"}, "pier: unknown flag --outptu (did you mean --output?)", nil},
		{[]string{"status", "--events", "x", "-f", inforumYAML}, `invalid value "x" for flag --events: parse error`, nil},
		{[]string{"render", "-f"}, "flag needs an argument: -f", nil},
		{[]string{"version", "extra"}, `unexpected argument "extra"`, nil},
		{[]string{"status", "--events", "-1", "--sandbox", "-f", inforumYAML}, "--events and --stopped take a count of 0 or more", nil},
		{[]string{"status", "backnd", "-f", inforumYAML}, `has no service "backnd" (did you mean "backend"?); its services are frontend, backend, nexus`, nil},
	} {
		code, out, errs := runPier(t, tc.env, tc.args...)
		if code != ExitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("pier %s: exit %d, stderr:\n%s\nwant exit 2 and %q", strings.Join(tc.args, " "), code, errs, tc.want)
		}
		if strings.Contains(errs, "==> ") || strings.Contains(errs, "sandbox at") || out != "" {
			t.Errorf("pier %s started work before refusing:\n%s%s", strings.Join(tc.args, " "), errs, out)
		}
	}
}

// Naming a service twice deploys it once: two rollouts of one service
// would supersede each other and report a failure nobody caused.
func TestDeployServiceNamedTwiceDeploysOnce(t *testing.T) {
	s := newSandboxEnv(t)
	code, out, errs := s.run(t, "deploy", "backend", "backend")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if n := strings.Count(out, "service backend "); n != 1 {
		t.Errorf("backend reported %d times:\n%s", n, out)
	}
	if !strings.Contains(errs, "nothing touches AWS; times are the simulator's virtual time") {
		t.Errorf("the sandbox line does not say its times are virtual:\n%s", errs)
	}
	if n := s.w().Calls()["ecs.RegisterTaskDefinition"]; n != 1 {
		t.Errorf("%d RegisterTaskDefinition calls, want 1", n)
	}
}

// pier rollback --sandbox has nothing to roll back to (every run starts a
// fresh account on revision 1); the error says so and how to see one.
func TestRollbackSandboxSaysWhyNothingToRollBack(t *testing.T) {
	s := newSandboxEnv(t)
	code, out, errs := s.run(t, "rollback", "backend")
	if code != ExitFailed {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"ecs-backend-task:1 has no older ACTIVE revision to return to (each --sandbox run starts a fresh", "--sandbox-world testdata/sim/crashing-backend.yaml"} {
		if !strings.Contains(errs, want) || !strings.Contains(out, want) {
			t.Errorf("stderr and report should say %q:\n%s\n%s", want, errs, out)
		}
	}
}

// A build that cannot reach a base image's registry says what to try.
func TestBuildUnreachableBaseSaysWhatToDo(t *testing.T) {
	dir := t.TempDir()
	yaml := "cluster: c\nimages:\n  app:\n    files: {base: 127.0.0.1:1/nothing:1, files: {/x: pier.yaml}}\n" +
		"services:\n  app: {taskDefinition: td.json, containers: {app: app}}\n"
	td := `{"family": "app", "containerDefinitions": [{"name": "app", "image": "app", "memory": 64}]}`
	for name, data := range map[string]string{"pier.yaml": yaml, "td.json": td} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cache := t.TempDir()
	code, _, errs := runPier(t, map[string]string{"PIER_CACHE": cache}, "build", "-f", filepath.Join(dir, "pier.yaml"))
	if code != ExitFailed || !strings.Contains(errs, "could not be reached: check the network, or use --sandbox") {
		t.Errorf("exit %d, stderr:\n%s", code, errs)
	}
}

// A rollout that failed is an error line, not a warning: "warning:
// rolled-back" read as if the deploy had gone through.
func TestFailedRolloutIsAnErrorLine(t *testing.T) {
	cache := t.TempDir()
	code, out, errs := runPier(t, map[string]string{"PIER_CACHE": cache},
		"deploy", "backend", "--sandbox", "--sandbox-world", "../../testdata/sim/crashing-backend.yaml", "-f", inforumYAML)
	if code != ExitRolledBack {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"] backend: error: failed: task ", "] backend: error: rolled-back: task "} {
		if !strings.Contains(errs, want) {
			t.Errorf("no %q line:\n%s", want, errs)
		}
	}
	if strings.Contains(errs, "warning: failed") || strings.Contains(errs, "warning: rolled-back") {
		t.Errorf("a failure printed as a warning:\n%s", errs)
	}
}
