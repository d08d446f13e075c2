package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/deploy"
	"github.com/pier-deploy/pier/internal/image"
	"github.com/pier-deploy/pier/internal/lint"
	"github.com/pier-deploy/pier/internal/plan"
	"github.com/pier-deploy/pier/internal/registry"
	"github.com/pier-deploy/pier/internal/report"
	"github.com/pier-deploy/pier/internal/target"
	"github.com/pier-deploy/pier/internal/taskdef"
)

func init() {
	register(&command{
		name:  "deploy",
		usage: "[service…]",
		short: "build, push, register and roll out services; wait for the truth; roll back on failure",
		long: `Deploys every service of pier.yaml (or the ones named), in parallel: builds and pushes the
images, registers a task definition only when it changed (or reuses an identical revision),
updates the service, and waits on the deployment that update created — success only when it is
PRIMARY and COMPLETED. Failures (circuit breaker, superseded, placement, image pull, crashes,
health checks) are classified within one poll interval, and the service is rolled back.
Services with strategy: recreate are scaled to 0 before the new revision starts.

Exit codes: 0 success or nothing to do; 1 failed before changing anything; 2 usage or input
error; 3 failed and rolled back (verified steady); 4 failed and not restored; 5 ECS started
no deployment of the new revision within a few poll rounds (the service still runs the one it ran).
Progress goes to stderr: the run's phases start with "==> ", then every line of a service
starts with its name, and a long wait says what it waits for at most every 30 s; a terminal
also gets a live status block per service, GitHub Actions one log group per service and
phase. The report goes to stdout (--output json: one JSON document, also on failure).`,
		flags: func(fs *flag.FlagSet, env *Env) func(context.Context, []string) int {
			sb := bindSandbox(fs)
			timeout := durationFlag(fs, "timeout", 0, "how long to wait for each rollout (default: the service's timeout:, else 20m)")
			grace := durationFlag(fs, "grace", 2*time.Minute, "after SIGTERM/SIGINT, how long to finish or reverse the step in flight")
			planFile := fs.String("plan", "", "a plan `file` from `pier plan --output json`: refuse to deploy if it is stale")
			return func(ctx context.Context, args []string) int {
				return runDeploy(ctx, env, sb, args, *timeout, *grace, *planFile)
			}
		},
	})
}

