package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/pier-deploy/pier/internal/awsapi"
	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/deploy"
	"github.com/pier-deploy/pier/internal/image"
	"github.com/pier-deploy/pier/internal/registry"
	"github.com/pier-deploy/pier/internal/sandbox"
	"github.com/pier-deploy/pier/internal/sim"
	"github.com/pier-deploy/pier/internal/taskdef"
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

// awsTarget is where a command's AWS calls go: the account of the ambient
// credentials, or a sandbox.
type awsTarget struct {
	clients *awsapi.Clients
	clock   deploy.Clock
	deploy  []deploy.Option
	http    *http.Client // for healthCheck.url: the sandbox answers its own
	server  *sim.Server  // nil outside the sandbox
	remote  string       // host:port of a `pier sandbox` named by PIER_SANDBOX
	close   func()
}

// open connects to AWS, or starts the sandbox. Outside the sandbox the SDK
// reads credentials, region (pier.yaml's region: first) and the
// AWS_ENDPOINT_URL_* variables as every AWS tool does.
func (s *sandboxFlags) open(ctx context.Context, env *Env, f *config.File) (*awsTarget, error) {
	if s.world != "" && !s.on {
		return nil, &usageError{"--sandbox-world needs --sandbox"}
	}
	if !s.on {
		if base, err := sandboxURL(env); base != nil || err != nil {
			if err != nil {
				return nil, err
			}
			return openRemote(env, f, base)
		}
		cfg, err := awsapi.Load(ctx, f.Region)
		if err != nil {
			return nil, err
		}
		clients := awsapi.New(cfg)
		return &awsTarget{clients: clients, clock: deploy.WallClock{}, deploy: []deploy.Option{deploy.WithELB(clients.ELB)},
			http: &http.Client{Timeout: 10 * time.Second}, close: func() {}}, nil
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	srv, closeSrv := s.srv, func() {}
	if srv == nil {
		var err error
		if srv, err = sandbox.Start(sctx, f, s.world); err != nil {
			cancel()
			err = fmt.Errorf("starting the sandbox: %w", err)
			if inputError(err) {
				// A task definition or world file the sandbox could not
				// read is the user's file to fix, like anywhere else.
				return nil, &usageError{err.Error()}
			}
			return nil, err
		}
		closeSrv = func() { srv.Close() }
	}
	cfg := srv.AWSConfig()
	cfg.Retryer = awsapi.Retryer(20 * time.Millisecond)
	clients := awsapi.New(cfg)
	clock := srv.World().Clock()
	// A sandbox rollout of minutes ends in a second: say whose minutes they are.
	fmt.Fprintf(env.Stderr, "pier: sandbox at %s (%s); nothing touches AWS; times are the simulator's virtual time\n", srv.URL, srv.World().Describe())
	return &awsTarget{
		clients: clients,
		clock:   clock,
		deploy:  []deploy.Option{deploy.WithClock(clock), deploy.WithHTTPClient(srv.HTTPClient()), deploy.WithELB(clients.ELB)},
		http:    srv.HTTPClient(),
		server:  srv,
		close:   func() { closeSrv(); cancel() },
	}, nil
}

// images points an image run at the target: in the sandbox, pushes go to
// its registry with its ECR tokens, and base images come from the
// synthetic stand-ins it seeded (there is no internet). Its tokens expire
// on its virtual clock, which starts long before today: judged by the wall
// clock every token would look expired and be fetched again per request.
func (t *awsTarget) images(r *imageRun) {
	if t.remote != "" {
		t.remoteImages(r)
		return
	}
	if t.server == nil {
		return
	}
	host := t.server.RegistryHost()
	r.sandbox = true
	r.ecr = ecr.NewFromConfig(t.clients.Config)
	r.pushOpts = append(r.pushOpts, registry.WithRegistryHost(host),
		registry.WithKeychainOptions(registry.WithClock(t.server.World().Clock().Now)))
	r.buildOpts = append(r.buildOpts, image.WithTransport(t.server.RegistryTransport()))
}

// inputError reports whether err comes from a file the user wrote (a task
// definition, pier.yaml, a world file) rather than from the simulator.
func inputError(err error) bool {
	var (
		te  *taskdef.Error
		tes taskdef.Errors
		ce  *config.Error
		ces config.Errors
		we  *sim.WorldError
	)
	return errors.As(err, &te) || errors.As(err, &tes) || errors.As(err, &ce) || errors.As(err, &ces) ||
		errors.As(err, &we) || errors.Is(err, fs.ErrNotExist)
}
