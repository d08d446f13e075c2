// Package cli turns pier's command line into library calls. Flags become
// library options in exactly one place per command; nothing here talks to AWS
// directly.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/pier-deploy/pier/internal/plan"
)

// Exit codes shared by every command.
const (
	ExitOK     = 0 // the command did its work
	ExitFailed = 1 // the command's work failed (lint errors found, deploy failed before any change)
	ExitUsage  = 2 // usage or input error: bad flags, unreadable or invalid files
	// ExitRolledBack: a deploy failed and the service is back on its previous revision (verified steady).
	ExitRolledBack = 3
	// ExitNotRestored: a deploy failed and the service could not be restored.
	ExitNotRestored = 4
	// ExitNotStarted: ECS accepted the update but started no deployment of
	// the new revision; the service still runs (or is set back to) the one it ran.
	ExitNotStarted = 5
)

// Globals are the flags every command accepts before or after its name.
type Globals struct {
	File    string // -f: the pipeline file
	Output  string // --output: text or json
	NoColor bool   // --no-color
}

// Env is what a command gets from the process: streams, environment and globals.
type Env struct {
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	Globals
}

// command is one subcommand. run receives the flag set already parsed; its
// return value is the process exit code.
type command struct {
	name  string
	usage string // one line: arguments after the command name
	short string // one line for `pier help`
	long  string // paragraph for `pier <command> --help`
	// hidden keeps a command out of `pier help` and suggestions (the action's container entry).
	hidden bool
	// flags registers the command's own flags and returns the function that runs it.
	flags func(fs *flag.FlagSet, env *Env) func(ctx context.Context, args []string) int
}

// commands is filled by each command's file, so commands can be added without
// touching a central list.
var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("cli: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// usageError marks an error in how pier was called; it maps to ExitUsage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// Run executes pier with args (without the program name) and returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	env := &Env{Stdout: stdout, Stderr: stderr, Getenv: getenv, Globals: Globals{File: "pier.yaml", Output: "text"}}
	if len(args) > 0 && args[0] == "__complete" {
		// The completion scripts pass the words typed so far as they are,
		// half-typed flags included: no flag parsing may see them.
		words := args[1:]
		if len(words) > 0 && words[0] == "--" {
			words = words[1:]
		}
		return runComplete(env, words)
	}

	// Global flags may come before the command name.
	gfs := flag.NewFlagSet("pier", flag.ContinueOnError)
	gfs.SetOutput(io.Discard)
	bindGlobals(gfs, &env.Globals)
	if err := gfs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(stdout)
			return ExitOK
		}
		fmt.Fprintf(stderr, "pier: %s\nRun 'pier help' for usage.\n", flagError(gfs, err))
		return ExitUsage
	}
	rest := gfs.Args()
	if len(rest) == 0 {
		printHelp(stderr)
		return ExitUsage
	}
	name, rest := rest[0], rest[1:]
	if name == "help" {
		if len(rest) > 0 && rest[0] != "help" && rest[0] != "-h" && rest[0] != "-help" && rest[0] != "--help" {
			if c, ok := commands[rest[0]]; ok {
				printCommandHelp(stdout, c, env)
				return ExitOK
			}
			fmt.Fprintf(stderr, "pier help: unknown command %q\n", rest[0])
			return ExitUsage
		}
		printHelp(stdout)
		return ExitOK
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "pier: unknown command %q%s\nRun 'pier help' for the list of commands.\n", name, suggest(name))
		return ExitUsage
	}

	fs := flag.NewFlagSet("pier "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bindGlobals(fs, &env.Globals)
	run := c.flags(fs, env)
	if err := parseInterspersed(fs, rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printCommandHelp(stdout, c, env)
			return ExitOK
		}
		fmt.Fprintf(stderr, "pier %s: %s\nRun 'pier %s --help' for usage.\n", c.name, flagError(fs, err), c.name)
		return ExitUsage
	}
	if env.Output != "text" && env.Output != "json" {
		fmt.Fprintf(stderr, "pier %s: --output must be text or json, not %q\n", c.name, env.Output)
		return ExitUsage
	}
	return run(ctx, fs.Args())
}

func bindGlobals(fs *flag.FlagSet, g *Globals) {
	fs.StringVar(&g.File, "f", g.File, "the pipeline `file`")
	fs.StringVar(&g.File, "file", g.File, "the pipeline `file`")
	fs.StringVar(&g.Output, "output", g.Output, "output `format`: text or json")
	fs.BoolVar(&g.NoColor, "no-color", g.NoColor, "never color the output")
}