func runDeploy(ctx context.Context, env *Env, sb *sandboxFlags, args []string, timeout, grace time.Duration, planFile string) int {
	if code := sb.check(env, "deploy"); code != ExitOK {
		return code
	}
	if planFile != "" && sb.on && sb.srv == nil {
		// Every --sandbox run is a fresh account with its own registry
		// address, so a plan from another run could only ever be stale.
		fmt.Fprintln(env.Stderr, "pier deploy: --plan cannot be used with --sandbox: each --sandbox run starts a fresh simulated account "+
			"(its own registry address), so a plan made by another run is always stale; use --plan against the account the plan was made for")
		return ExitUsage
	}
	f, services, code := loadServices(env, "deploy", args)
	if code != ExitOK {
		return code
	}
	if code := checkBuildEnv(env, "deploy"); code != ExitOK {
		return code
	}
	var saved *plan.Plan
	if planFile != "" {
		data, err := os.ReadFile(planFile)
		if err == nil {
			saved, err = plan.Read(planFile, data)
		}
		if err != nil {
			fmt.Fprintf(env.Stderr, "pier deploy: %v (--plan takes the output of pier plan --output json)\n", err)
			return ExitUsage
		}
	}
	if code := preflightLint(env, "deploy", f); code != ExitOK {
		if code == ExitFailed {
			now := time.Now()
			printRun(env, &report.Run{Command: "deploy", File: env.File, Result: report.Failed, Cause: "lint errors in " + env.File + " (see pier lint); nothing was changed", Started: now, Finished: now})
		}
		return code
	}
	aws, err := sb.open(ctx, env, f)
	if err != nil {
		return openFailed(env, "deploy", err)
	}
	defer aws.Close()
	obs := newProgressView(env)
	run := &report.Run{Command: "deploy", File: env.File, Started: aws.Clock.Now()}
	fail := func(cause error) int {
		run.Result, run.Cause, run.Finished = report.Failed, cause.Error(), aws.Clock.Now()
		stamp(aws, run)
		printRun(env, run)
		return report.Failed.ExitCode()
	}

	refuseStale := func(why []string) int {
		for _, w := range why {
			fmt.Fprintf(env.Stderr, "pier deploy: stale plan: %s\n", w)
		}
		return fail(fmt.Errorf("the plan in %s is stale (%d difference(s)); run pier plan again", planFile, len(why)))
	}
	if saved != nil {
		why, err := staleBeforeBuild(ctx, env, aws, services, saved)
		if err != nil {
			return fail(err)
		}
		if len(why) > 0 {
			return refuseStale(why)
		}
	}

	refs := map[string]string{}
	var images []plan.Image
	var arts []*image.Artifact
	var results []*registry.Result
	if names := imagesOf(services); len(names) > 0 {
		ir := newImageRun(env, f)
		ir.use(aws.Images)
		phase := report.Phase{Name: "build+push", Started: aws.Clock.Now()}
		arts, results, err = ir.push(ctx, names)
		phase.Finished, phase.Result = aws.Clock.Now(), "ok"
		if err != nil {
			phase.Result = "failed"
			run.Phases = append(run.Phases, phase)
			return fail(fmt.Errorf("building and pushing images: %w", err))
		}
		run.Phases = append(run.Phases, phase)
	}
	for i, r := range results {
		refs[r.Name] = r.Reference
		run.Images = append(run.Images, report.Image{Name: r.Name, Repository: r.Repository, Digest: r.Digest, Ref: r.Reference, Blobs: r.Blobs, Bytes: r.Bytes})
		images = append(images, plan.Image{Name: r.Name, Repository: r.Repository, Tag: r.Tag, Digest: arts[i].Digest.String(), Present: true})
	}

	platforms, err := artifactPlatforms(arts)
	if err != nil {
		return fail(err)
	}
	specs, err := specsOf(services, refs, platforms, timeout)
	if err != nil {
		printInputError(env, "deploy", err)
		return ExitUsage
	}
	fmt.Fprintln(env.Stderr, "==> plan")
	phase := report.Phase{Name: "plan", Started: aws.Clock.Now()}
	p, targets, err := deploy.Plan(ctx, aws.Clients.ECS, env.File, images, specs)
	phase.Finished = aws.Clock.Now()
	run.Phases = append(run.Phases, phase)
	if err != nil {
		return fail(err)
	}
	deploy.ProbeHealth(ctx, aws.HTTP, p, specs)
	printFindings(env, p)
	if errs := p.Errors(); len(errs) > 0 {
		return fail(fmt.Errorf("preflight: %s", errs[0].Message))
	}
	if saved != nil {
		if why := plan.Stale(saved, p); len(why) > 0 {
			return refuseStale(why)
		}
	}
	d := deploy.New(aws.Clients.ECS, append(aws.Deploy, deploy.WithObserver(obs), deploy.WithGrace(grace))...)
	run.Services = d.Apply(ctx, targets)
	obs.Close()
	run.Result = report.Aggregate(run.Services)
	run.Finished = aws.Clock.Now()
	for _, s := range run.Services {
		if s.Cause != "" && run.Cause == "" {
			run.Cause = s.Name + ": " + s.Cause
		}
	}
	stamp(aws, run)
	printRun(env, run)
	return run.Result.ExitCode()
}

// staleBeforeBuild compares a saved plan with the live state before
// anything is built or pushed, taking the images as the plan pinned them:
// a service that moved, was scaled or has a new deployment, a changed
// pier.yaml or task-definition file, or a service the plan left out
// refuses the deploy at once. Images that now build another digest are
// found after the build, still before any service changes.
func staleBeforeBuild(ctx context.Context, env *Env, aws *target.Target, services []*config.Service, saved *plan.Plan) ([]string, error) {
	refs := map[string]string{}
	for _, im := range saved.Images {
		refs[im.Name] = im.Ref()
	}
	// Services the plan left out have no pinned images to plan with; they
	// make the plan stale by being there.
	var planned []*config.Service
	var left []plan.Service
	for _, s := range services {
		if _, ok := saved.Service(s.Name); ok {
			planned = append(planned, s)
		} else {
			left = append(left, plan.Service{Name: s.Name, Service: s.Service, Cluster: s.Cluster})
		}
	}
	specs, err := specsOf(planned, refs, nil, 0)
	if err != nil {
		return nil, err
	}
	fresh, _, err := deploy.Plan(ctx, aws.Clients.ECS, env.File, saved.Images, specs)
	if err != nil {
		return nil, fmt.Errorf("checking the saved plan against the live services: %w", err)
	}
	fresh.Services = append(fresh.Services, left...)
	return plan.Stale(saved, fresh), nil
}

// preflightLint runs pier lint's checks before anything is built: errors
// stop the command (exit 1), warnings are printed and it goes on.
func preflightLint(env *Env, cmd string, f *config.File) int {
	fmt.Fprintln(env.Stderr, "==> lint")
	in, err := lint.Load(f)
	if err != nil {
		printInputError(env, cmd, err)
		return ExitUsage
	}
	findings := lint.Check(in)
	lint.Sort(findings)
	for _, fd := range findings {
		fmt.Fprintln(env.Stderr, fd)
	}
	if errs, _ := lint.Count(findings); errs > 0 {
		fmt.Fprintf(env.Stderr, "pier %s: %d lint error(s); nothing was changed\n", cmd, errs)
		return ExitFailed
	}
	return ExitOK
}

