package ghaction

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestReadInputs(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want Inputs
		args []string
	}{
		{
			name: "defaults",
			env:  map[string]string{},
			want: Inputs{Command: "deploy", Config: "pier.yaml", ExtraArgs: []string{}},
			args: []string{"-f", "pier.yaml", "--output", "json", "deploy"},
		},
		{
			name: "everything",
			env: map[string]string{
				"INPUT_COMMAND":           "deploy",
				"INPUT_CONFIG":            "deploy/pier.yaml",
				"INPUT_SERVICES":          " frontend, backend\nnexus ",
				"INPUT_SANDBOX":           "true",
				"INPUT_TIMEOUT":           "25m",
				"INPUT_WORKING-DIRECTORY": "infra",
				"INPUT_ARGS":              `--no-color --message "two words"`,
			},
			want: Inputs{
				Command: "deploy", Config: "deploy/pier.yaml", Services: []string{"frontend", "backend", "nexus"},
				Sandbox: true, Timeout: 25 * time.Minute, WorkingDirectory: "infra",
				ExtraArgs: []string{"--no-color", "--message", "two words"},
			},
			args: []string{"-f", "deploy/pier.yaml", "--output", "json", "deploy", "--sandbox", "--timeout", "25m",
				"--no-color", "--message", "two words", "--", "frontend", "backend", "nexus"},
		},
		{
			name: "plan drops timeout, keeps sandbox",
			env:  map[string]string{"INPUT_COMMAND": "plan", "INPUT_SANDBOX": "true", "INPUT_TIMEOUT": "5m", "INPUT_SERVICES": "nexus"},
			want: Inputs{Command: "plan", Config: "pier.yaml", Services: []string{"nexus"}, Sandbox: true, Timeout: 5 * time.Minute, ExtraArgs: []string{}},
			args: []string{"-f", "pier.yaml", "--output", "json", "plan", "--sandbox", "--", "nexus"},
		},
		{
			name: "lint never talks to AWS and checks the whole file",
			env:  map[string]string{"INPUT_COMMAND": "lint", "INPUT_SANDBOX": "true", "INPUT_SERVICES": "backend"},
			want: Inputs{Command: "lint", Config: "pier.yaml", Services: []string{"backend"}, Sandbox: true, ExtraArgs: []string{}},
			args: []string{"-f", "pier.yaml", "--output", "json", "lint"},
		},
		{
			name: "status is for people",
			env:  map[string]string{"INPUT_COMMAND": "status", "INPUT_SANDBOX": "false", "INPUT_SERVICES": "backend"},
			want: Inputs{Command: "status", Config: "pier.yaml", Services: []string{"backend"}, ExtraArgs: []string{}},
			args: []string{"-f", "pier.yaml", "status", "--", "backend"},
		},
		{
			name: "rollback with timeout",
			env:  map[string]string{"INPUT_COMMAND": "rollback", "INPUT_TIMEOUT": "1h30m", "INPUT_SERVICES": "nexus"},
			want: Inputs{Command: "rollback", Config: "pier.yaml", Services: []string{"nexus"}, Timeout: 90 * time.Minute, ExtraArgs: []string{}},
			args: []string{"-f", "pier.yaml", "--output", "json", "rollback", "--timeout", "1h30m", "--", "nexus"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadInputs(env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if got.ExtraArgs == nil {
				got.ExtraArgs = []string{}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ReadInputs =\n%#v\nwant\n%#v", got, tt.want)
			}
			if args := got.CommandLine(); !reflect.DeepEqual(args, tt.args) {
				t.Errorf("CommandLine = %q\nwant %q", args, tt.args)
			}
		})
	}
}

func TestReadInputsErrors(t *testing.T) {
	tests := []struct {
		env   map[string]string
		input string
		msg   string
	}{
		{map[string]string{"INPUT_COMMAND": "destroy"}, "command", "use one of deploy, plan, lint, push, rollback, status"},
		{map[string]string{"INPUT_SANDBOX": "yes please"}, "sandbox", "not a boolean"},
		{map[string]string{"INPUT_TIMEOUT": "20"}, "timeout", "write it like 20m"},
		{map[string]string{"INPUT_TIMEOUT": "-5m"}, "timeout", "positive"},
		{map[string]string{"INPUT_ARGS": `--message "unfinished`}, "args", `unterminated " quote`},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			_, err := ReadInputs(env(tt.env))
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error = %v, want an *InputError", err)
			}
			if ie.Input != tt.input || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error = %q, want input %q and %q in the message", err, tt.input, tt.msg)
			}
		})
	}
}

