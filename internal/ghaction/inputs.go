// Package ghaction runs pier as a GitHub container action: it reads the action's inputs
// (action.yml) with go-githubactions and turns them into exactly the CLI's arguments, in
// one place; it writes the outputs to $GITHUB_OUTPUT, a Markdown job summary with a
// Mermaid timeline to $GITHUB_STEP_SUMMARY, lint findings as file/line annotations,
// ::group:: log groups per phase and ::add-mask:: for registry passwords.
//
// The package never imports the CLI: the action entry point (internal/cli/action.go)
// hands Main a function that runs a pier command line, so the action runs the very same
// code path as a user typing that command.
package ghaction

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/pier-deploy/pier/internal/plan"
)

// InputNames are the inputs action.yml declares, in its order. ReadInputs reads each of
// them (a test holds the two lists equal).
var InputNames = []string{"command", "config", "services", "sandbox", "timeout", "working-directory", "args"}

// Commands are the pier commands the action can run.
var Commands = []string{"deploy", "plan", "lint", "push", "rollback", "status"}

// Inputs are the action's inputs after validation.
type Inputs struct {
	Command          string        // one of Commands; default deploy
	Config           string        // pipeline file, relative to WorkingDirectory; default pier.yaml
	Services         []string      // empty = every service of the file
	Sandbox          bool          // run against the embedded simulator
	Timeout          time.Duration // 0 = the command's default
	WorkingDirectory string        // as given; see Dir
	ExtraArgs        []string      // the args input, already split
}

// InputError is an input with a value pier cannot use.
type InputError struct {
	Input string
	Value string
	Msg   string
}

func (e *InputError) Error() string {
	return fmt.Sprintf("input %q: %q %s", e.Input, e.Value, e.Msg)
}

// ReadInputs reads the INPUT_* variables through getenv the way the runner sets them
// (upper-cased, hyphens kept: INPUT_WORKING-DIRECTORY) and validates them.
func ReadInputs(getenv func(string) string) (Inputs, error) {
	a := githubactions.New(githubactions.WithGetenv(getenv))
	in := Inputs{
		Command:          a.GetInput("command"),
		Config:           a.GetInput("config"),
		Services:         splitList(a.GetInput("services")),
		WorkingDirectory: a.GetInput("working-directory"),
	}
	if in.Command == "" {
		in.Command = "deploy"
	}
	if !slices.Contains(Commands, in.Command) {
		return Inputs{}, &InputError{"command", in.Command, "is not a pier command the action runs; use one of " + strings.Join(Commands, ", ")}
	}
	if in.Config == "" {
		in.Config = "pier.yaml"
	}
	if v := a.GetInput("sandbox"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Inputs{}, &InputError{"sandbox", v, "is not a boolean; use true or false"}
		}
		in.Sandbox = b
	}
	if v := a.GetInput("timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Inputs{}, &InputError{"timeout", v, "is not a positive duration; write it like 20m or 1h30m"}
		}
		in.Timeout = d
	}
	args, err := SplitArgs(a.GetInput("args"))
	if err != nil {
		return Inputs{}, &InputError{"args", a.GetInput("args"), err.Error()}
	}
	in.ExtraArgs = args
	return in, nil
}

// splitList splits the services input, which may be separated by spaces, commas or
// newlines (a YAML block scalar).
func splitList(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
	if len(f) == 0 {
		return nil
	}
	return f
}

// Dir is the directory the command runs in: working-directory resolved against the
// workspace (the container's working directory when GITHUB_WORKSPACE is unset).
func (in Inputs) Dir(workspace string) string {
	switch {
	case filepath.IsAbs(in.WorkingDirectory):
		return in.WorkingDirectory
	case workspace == "":
		return in.WorkingDirectory
	default:
		return filepath.Join(workspace, in.WorkingDirectory)
	}
}

// JSON reports whether the action runs the command with --output json: every command
// whose result becomes outputs or annotations. status stays text: it is read by people.
func (in Inputs) JSON() bool { return in.Command != "status" }

// CommandLine is the one mapping from inputs to pier's command line. Flags the command would
// not accept are left out rather than failing the step, so one workflow can switch
// command between plan and deploy and keep its other inputs.
func (in Inputs) CommandLine() []string {
	args := []string{"-f", in.Config}
	if in.JSON() {
		args = append(args, "--output", "json")
	}
	args = append(args, in.Command)
	// lint reads only files; every other command talks to AWS (or the sandbox).
	if in.Sandbox && in.Command != "lint" {
		args = append(args, "--sandbox")
	}
	if in.Timeout > 0 && (in.Command == "deploy" || in.Command == "rollback") {
		args = append(args, "--timeout", plan.Duration(in.Timeout)) // 30m, as the user wrote it, not 30m0s
	}
	args = append(args, in.ExtraArgs...)
	// lint checks the whole file together; it takes no names.
	if len(in.Services) > 0 && in.Command != "lint" {
		// "--" keeps a service name that starts with "-" from reading as a flag.
		args = append(args, "--")
		args = append(args, in.Services...)
	}
	return args
}
