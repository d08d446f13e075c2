package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const inforumFromRoot = "testdata/inforum/pier.yaml"

// completionCases are command lines (the last word being completed) and
// candidates each shell must offer (want) and must not (not).
var completionCases = []struct {
	line      string
	want, not []string
}{
	{"pier ", []string{"deploy", "init", "completion", "plan", "help"}, []string{"__complete", "action"}},
	{"pier de", []string{"deploy"}, []string{"plan"}},
	{"pier deploy -f " + inforumFromRoot + " ", []string{"frontend", "backend", "nexus"}, []string{"front-next"}},
	{"pier deploy -f " + inforumFromRoot + " frontend ", []string{"backend", "nexus"}, []string{"frontend"}},
	{"pier -f " + inforumFromRoot + " push front", []string{"front-next", "front-nginx"}, []string{"backend-nginx", "frontend"}},
	{"pier deploy --out", []string{"--output"}, []string{"--timeout"}},
	{"pier init --", []string{"--cluster", "--service", "--all", "--force"}, []string{"--timeout"}},
	{"pier plan --output ", []string{"text", "json"}, nil},
	{"pier completion ", []string{"bash", "zsh", "fish"}, nil},
	{"pier lint -f testdata/infor", []string{"testdata/inforum"}, nil},
}

func TestComplete(t *testing.T) {
	t.Chdir(repoRoot)
	for _, tt := range completionCases {
		t.Run(tt.line, func(t *testing.T) {
			words := strings.Split(tt.line, " ")[1:]
			var got []string
			for _, c := range complete(words, func(string) string { return "" }) {
				got = append(got, strings.SplitN(c, "\t", 2)[0])
			}
			if slices.Equal(got, []string{filesDirective}) {
				return // the shells complete file names; the shell tests check them
			}
			check(t, tt.line, got, tt.want, tt.not)
		})
	}
}

func check(t *testing.T, line string, got, want, not []string) {
	t.Helper()
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.TrimSuffix(g, "/") == w }) {
			t.Errorf("%q: no %q among %q", line, w, got)
		}
	}
	for _, n := range not {
		if slices.Contains(got, n) {
			t.Errorf("%q: %q should not be offered: %q", line, n, got)
		}
	}
}

// shellBinary finds a shell, skipping without it unless PIER_INTEGRATION=1.
func shellBinary(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("PIER_INTEGRATION") == "1" {
			t.Fatalf("PIER_INTEGRATION=1 but %s is not installed (.ci/run installs it): %v", name, err)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// TestCompletionScripts loads each script into the real shell and completes
// the command lines above through the real pier binary, as a user's TAB
// would: bash by calling its completion function with COMP_WORDS, fish with
// its own `complete -C`, zsh with its completion-system builtins
// (_describe, _files) stood in by functions that print what they are given.
func TestCompletionScripts(t *testing.T) {
	bin := pierBinary(t)
	binDir := filepath.Join(t.TempDir(), "bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bin, filepath.Join(binDir, "pier")); err != nil {
		t.Fatal(err)
	}
	path := binDir + string(os.PathListSeparator) + os.Getenv("PATH")
	for _, shell := range []string{"bash", "zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			sh := shellBinary(t, shell)
			code, script, stderr := runPier(t, nil, "completion", shell)
			if code != ExitOK {
				t.Fatalf("pier completion %s: exit %d: %s", shell, code, stderr)
			}
			file := filepath.Join(t.TempDir(), "pier."+shell)
			if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, tt := range completionCases {
				t.Run(tt.line, func(t *testing.T) {
					cmd := shellCompletion(sh, shell, file, tt.line)
					cmd.Dir, cmd.Env = repoRoot, append(os.Environ(), "PATH="+path)
					out, err := cmd.CombinedOutput()
					if err != nil {
						t.Fatalf("%s: %v\n%s", shell, err, out)
					}
					var got []string
					for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
						got = append(got, strings.SplitN(l, "\t", 2)[0])
					}
					check(t, tt.line, got, tt.want, tt.not)
				})
			}
		})
	}
}

// shellCompletion is the command that completes line in shell with the
// script file loaded and prints one candidate a line.
func shellCompletion(sh, shell, file, line string) *exec.Cmd {
	words := strings.Split(line, " ")
	switch shell {
	case "bash":
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = "'" + w + "'"
		}
		prog := `source "$1"; COMP_WORDS=(` + strings.Join(quoted, " ") + `); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _pier; printf '%s\n' "${COMPREPLY[@]}"`
		return exec.Command(sh, "--norc", "--noprofile", "-c", prog, "bash", file)
	case "zsh":
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = "'" + w + "'"
		}
		prog := `compdef() { :; }
_describe() { local -a c; c=("${(@P)4}"); print -l -- "${c[@]%%:*}"; }
_files() { print -l -- ${~PREFIX}*(N); }
source "$1"
words=(` + strings.Join(quoted, " ") + `); CURRENT=${#words}; PREFIX=${words[CURRENT]}
_pier`
		return exec.Command(sh, "-f", "-c", prog, "zsh", file)
	}
	return exec.Command(sh, "--no-config", "-c", `source $argv[1]; complete -C $argv[2]`, file, line)
}