// flagError rewrites the flag package's messages the way pier's usage
// lines and README write flags (--timeout, -f) and suggests the closest
// flag for an unknown one: "unknown flag --sandbx (did you mean --sandbox?)".
func flagError(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		best, bestD := "", 3
		fs.VisitAll(func(f *flag.Flag) {
			if d := editDistance(name, f.Name); d < bestD && len(f.Name) > 1 {
				best, bestD = f.Name, d
			}
		})
		msg = "unknown flag " + dashes(name)
		if best != "" {
			msg += fmt.Sprintf(" (did you mean --%s?)", best)
		}
		return msg
	}
	for _, prefix := range []string{"flag needs an argument: -", "for flag -"} {
		if i := strings.Index(msg, prefix); i >= 0 {
			rest := msg[i+len(prefix):]
			name, tail, _ := strings.Cut(rest, ":")
			if tail != "" {
				tail = ":" + tail
			}
			return msg[:i] + prefix[:len(prefix)-1] + dashes(name) + tail
		}
	}
	return msg
}

// dashes writes a flag name as pier's docs do: -f, --file.
func dashes(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// parseInterspersed lets flags follow positional arguments (`pier render backend -f x.yaml`),
// which the standard flag package stops at.
func parseInterspersed(fs *flag.FlagSet, args []string) error {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			// Parse consumed a "--": everything after it is positional.
			positional = append(positional, rest...)
			break
		}
		args = rest
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			positional = append(positional, args[1:]...)
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	return fs.Parse(append([]string{"--"}, positional...))
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "pier builds images without a Docker daemon, pushes them to ECR and rolls out ECS services.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: pier [-f FILE] [--output text|json] [--no-color] <command> [arguments]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	names := make([]string, 0, len(commands))
	for n, c := range commands {
		if !c.hidden {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, commands[n].short)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'pier <command> --help' for a command's flags.")
	fmt.Fprintln(w, "Exit codes: 0 ok, 1 the work failed, 2 usage or input error (plan --detailed-exitcode: changes),")
	fmt.Fprintln(w, "3 deploy or rollback failed and the services were put back, 4 failed and not restored,")
	fmt.Fprintln(w, "5 ECS started no deployment of the new revision (the service still runs the one it ran).")
}

func printCommandHelp(w io.Writer, c *command, env *Env) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", strings.TrimSpace("pier "+c.name+" "+c.usage), c.long)
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	scratch := *env
	bindGlobals(fs, &scratch.Globals)
	c.flags(fs, &scratch)
	fmt.Fprintln(w, "\nFlags:")
	printFlags(w, fs)
}

// printFlags lists flags the way the usage lines and the README write them,
// --name (a one-letter flag as -f), with -f and --file on one line: the
// flag package's own listing says -output and lists -f and -file twice.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "file" {
			return // shown with -f
		}
		arg, usage := flag.UnquoteUsage(f)
		if _, ok := f.Value.(*durationValue); ok && arg == "value" {
			arg = "duration"
		}
		name := "--" + f.Name
		switch {
		case f.Name == "f":
			name = "-f, --file"
		case len(f.Name) == 1:
			name = "-" + f.Name
		}
		if arg != "" {
			name += " " + strings.ToUpper(arg)
		}
		switch {
		case f.DefValue == "" || f.DefValue == "false" || f.DefValue == "0" || f.DefValue == "0s":
		case isStringFlag(f):
			usage += fmt.Sprintf(" (default %q)", f.DefValue)
		default:
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "  %s\n    \t%s\n", name, usage)
	})
}

// durationValue is a duration flag whose parse error says what a duration
// looks like (the flag package only says "parse error").
type durationValue time.Duration

// durationFlag defines a duration flag on fs.
func durationFlag(fs *flag.FlagSet, name string, value time.Duration, usage string) *time.Duration {
	d := value
	fs.Var((*durationValue)(&d), name, usage)
	return &d
}

func (d *durationValue) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration with a unit, such as 90s, 20m or 1h30m")
	}
	if v < 0 {
		return fmt.Errorf("want a positive duration, such as 90s, 20m or 1h30m")
	}
	*d = durationValue(v)
	return nil
}

func (d *durationValue) String() string { return plan.Duration(time.Duration(*d)) }

// Get returns the time.Duration, for flag.Getter.
func (d *durationValue) Get() any { return time.Duration(*d) }

// isStringFlag tells a string flag, whose default is shown quoted.
func isStringFlag(f *flag.Flag) bool {
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return false
	}
	_, isString := g.Get().(string)
	return isString
}

// suggest returns ` (did you mean "x"?)` for a near miss of a command name.
func suggest(name string) string {
	best, bestD := "", 3
	for n, c := range commands {
		if c.hidden {
			continue
		}
		if d := editDistance(name, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	a, b = strings.ToLower(a), strings.ToLower(b)
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
