package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/pier-deploy/pier/internal/adopt"
	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/report"
)

func init() {
	register(&command{
		name:  "init",
		usage: "--cluster CLUSTER (--service SERVICE… | --all) [--force]",
		short: "adopt running ECS services: write pier.yaml and their task definitions as they run",
		long: `Reads services that already run on ECS and writes the pipeline file (-f, default pier.yaml)
and, beside it, SERVICE-task.json for each: the task definition the service runs, as
aws ecs describe-task-definition prints it, without its read-only fields. Images stay as the
services run them, so pier plan right after init shows no change; the images: entries that
would let pier build them are proposed as comments (copy for third-party images). The strategy
is inferred: recreate for a service whose task mounts EFS and runs one task, else rolling.

init never overwrites a file without --force: it checks every file first and writes none when
one exists. It makes only read calls (ecs:ListServices with --all, ecs:DescribeServices,
ecs:DescribeTaskDefinition). Against a sandbox: PIER_SANDBOX (pier sandbox prints it), or
--sandbox with --sandbox-from FILE, a pipeline file whose services the sandbox runs.`,
		flags: func(fs *flag.FlagSet, env *Env) func(context.Context, []string) int {
			sb := bindSandbox(fs)
			var req adopt.Request
			fs.StringVar(&req.Cluster, "cluster", "", "the ECS `cluster` of the services")
			fs.Var((*stringList)(&req.Services), "service", "an ECS `service` to adopt (repeat for more)")
			fs.BoolVar(&req.All, "all", false, "adopt every service of the cluster")
			region := fs.String("region", "", "AWS `region` (default: AWS_REGION, else AWS_DEFAULT_REGION)")
			from := fs.String("sandbox-from", "", "with --sandbox: a pipeline `file` whose services the sandbox runs, to adopt from")
			force := fs.Bool("force", false, "overwrite files that exist")
			return func(ctx context.Context, args []string) int {
				return runInit(ctx, env, sb, initFlags{req: req, region: *region, from: *from, force: *force}, args)
			}
		},
	})
}

type initFlags struct {
	req    adopt.Request
	region string
	from   string
	force  bool
}

// stringList is a flag that may be given several times.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}

func runInit(ctx context.Context, env *Env, sb *sandboxFlags, fl initFlags, args []string) int {
	usage := func(format string, a ...any) int {
		fmt.Fprintf(env.Stderr, "pier init: "+format+"\n", a...)
		return ExitUsage
	}
	switch {
	case len(args) > 0:
		return usage("unexpected argument %q: name services with --service %s", args[0], args[0])
	case fl.req.Cluster == "":
		return usage("--cluster is required: the ECS cluster whose services to adopt")
	case fl.req.All && len(fl.req.Services) > 0:
		return usage("--all and --service exclude each other: --all adopts every service of the cluster")
	case !fl.req.All && len(fl.req.Services) == 0:
		return usage("name the services to adopt with --service NAME (repeat it), or adopt all with --all")
	case fl.from != "" && !sb.on:
		return usage("--sandbox-from needs --sandbox")
	case sb.on && fl.from == "" && sb.srv == nil:
		return usage("--sandbox needs --sandbox-from FILE: a pipeline file whose services the sandbox runs (or use PIER_SANDBOX with a running pier sandbox)")
	}
	if code := sb.check(env, "init"); code != ExitOK {
		return code
	}
	seed := &config.File{Region: fl.region}
	if fl.from != "" {
		f, err := config.Load(fl.from, env.Getenv)
		if err != nil {
			printInputError(env, "init", err)
			return ExitUsage
		}
		seed = f
	}
	tgt, err := sb.open(ctx, env, seed)
	if err != nil {
		return openFailed(env, "init", err)
	}
	defer tgt.Close()

	req := fl.req
	req.Region = tgt.Clients.Config.Region
	if h := tgt.Images.Host; h != "" {
		req.OwnRegistries = []string{h}
	}
	// The same configuration as every command's clients; adopting needs
	// ecs:ListServices, which deploys never call (and their policy omits).
	a, err := adopt.Read(ctx, ecs.NewFromConfig(tgt.Clients.Config), req)
	if err != nil {
		fmt.Fprintf(env.Stderr, "pier init: %v\n", err)
		return ExitFailed
	}
	for _, s := range a.Skipped {
		fmt.Fprintf(env.Stderr, "pier init: leaving out service %s: %s\n", s.Name, s.Why)
	}
	files, err := a.Files(env.File)
	if err != nil {
		fmt.Fprintf(env.Stderr, "pier init: %v\n", err)
		return ExitFailed
	}
	if err := adopt.Write(files, fl.force); err != nil {
		var exists *adopt.ExistsError
		if errors.As(err, &exists) {
			return usage("%v: pass --force to overwrite, or write elsewhere with -f DIR/pier.yaml", err)
		}
		fmt.Fprintf(env.Stderr, "pier init: %v\n", err)
		return ExitFailed
	}
	if env.Output == "json" {
		if err := report.JSON(env.Stdout, initJSON(a, files)); err != nil {
			return ExitFailed
		}
		return ExitOK
	}
	fmt.Fprint(env.Stdout, initText(a, files, env.File))
	return ExitOK
}