func TestInputsDir(t *testing.T) {
	tests := []struct{ wd, workspace, want string }{
		{"", "/github/workspace", "/github/workspace"},
		{"infra", "/github/workspace", "/github/workspace/infra"},
		{"/abs", "/github/workspace", "/abs"},
		{"infra", "", "infra"},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := (Inputs{WorkingDirectory: tt.wd}).Dir(tt.workspace); got != tt.want {
			t.Errorf("Dir(%q) with working-directory %q = %q, want %q", tt.workspace, tt.wd, got, tt.want)
		}
	}
}

func TestSplitArgs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  string
	}{
		{in: "", want: nil},
		{in: "  \n\t ", want: nil},
		{in: "a b  c", want: []string{"a", "b", "c"}},
		{in: `--label 'it''s'`, want: []string{"--label", "its"}},
		{in: `'a b' "c d" e\ f`, want: []string{"a b", "c d", "e f"}},
		{in: `"say \"hi\" \$HOME \n"`, want: []string{`say "hi" $HOME \n`}},
		{in: `''`, want: []string{""}},
		{in: "one\\\ntwo", want: []string{"onetwo"}},
		{in: "'unterminated", err: "unterminated ' quote"},
		{in: `trailing\`, err: "lone backslash"},
	}
	for _, tt := range tests {
		got, err := SplitArgs(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("SplitArgs(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitArgs(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// FuzzSplitArgs checks that splitting never panics and that words quoted back with
// single quotes split into the same words.
func FuzzSplitArgs(f *testing.F) {
	for _, s := range []string{"", "a b", `'a b' "c \" d" e\ f`, "x\\\ny", `"`, `\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := SplitArgs(s)
		if err != nil {
			return
		}
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, "'"+strings.ReplaceAll(w, "'", `'\''`)+"'")
		}
		again, err := SplitArgs(strings.Join(quoted, " "))
		if err != nil {
			t.Fatalf("re-splitting %q: %v", quoted, err)
		}
		if len(again) != len(words) {
			t.Fatalf("SplitArgs(%q) = %q, re-split %q", s, words, again)
		}
		for i := range words {
			if again[i] != words[i] {
				t.Fatalf("SplitArgs(%q) = %q, re-split %q", s, words, again)
			}
		}
	})
}

// FuzzReadInputs: any input values either fail with an *InputError or give a command
// line that starts with the file and ends with the services after "--".
func FuzzReadInputs(f *testing.F) {
	f.Add("deploy", "pier.yaml", "frontend, backend", "true", "20m", "infra", `--x "y z"`)
	f.Add("plan", "", "", "false", "", "", "")
	f.Add("lint", "a b.yaml", "-x", "1", "1h", "/abs", `'`)
	f.Fuzz(func(t *testing.T, command, config, services, sandbox, timeout, wd, args string) {
		vars := map[string]string{
			"INPUT_COMMAND": command, "INPUT_CONFIG": config, "INPUT_SERVICES": services,
			"INPUT_SANDBOX": sandbox, "INPUT_TIMEOUT": timeout, "INPUT_WORKING-DIRECTORY": wd, "INPUT_ARGS": args,
		}
		in, err := ReadInputs(env(vars))
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v is not an *InputError", err)
			}
			return
		}
		cl := in.CommandLine()
		if len(cl) < 3 || cl[0] != "-f" || cl[1] != in.Config {
			t.Fatalf("command line %q does not start with -f %q", cl, in.Config)
		}
		if len(in.Services) > 0 && in.Command != "lint" {
			tail := cl[len(cl)-len(in.Services):]
			if !reflect.DeepEqual(tail, in.Services) || cl[len(cl)-len(in.Services)-1] != "--" {
				t.Fatalf("command line %q does not end with -- %q", cl, in.Services)
			}
		}
		for _, s := range in.Services {
			if s == "" || strings.ContainsAny(s, ", \t\n\r") {
				t.Fatalf("service %q still holds a separator", s)
			}
		}
	})
}
