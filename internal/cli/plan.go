package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/pier-deploy/pier/internal/deploy"
	"github.com/pier-deploy/pier/internal/plan"
	"github.com/pier-deploy/pier/internal/report"
)

func init() {
	register(&command{
		name:  "plan",
		usage: "[service…]",
		short: "show what deploy would change: images, task-definition diffs, service updates, preflight",
		long: `Builds the images (without pushing), reads the live services and prints the plan: per image
its digest and whether the registry has it; per service the task-definition change as a
field-level diff against the live revision, whether a revision is registered or an identical
one reused, the service update, the strategy's steps, and preflight findings (capacity on EC2
clusters, iam:PassRole). --output json prints the same plan as data, which
` + "`pier deploy --plan FILE`" + ` checks for staleness before acting.

Exit codes: 0 ok; 1 error (including preflight errors); 2 usage or input error. With
--detailed-exitcode: 0 no changes, 2 changes, 1 error.`,
		flags: func(fs *flag.FlagSet, env *Env) func(context.Context, []string) int {
			sb := bindSandbox(fs)
			detailed := fs.Bool("detailed-exitcode", false, "exit 0 when nothing would change, 2 when something would, 1 on error")
			return func(ctx context.Context, args []string) int {
				return runPlan(ctx, env, sb, args, *detailed)
			}
		},
	})
}

func runPlan(ctx context.Context, env *Env, sb *sandboxFlags, args []string, detailed bool) int {
	if code := sb.check(env, "plan"); code != ExitOK {
		return code
	}
	f, services, code := loadServices(env, "plan", args)
	if code != ExitOK {
		return code
	}
	if code := checkBuildEnv(env, "plan"); code != ExitOK {
		return code
	}
	if code := preflightLint(env, "plan", f); code != ExitOK {
		return code
	}
	aws, err := sb.open(ctx, env, f)
	if err != nil {
		return openFailed(env, "plan", err)
	}
	defer aws.Close()

	refs := map[string]string{}
	var images []plan.Image
	var platforms map[string][]string
	if names := imagesOf(services); len(names) > 0 {
		ir := newImageRun(env, f)
		ir.use(aws.Images)
		arts, err := ir.build(ctx, names)
		if err != nil {
			fmt.Fprintf(env.Stderr, "pier plan: building images: %v\n", err)
			return ExitFailed
		}
		p, err := ir.getPusher()
		if err != nil {
			fmt.Fprintf(env.Stderr, "pier plan: %v\n", err)
			return ExitFailed
		}
		host, err := p.Registry(ctx, f.Registry)
		if err != nil {
			fmt.Fprintf(env.Stderr, "pier plan: %v\n", err)
			return ExitFailed
		}
		for _, a := range arts {
			im := plan.Image{Name: a.Name, Repository: host + "/" + a.Repository, Tag: f.Tag, Digest: a.Digest.String()}
			if d, err := name.NewDigest(im.Ref()); err == nil {
				if im.Present, err = p.Has(ctx, d); err != nil {
					fmt.Fprintf(env.Stderr, "pier plan: asking the registry for %s: %v\n", im.Ref(), err)
					return ExitFailed
				}
			}
			refs[a.Name] = im.Ref()
			images = append(images, im)
		}
		if platforms, err = artifactPlatforms(arts); err != nil {
			fmt.Fprintf(env.Stderr, "pier plan: %v\n", err)
			return ExitFailed
		}
	}
	specs, err := specsOf(services, refs, platforms, 0)
	if err != nil {
		printInputError(env, "plan", err)
		return ExitUsage
	}
	p, _, err := deploy.Plan(ctx, aws.Clients.ECS, env.File, images, specs)
	if err != nil {
		fmt.Fprintf(env.Stderr, "pier plan: %v\n", err)
		return ExitFailed
	}
	deploy.ProbeHealth(ctx, aws.HTTP, p, specs)
	if env.Output == "json" {
		err = report.JSON(env.Stdout, p)
	} else {
		err = report.PlanText(env.Stdout, p)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "pier plan: writing the plan: %v\n", err)
		return ExitFailed
	}
	switch {
	case len(p.Errors()) > 0:
		return ExitFailed
	case detailed && p.HasChanges():
		return 2
	}
	return ExitOK
}