// initJSON is init's --output json document.
func initJSON(a *adopt.Adopted, files []adopt.File) any {
	type image struct {
		Container string `json:"container"`
		Image     string `json:"image"`
		Proposed  string `json:"proposed,omitempty"` // the images: key
		Kind      string `json:"kind"`               // copy, build or none
	}
	type service struct {
		Name           string  `json:"name"`
		TaskDefinition string  `json:"taskDefinition"` // family:revision it runs
		File           string  `json:"file"`
		DesiredCount   int32   `json:"desiredCount"`
		Strategy       string  `json:"strategy"`
		Why            string  `json:"why,omitempty"`
		Images         []image `json:"images"`
	}
	doc := struct {
		Region   string          `json:"region,omitempty"`
		Cluster  string          `json:"cluster"`
		Files    []string        `json:"files"`
		Services []service       `json:"services"`
		Skipped  []adopt.Skipped `json:"skipped,omitempty"`
	}{Region: a.Region, Cluster: a.Cluster, Skipped: a.Skipped}
	file := map[string]string{}
	for _, f := range files {
		doc.Files = append(doc.Files, f.Path)
		file[f.Service] = f.Path
	}
	for _, s := range a.Services {
		out := service{Name: s.Name, TaskDefinition: s.Revision, File: file[s.Name], DesiredCount: s.Desired, Strategy: s.Strategy, Why: s.Why}
		for _, im := range s.Images {
			out.Images = append(out.Images, image{Container: im.Container, Image: im.Ref, Proposed: im.Key, Kind: im.Kind})
		}
		doc.Services = append(doc.Services, out)
	}
	return doc
}

func initText(a *adopt.Adopted, files []adopt.File, pierFile string) string {
	var b strings.Builder
	where := a.Cluster
	if a.Region != "" {
		where += " (" + a.Region + ")"
	}
	fmt.Fprintf(&b, "adopted %d service(s) of cluster %s:\n", len(a.Services), where)
	width := 0
	for _, s := range a.Services {
		width = max(width, len(s.Name))
	}
	for _, s := range a.Services {
		fmt.Fprintf(&b, "  %-*s  %s, %d task(s), %s\n", width, s.Name, s.Revision, s.Desired, s.Strategy)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Path)
	}
	fmt.Fprintf(&b, "wrote %s\n", strings.Join(names, ", "))
	flag := ""
	if filepath.Clean(pierFile) != "pier.yaml" {
		flag = " -f " + pierFile
	}
	fmt.Fprintf(&b, "next: pier lint%s; pier plan%s (it shows no change); then uncomment the proposed images: in %s to let pier build them\n", flag, flag, pierFile)
	return b.String()
}
