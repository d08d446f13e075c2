package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/pier-deploy/pier/internal/registry"
)

func init() {
	register(&command{
		name:  "push",
		usage: "[image…]",
		short: "build images and push them to ECR, uploading only what changed",
		long: `Builds the images of pier.yaml (all, or the ones named) and pushes them to the registry
(registry: from pier.yaml, else your account's ECR), tagged with tag: and always addressable by
digest. Blobs the registry already has are skipped, base layers in the same registry are
mounted, and a blob several images need is uploaded once. A missing ECR repository is created
(immutable tags, scan on push) when createRepositories: true. Pushing the same image to an
immutable tag again succeeds; a different image on a taken tag is an error naming the digest
that holds it. With --sandbox, images build on a private simulator's stand-in bases and go to
its ECR: no internet, no AWS account.

Prints one line per image: NAME REPOSITORY@sha256:… (N blobs, M bytes uploaded); with
--output json, {"images": [...]} with the same data.`,
		flags: func(fs *flag.FlagSet, env *Env) func(context.Context, []string) int {
			sb := bindSandbox(fs)
			return func(ctx context.Context, args []string) int { return runPush(ctx, env, sb, args) }
		},
	})
}

func runPush(ctx context.Context, env *Env, sb *sandboxFlags, args []string) int {
	run, closeRun, code := startImageRun(ctx, env, "push", sb, args)
	if code != ExitOK {
		return code
	}
	defer closeRun()
	_, results, err := run.push(ctx, args)
	if err != nil {
		fmt.Fprintf(env.Stderr, "pier push: %v\n", err)
		code = ExitFailed
	}
	done := make([]*registry.Result, 0, len(results))
	for _, r := range results {
		if r != nil {
			done = append(done, r)
		}
	}
	if env.Output == "json" {
		if c := printImagesJSON(env, "push", map[string]any{"images": done}); c != ExitOK {
			return c
		}
		return code
	}
	for _, r := range done {
		fmt.Fprintln(env.Stdout, r)
	}
	return code
}
