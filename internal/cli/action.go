package cli

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/pier-deploy/pier/internal/ghaction"
)

func init() {
	register(&command{
		name:   "action",
		hidden: true, // the container's entry (action.yml runs.args); nobody types it
		usage:  "",
		short:  "run as the GitHub Action (reads INPUT_* variables; used by action.yml)",
		long: `Runs pier the way the GitHub Action does: reads the action's inputs from the INPUT_*
variables (command, config, services, sandbox, timeout, working-directory, args), runs that
pier command, and writes the outputs to $GITHUB_OUTPUT, a job summary to $GITHUB_STEP_SUMMARY,
lint findings as annotations and each phase as a log group. action.yml passes this command
to the container; there is no reason to type it.`,
		flags: func(fs *flag.FlagSet, env *Env) func(context.Context, []string) int {
			return func(ctx context.Context, args []string) int {
				if len(args) > 0 {
					fmt.Fprintf(env.Stderr, "pier action: unexpected argument %q: the action takes its inputs from INPUT_* variables\n", args[0])
					return ExitUsage
				}
				genv := ghaction.Env{Stdout: env.Stdout, Stderr: env.Stderr, Getenv: env.Getenv, Chdir: os.Chdir}
				return ghaction.Main(ctx, genv, Run)
			}
		},
	})
}
