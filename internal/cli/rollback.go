package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/deploy"
	"github.com/pier-deploy/pier/internal/report"
)

func init() {
	register(&command{
		name:  "rollback",
		usage: "<service>…",
		short: "move services back to their previous task-definition revision",
		long: `Moves each named service to the newest ACTIVE revision of its family older than the one it
runs (with --report, to the revision the report of a failed run says it ran before), with its strategy: rolling services are updated and watched like a deploy; recreate
services are scaled to 0, every task confirmed STOPPED, then started on the older revision.
Exit codes as for deploy: 0 done, 1 failed before changing anything, 3 failed and put back,
4 failed and not restored, 5 ECS started no deployment of the older revision.`,
		flags: func(fs *flag.FlagSet, env *Env) func(context.Context, []string) int {
			sb := bindSandbox(fs)
			timeout := durationFlag(fs, "timeout", 0, "how long to wait for each rollout (default: the service's timeout:, else 20m)")
			grace := durationFlag(fs, "grace", 2*time.Minute, "after SIGTERM/SIGINT, how long to finish or reverse the step in flight")
			from := fs.String("report", "", "the JSON report `file` of a failed run (pier deploy --output json): return each service to the revision it ran before that run")
			return func(ctx context.Context, args []string) int {
				return runRollback(ctx, env, sb, args, *timeout, *grace, *from)
			}
		},
	})
}

func runRollback(ctx context.Context, env *Env, sb *sandboxFlags, args []string, timeout, grace time.Duration, reportFile string) int {
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, "pier rollback: name the service(s) to roll back")
		return ExitUsage
	}
	if code := sb.check(env, "rollback"); code != ExitOK {
		return code
	}
	f, services, code := loadServices(env, "rollback", args)
	if code != ExitOK {
		return code
	}
	to, err := revisionsBefore(reportFile, services)
	if err != nil {
		fmt.Fprintf(env.Stderr, "pier rollback: %v\n", err)
		return ExitUsage
	}
	aws, err := sb.open(ctx, env, f)
	if err != nil {
		return openFailed(env, "rollback", err)
	}
	defer aws.Close()
	run := &report.Run{Command: "rollback", File: env.File, Started: aws.Clock.Now()}
	var targets []deploy.Target
	for _, s := range services {
		t := timeout
		if t == 0 {
			t = s.Timeout
		}
		target, err := deploy.RollbackTarget(ctx, aws.Clients.ECS, deploy.Ref{Name: s.Name, Service: s.Service, Cluster: s.Cluster, Strategy: string(s.Strategy), To: to[s.Name]}, t)
		if err != nil {
			if errors.Is(err, deploy.ErrNoOlderRevision) && aws.Server != nil {
				err = fmt.Errorf("%w (each --sandbox run starts a fresh simulated account in which a service has only the revision of its task-definition file; "+
					"to watch a rollback, deploy with a world whose image crashes: pier deploy --sandbox --sandbox-world testdata/sim/crashing-backend.yaml)", err)
			}
			run.Result, run.Cause, run.Finished = report.Failed, err.Error(), aws.Clock.Now()
			fmt.Fprintf(env.Stderr, "pier rollback: %v\n", err)
			stamp(aws, run)
			printRun(env, run)
			return ExitFailed
		}
		// The restored revision answers the same health check a deploy waits for.
		target.Health = specHealth(s)
		targets = append(targets, target)
	}
	obs := newProgressView(env)
	d := deploy.New(aws.Clients.ECS, append(aws.Deploy, deploy.WithObserver(obs), deploy.WithGrace(grace))...)
	run.Services = d.Apply(ctx, targets)
	obs.Close()
	run.Result, run.Finished = report.Aggregate(run.Services), aws.Clock.Now()
	for _, s := range run.Services {
		if s.Cause != "" && run.Cause == "" {
			run.Cause = s.Name + ": " + s.Cause
		}
	}
	stamp(aws, run)
	printRun(env, run)
	return run.Result.ExitCode()
}

// revisionsBefore reads, from the JSON report of a run, the revision each
// service ran before it: where `pier rollback --report` returns them. No
// file: none (the newest ACTIVE revision below the one in use).
func revisionsBefore(file string, services []*config.Service) (map[string]string, error) {
	to := map[string]string{}
	if file == "" {
		return to, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading the report: %w", err)
	}
	var run report.Run
	if err := json.Unmarshal(data, &run); err != nil {
		return nil, fmt.Errorf("reading the report %s: %v (it must be the JSON of pier deploy --output json)", file, err)
	}
	for _, s := range services {
		for _, rs := range run.Services {
			if rs.Name == s.Name && rs.Old.Revision > 0 {
				to[s.Name] = rs.Old.String()
			}
		}
		if to[s.Name] == "" {
			return nil, fmt.Errorf("the report %s names no revision service %s ran before the run; roll back without --report to go to the newest ACTIVE revision below the one in use", file, s.Name)
		}
	}
	return to, nil
}
