package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/iampolicy"
)

func init() {
	register(&command{
		name:  "iam-policy",
		usage: "",
		short: "print the least-privilege IAM policy pier needs for the pipeline file",
		long: `Prints, as JSON, the IAM policy a role needs to run pier on the pipeline file: the ECR
actions to push its images (limited to their repositories), the ECS actions to register task
definitions and update, watch and roll back its services (limited to its clusters and
services where ECS allows it), DescribeTargetHealth, and iam:PassRole for the task and
execution roles its task definitions name. Attach it to the role the workflow assumes:

  pier iam-policy -f pier.yaml > policy.json
  aws iam put-role-policy --role-name pier-deploy --policy-name pier --policy-document file://policy.json

What the policy had to assume (an unknown account, a role given by name) is printed on
stderr. The policy is JSON whatever --output says (it is a document for AWS, not a
report). Nothing here talks to AWS.`,
		flags: func(fs *flag.FlagSet, env *Env) func(context.Context, []string) int {
			return func(ctx context.Context, args []string) int {
				if len(args) > 0 {
					fmt.Fprintf(env.Stderr, "pier iam-policy: unexpected argument %q: the policy covers the whole file given with -f\n", args[0])
					return ExitUsage
				}
				f, err := config.Load(env.File, env.Getenv)
				if err != nil {
					printInputError(env, "iam-policy", err)
					return ExitUsage
				}
				services, err := iampolicy.Load(f)
				if err != nil {
					printInputError(env, "iam-policy", err)
					return ExitUsage
				}
				p, warns := iampolicy.For(f, services)
				for _, w := range warns {
					fmt.Fprintf(env.Stderr, "pier iam-policy: %s\n", w)
				}
				out, err := p.JSON()
				if err != nil {
					fmt.Fprintf(env.Stderr, "pier iam-policy: %v\n", err)
					return ExitFailed
				}
				if _, err := env.Stdout.Write(out); err != nil {
					fmt.Fprintf(env.Stderr, "pier iam-policy: writing the policy: %v\n", err)
					return ExitFailed
				}
				return ExitOK
			}
		},
	})
}
