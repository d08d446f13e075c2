package cli

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/report"
	"github.com/pier-deploy/pier/internal/sim"
	"github.com/pier-deploy/pier/internal/target"
)

// sandboxFlags are the flags that run a command against a private,
// in-process simulator instead of AWS.
type sandboxFlags struct {
	on    bool
	world string
	// srv, when set (tests), is an already running sandbox to use, so that
	// several commands can run against the same simulated account.
	srv *sim.Server
}

func bindSandbox(fs *flag.FlagSet) *sandboxFlags {
	s := &sandboxFlags{}
	fs.BoolVar(&s.on, "sandbox", false, "run against a private in-process simulator of ECS, ECR and ELBv2 seeded from pier.yaml (no AWS account needed)")
	fs.StringVar(&s.world, "sandbox-world", "", "with --sandbox: a world `file` (YAML) overriding the default world: instances, faults, per-image behaviour")
	return s
}

// check rejects what the sandbox flags cannot run before any work starts
// (lint, build, push), so a mistake costs nothing: --sandbox-world without
// --sandbox, or a world file that cannot be read or parsed (file:line:col).
// Both are input errors: exit 2.
func (s *sandboxFlags) check(env *Env, cmd string) int {
	if s.world == "" {
		return ExitOK
	}
	if !s.on {
		fmt.Fprintf(env.Stderr, "pier %s: --sandbox-world needs --sandbox (add --sandbox, or drop --sandbox-world to use AWS)\n", cmd)
		return ExitUsage
	}
	if _, err := sim.LoadWorldFile(s.world); err != nil {
		printInputError(env, cmd, fmt.Errorf("--sandbox-world: %w", err))
		return ExitUsage
	}
	return ExitOK
}

// open makes the target of a command: AWS, the in-process sandbox, or the
// `pier sandbox` PIER_SANDBOX names (internal/target), and tells the user
// when it is not AWS.
func (s *sandboxFlags) open(ctx context.Context, env *Env, f *config.File) (*target.Target, error) {
	t, err := target.Open(ctx, f, s.options(env))
	if err != nil {
		return nil, err
	}
	if t.Notice != "" {
		fmt.Fprintf(env.Stderr, "pier: %s\n", t.Notice)
	}
	return t, nil
}

func (s *sandboxFlags) options(env *Env) target.Options {
	return target.Options{Sandbox: s.on, World: s.world, Server: s.srv, Getenv: env.Getenv}
}

// stamp labels the times of a run on the in-process sandbox's virtual
// clock as simulated and adds the real time the run took since the target
// was opened; a run against AWS or a PIER_SANDBOX (which pier waits for in
// real time) is left as it is.
func stamp(t *target.Target, run *report.Run) {
	if t.Kind != target.Sandbox {
		return
	}
	run.Simulated = true
	run.RealSeconds = time.Since(t.Opened).Round(100 * time.Millisecond).Seconds()
}
