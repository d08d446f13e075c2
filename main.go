// Command pier builds container images without a Docker daemon, pushes them
// to Amazon ECR and rolls out ECS services from one pier.yaml.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/pier-deploy/pier/internal/cli"
)

func main() {
	// A cancelled GitHub workflow sends SIGTERM; the context lets a deploy in
	// flight finish or reverse its current step instead of dying mid-way.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
