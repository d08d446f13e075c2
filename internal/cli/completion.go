package cli

import (
	"context"
	"flag"
	"fmt"
)

func init() {
	register(&command{
		name:  "completion",
		usage: "bash|zsh|fish",
		short: "print a shell completion script (commands, flags, services and images of the pipeline file)",
		long: `Prints a completion script for bash, zsh or fish. It completes commands, flags, --output
values, file names for -f and other file flags, and the service and image names of the
pipeline file the command line names (-f, else pier.yaml), read when you press TAB.

  bash:  source <(pier completion bash)        # or save it in ~/.local/share/bash-completion/completions/pier
  zsh:   source <(pier completion zsh)         # after compinit; or save it as _pier in your $fpath
  fish:  pier completion fish | source         # or save it in ~/.config/fish/completions/pier.fish`,
		flags: func(fs *flag.FlagSet, env *Env) func(context.Context, []string) int {
			return func(_ context.Context, args []string) int {
				if len(args) != 1 {
					fmt.Fprintln(env.Stderr, "pier completion: name one shell: bash, zsh or fish")
					return ExitUsage
				}
				script, ok := completionScripts[args[0]]
				if !ok {
					fmt.Fprintf(env.Stderr, "pier completion: no completion for %q: pier completes bash, zsh and fish\n", args[0])
					return ExitUsage
				}
				fmt.Fprint(env.Stdout, script)
				return ExitOK
			}
		},
	})
}

// The scripts ask the pier they complete (the command's first word, so
// ./pier completes with itself) for candidates; see complete.go.
var completionScripts = map[string]string{
	"bash": `# bash completion for pier: source <(pier completion bash)
_pier() {
    local cur=${COMP_WORDS[COMP_CWORD]} line out=()
    while IFS= read -r line; do
        out+=("${line%%$'\t'*}")
    done < <("${COMP_WORDS[0]}" __complete -- "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
    if [[ ${out[0]} == __files__ ]]; then
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return
    fi
    COMPREPLY=("${out[@]}")
}
complete -F _pier pier
`,
	"zsh": `#compdef pier
# zsh completion for pier: source <(pier completion zsh), after compinit
_pier() {
    local -a out cands
    local line
    out=("${(@f)$("${words[1]}" __complete -- "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    if [[ ${out[1]} == __files__ ]]; then
        _files
        return
    fi
    for line in "${out[@]}"; do
        [[ -n $line ]] || continue
        cands+=("${${line%%$'\t'*}//:/\\:}:${line#*$'\t'}")
    done
    _describe -t pier 'pier' cands
}
if [[ ${funcstack[1]} == _pier ]]; then
    _pier "$@"
else
    compdef _pier pier
fi
`,
	"fish": `# fish completion for pier: pier completion fish | source
function __pier_complete
    set -l words (commandline -opc) (commandline -ct)
    set -l out ($words[1] __complete -- $words[2..-1] 2>/dev/null)
    if test "$out[1]" = __files__
        __fish_complete_path (commandline -ct)
        return
    end
    printf '%s\n' $out
end
complete -c pier -f -a '(__pier_complete)'
`,
}
