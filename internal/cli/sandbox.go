package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/sandbox"
	"github.com/pier-deploy/pier/internal/sim"
)

func init() {
	register(&command{
		name:  "sandbox",
		usage: "[--world FILE] [--addr 127.0.0.1:0] [--speed N]",
		short: "serve a simulated ECS, ECR and ELBv2 built from pier.yaml",
		long: `Serves pier's AWS simulator until interrupted: ECS, ECR (with its registry) and ELBv2
speak their real wire protocols on one port. The printed export lines point any AWS SDK or
CLI at it (paste them into another shell); aws CLI releases before 2.13 ignore
AWS_ENDPOINT_URL_* and need --endpoint-url with the printed URL. PIER_SANDBOX is for pier
itself: with it, build, push, plan, deploy, status and rollback (no --sandbox) run against
this sandbox, taking public base images from its stand-ins and asking it for healthCheck.url.

The world comes from pier.yaml: its cluster, each service running its task-definition file
with its desired count, EC2 capacity for a rolling update, Fargate for awsvpc tasks,
exclusive EFS mounts (Nexus-like), a target group per service that maps a port, and a
synthetic image for every base image the file names. Without pier.yaml (and no -f) the
world starts empty. A world file (--world, YAML) overrides any of it: instances, per-image
behaviour (crash, unhealthy, slow start or stop, pull failure, failing health URL), API
faults (throttling, 5xx, no capacity), speed.

Virtual time runs --speed times faster than real time (default: the world file's speed,
else 10). The simulator has no authentication: it listens on loopback unless --addr says
otherwise.`,
		flags: func(fset *flag.FlagSet, env *Env) func(context.Context, []string) int {
			worldFile := fset.String("world", "", "a world `file` (YAML) overriding the default world")
			addr := fset.String("addr", "127.0.0.1:0", "the `host:port` to listen on")
			speed := fset.Float64("speed", 0, "virtual seconds per real second (default: the world file's, else 10)")
			return func(ctx context.Context, args []string) int {
				if len(args) > 0 {
					fmt.Fprintf(env.Stderr, "pier sandbox: unexpected argument %q\n", args[0])
					return ExitUsage
				}
				if *speed < 0 {
					fmt.Fprintf(env.Stderr, "pier sandbox: --speed must be positive (virtual seconds per real second, e.g. 60), not %g\n", *speed)
					return ExitUsage
				}
				if _, _, err := net.SplitHostPort(*addr); err != nil {
					fmt.Fprintf(env.Stderr, "pier sandbox: --addr takes host:port, e.g. 127.0.0.1:4566 (port 0 picks a free one), not %q\n", *addr)
					return ExitUsage
				}
				return runSandbox(ctx, env, *worldFile, *addr, *speed)
			}
		},
	})
}

func runSandbox(ctx context.Context, env *Env, worldFile, addr string, speed float64) int {
	var opts []sim.Option
	var wf *sim.WorldFile
	if worldFile != "" {
		var err error
		if wf, err = sim.LoadWorldFile(worldFile); err != nil {
			printInputError(env, "sandbox", err)
			return ExitUsage
		}
		opts = append(opts, sim.WithWorldFile(wf))
	}
	var w *sim.World
	f, err := config.Load(env.File, env.Getenv)
	switch {
	case err == nil:
		if w, err = sandbox.World(f, opts...); err != nil {
			fmt.Fprintf(env.Stderr, "pier sandbox: building the world from %s: %v\n", env.File, err)
			return ExitUsage
		}
	case errors.Is(err, fs.ErrNotExist) && env.File == "pier.yaml":
		fmt.Fprintln(env.Stderr, "pier sandbox: no pier.yaml here: starting an empty world")
		w = sim.New(opts...)
	default:
		printInputError(env, "sandbox", err)
		return ExitUsage
	}
	if speed <= 0 && wf != nil {
		speed = wf.Speed
	}
	if speed <= 0 {
		speed = 10
	}

	srv, err := w.Listen(ctx, addr)
	if err != nil {
		fmt.Fprintf(env.Stderr, "pier sandbox: %v\n", err)
		return ExitFailed
	}
	defer srv.Close()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); (ip == nil && host != "localhost") || (ip != nil && !ip.IsLoopback()) {
			// The port, when --addr asked for any (:0), is the one chosen.
			_, port, _ := net.SplitHostPort(srv.RegistryHost())
			fmt.Fprintf(env.Stderr, "pier sandbox: warning: listening on %s, beyond loopback: the simulator has no authentication, anyone who reaches this address can use it\n",
				net.JoinHostPort(host, port))
		}
	}
	srv.Drive(ctx, speed)

	if env.Output == "json" {
		vars := map[string]string{}
		for _, kv := range srv.Env() {
			k, v, _ := strings.Cut(kv, "=")
			vars[k] = v
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"url": srv.URL, "registry": srv.RegistryHost(), "speed": speed, "env": vars}); err != nil {
			fmt.Fprintf(env.Stderr, "pier sandbox: writing the endpoints: %v\n", err)
			return ExitFailed
		}
	} else {
		fmt.Fprintf(env.Stdout, "# pier sandbox: %s; virtual time ×%g\n", w.Describe(), speed)
		for _, kv := range srv.Env() {
			fmt.Fprintf(env.Stdout, "export %s\n", kv)
		}
		fmt.Fprintf(env.Stdout, "# aws CLI before 2.13: add --endpoint-url %s\n", srv.URL)
		fmt.Fprintf(env.Stdout, "# registry: %s (plain HTTP; user AWS, password: aws ecr get-login-password)\n", srv.RegistryHost())
	}
	if f, ok := env.Stdout.(*os.File); ok {
		f.Sync()
	}
	fmt.Fprintln(env.Stderr, "pier sandbox: serving until interrupted (Ctrl-C)")
	<-ctx.Done()
	fmt.Fprintln(env.Stderr, "pier sandbox: stopped")
	return ExitOK
}