// loadServices reads pier.yaml and selects the named services (all when
// none), each once: `pier deploy backend backend` deploys backend once
// instead of racing two rollouts of one service against each other.
func loadServices(env *Env, cmd string, names []string) (*config.File, []*config.Service, int) {
	f, err := config.Load(env.File, env.Getenv)
	if err != nil {
		printInputError(env, cmd, err)
		return nil, nil, ExitUsage
	}
	services, err := f.SelectServices(names...)
	if err != nil {
		fmt.Fprintf(env.Stderr, "pier %s: %v\n", cmd, err)
		return nil, nil, ExitUsage
	}
	maskSecrets(env, services)
	return f, services, ExitOK
}

// checkBuildEnv checks what the environment gives a build
// (SOURCE_DATE_EPOCH) before lint, the sandbox or AWS, as build and push do:
// a bad value is an input error (exit 2), not a failed deploy.
func checkBuildEnv(env *Env, cmd string) int {
	if _, err := image.SourceDateEpoch(env.Getenv); err != nil {
		fmt.Fprintf(env.Stderr, "pier %s: %v\n", cmd, err)
		return ExitUsage
	}
	return ExitOK
}

// imagesOf lists the images the services use, each once, in first-use order.
func imagesOf(services []*config.Service) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range services {
		for _, c := range slices.Sorted(maps.Keys(s.Containers)) {
			if img := s.Containers[c]; !seen[img] {
				seen[img] = true
				out = append(out, img)
			}
		}
	}
	return out
}

// specsOf loads each service's task definition and pins its images.
// platforms gives the platforms each image was built for.
func specsOf(services []*config.Service, refs map[string]string, platforms map[string][]string, timeout time.Duration) ([]deploy.Spec, error) {
	var specs []deploy.Spec
	for _, s := range services {
		td, err := taskdef.Load(s.TaskDefinition)
		if err != nil {
			return nil, err
		}
		images := map[string]string{}
		var common []string // the platforms every image of the service has
		for i, c := range slices.Sorted(maps.Keys(s.Containers)) {
			img := s.Containers[c]
			images[c] = refs[img]
			if i == 0 {
				common = slices.Clone(platforms[img])
			} else {
				common = slices.DeleteFunc(common, func(p string) bool { return !slices.Contains(platforms[img], p) })
			}
		}
		spec := deploy.Spec{Name: s.Name, Service: s.Service, Cluster: s.Cluster, Strategy: string(s.Strategy),
			Count: s.DesiredCount, TaskDef: td.WithImages(images), KeepRevisions: s.KeepRevisions, Timeout: s.Timeout,
			Platforms: common, Health: specHealth(s)}
		if timeout > 0 {
			spec.Timeout = timeout
		}
		specs = append(specs, spec)
	}
	return specs, nil
}

// artifactPlatforms is the platforms of each built image.
func artifactPlatforms(arts []*image.Artifact) (map[string][]string, error) {
	out := map[string][]string{}
	for _, a := range arts {
		ps, err := a.Platforms()
		if err != nil {
			return nil, fmt.Errorf("reading the platforms of image %s: %w", a.Name, err)
		}
		out[a.Name] = ps
	}
	return out, nil
}

// specHealth is the service's healthCheck:, or nil.
func specHealth(s *config.Service) *plan.HealthCheck {
	if s.HealthCheck == nil {
		return nil
	}
	return &plan.HealthCheck{URL: s.HealthCheck.URL, Timeout: s.HealthCheck.Timeout}
}

func printFindings(env *Env, p *plan.Plan) {
	for _, s := range p.Services {
		fmt.Fprintln(env.Stderr, report.ServiceLine(s))
		for _, f := range s.Findings {
			if f.Severity == plan.Info && f.Check == "iam" {
				continue
			}
			line := fmt.Sprintf("%s: %s: %s: %s", s.Name, f.Severity, f.Check, f.Message)
			if f.Fix != "" {
				line += " (fix: " + f.Fix + ")"
			}
			fmt.Fprintln(env.Stderr, line)
		}
	}
}

func printRun(env *Env, run *report.Run) {
	var err error
	if env.Output == "json" {
		err = report.JSON(env.Stdout, run)
	} else {
		err = report.RunText(env.Stdout, run)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "pier %s: writing the report: %v\n", run.Command, err)
	}
}

// openFailed reports a failure to reach AWS (or to start the sandbox).
func openFailed(env *Env, cmd string, err error) int {
	var ue *usageError
	var ie *target.InputError
	if errors.As(err, &ue) || errors.As(err, &ie) {
		fmt.Fprintf(env.Stderr, "pier %s: %v\n", cmd, err)
		return ExitUsage
	}
	fmt.Fprintf(env.Stderr, "pier %s: %v\n", cmd, err)
	return ExitFailed
}
