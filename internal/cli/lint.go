package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"regexp"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/lint"
)

func init() {
	register(&command{
		name:  "lint",
		usage: "[--strict] [--nginx]",
		short: "check pier.yaml, its task definitions and nginx configs together",
		long: `Checks the pipeline file, every task definition it names and every nginx.conf it builds,
together, without touching AWS. Findings print as
  file:line:col: error|warning: rule: message
(with --output json: {"findings": [{file, line, col, severity, rule, message}], "errors", "warnings"}).

With --nginx, also runs the installed nginx's own check (nginx -t) on each nginx image's
config with the image's files: in place; its complaints are errors of rule nginx-test.

Exit codes: 0 when there are no errors (warnings only), 1 when any error is found
(or any warning with --strict), 2 when a file cannot be read or parsed.`,
		flags: func(fs *flag.FlagSet, env *Env) func(context.Context, []string) int {
			strict := fs.Bool("strict", false, "fail on warnings too")
			withNginx := fs.Bool("nginx", false, "also run nginx -t on every nginx image's config (needs nginx installed)")
			return func(ctx context.Context, args []string) int {
				if len(args) > 0 {
					fmt.Fprintf(env.Stderr, "pier lint: unexpected argument %q: lint checks the whole file given with -f\n", args[0])
					return ExitUsage
				}
				in, code := loadLintInput(env, "lint")
				if in == nil {
					return code
				}
				findings := lint.Check(in)
				if *withNginx {
					more, err := lint.NginxTest(ctx, in)
					if err != nil {
						fmt.Fprintf(env.Stderr, "pier lint: %v\n", err)
						return ExitUsage
					}
					findings = append(findings, more...)
					lint.Sort(findings)
				}
				var err error
				if env.Output == "json" {
					err = lint.WriteJSON(env.Stdout, findings)
				} else {
					err = lint.WriteText(env.Stdout, findings)
				}
				if err != nil {
					fmt.Fprintf(env.Stderr, "pier lint: writing findings: %v\n", err)
					return ExitFailed
				}
				errs, warns := lint.Count(findings)
				if errs > 0 || (*strict && warns > 0) {
					return ExitFailed
				}
				return ExitOK
			}
		},
	})
}

// loadLintInput parses the pipeline file and everything it refers to. On an
// input error it prints every positioned problem, one a line, and returns
// ExitUsage.
func loadLintInput(env *Env, cmd string) (*lint.Input, int) {
	f, err := config.Load(env.File, env.Getenv)
	if err != nil {
		printInputError(env, cmd, err)
		return nil, ExitUsage
	}
	in, err := lint.Load(f)
	if err != nil {
		printInputError(env, cmd, err)
		return nil, ExitUsage
	}
	return in, ExitOK
}

// printInputError prints positioned errors as they are (file:line:col first,
// so editors and CI annotations pick them up) and anything else prefixed with
// the command.
func printInputError(env *Env, cmd string, err error) {
	if positioned.MatchString(err.Error()) {
		fmt.Fprintln(env.Stderr, err)
		return
	}
	fmt.Fprintf(env.Stderr, "pier %s: %v%s\n", cmd, err, missingFileHint(env, err))
}

// missingFileHint tells a newcomer what to do when the pipeline file itself
// is missing: most often pier was run outside the directory that holds it.
func missingFileHint(env *Env, err error) string {
	var pe *fs.PathError
	if !errors.As(err, &pe) || !errors.Is(err, fs.ErrNotExist) || pe.Path != env.File {
		return ""
	}
	if env.File == "pier.yaml" {
		return " (run pier in the directory that holds pier.yaml, or name the file with -f FILE)"
	}
	return " (check the path given to -f)"
}

// positioned matches an error message that starts with file:line:col.
var positioned = regexp.MustCompile(`^[^\s:]+:\d+:\d+: `)
