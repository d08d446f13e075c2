package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/pier-deploy/pier/internal/deploy"
	"github.com/pier-deploy/pier/internal/report"
)

func init() {
	register(&command{
		name:  "status",
		usage: "[service…]",
		short: "show services' deployments, counts, recent events and stopped-task reasons",
		long: `Shows, for every service of pier.yaml (or the ones named): the task definition it runs, its
desired/running/pending counts, each deployment with its rollout state, the most recent
service events, and why its most recent tasks stopped (reason, stop code, exit codes).`,
		flags: func(fs *flag.FlagSet, env *Env) func(context.Context, []string) int {
			sb := bindSandbox(fs)
			events := fs.Int("events", 5, "how many recent service events to show")
			stopped := fs.Int("stopped", 3, "how many recently stopped tasks to show")
			return func(ctx context.Context, args []string) int {
				if *events < 0 || *stopped < 0 {
					fmt.Fprintln(env.Stderr, "pier status: --events and --stopped take a count of 0 or more")
					return ExitUsage
				}
				return runStatus(ctx, env, sb, args, *events, *stopped)
			}
		},
	})
}

func runStatus(ctx context.Context, env *Env, sb *sandboxFlags, args []string, events, stopped int) int {
	if code := sb.check(env, "status"); code != ExitOK {
		return code
	}
	f, services, code := loadServices(env, "status", args)
	if code != ExitOK {
		return code
	}
	aws, err := sb.open(ctx, env, f)
	if err != nil {
		return openFailed(env, "status", err)
	}
	defer aws.Close()
	var refs []deploy.Ref
	for _, s := range services {
		refs = append(refs, deploy.Ref{Name: s.Name, Service: s.Service, Cluster: s.Cluster, Strategy: string(s.Strategy)})
	}
	st, err := deploy.Status(ctx, aws.Clients.ECS, refs, events, stopped)
	if err != nil {
		fmt.Fprintf(env.Stderr, "pier status: %v\n", err)
		return ExitFailed
	}
	if env.Output == "json" {
		if err := report.JSON(env.Stdout, map[string]any{"services": st}); err != nil {
			return ExitFailed
		}
		return ExitOK
	}
	fmt.Fprint(env.Stdout, statusText(st))
	return ExitOK
}

func statusText(st []deploy.ServiceStatus) string {
	var b strings.Builder
	for _, s := range st {
		if !s.Found {
			fmt.Fprintf(&b, "%s: ECS service %s not found in cluster %s\n\n", s.Name, s.Service, s.Cluster)
			continue
		}
		fmt.Fprintf(&b, "%s (%s in %s, %s): %s, desired %d, running %d, pending %d\n", s.Name, s.Service, s.Cluster, s.Status, s.TaskDef, s.Desired, s.Running, s.Pending)
		for _, d := range s.Deployments {
			fmt.Fprintf(&b, "  deployment %s %s %s: %d/%d running, %d pending, %d failed", d.ID, d.Status, d.TaskDef, d.Running, d.Desired, d.Pending, d.Failed)
			if d.RolloutState != "" {
				fmt.Fprintf(&b, ", %s", d.RolloutState)
			}
			if d.Reason != "" {
				fmt.Fprintf(&b, " (%s)", d.Reason)
			}
			b.WriteString("\n")
		}
		for _, e := range s.Events {
			fmt.Fprintf(&b, "  %s %s\n", e.Time.UTC().Format("2006-01-02 15:04:05"), e.Message)
		}
		for _, t := range s.StoppedTasks {
			fmt.Fprintf(&b, "  stopped %s: %s", t.ID, t.Reason)
			for _, c := range t.Containers {
				if c.ExitCode != nil {
					fmt.Fprintf(&b, "; %s exit %d", c.Name, *c.ExitCode)
				}
				if c.Reason != "" && !strings.Contains(t.Reason, c.Reason) {
					fmt.Fprintf(&b, " (%s)", c.Reason) // a pull failure repeats the task's reason: say it once
				}
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}
