// Package target makes everything one pier run talks to — the ECS, ECR and
// ELBv2 clients, the registry's host and transport, the clock and the HTTP
// client for health checks — in exactly one of three ways: the AWS account
// of the ambient credentials, a private in-process sandbox, or a running
// `pier sandbox` named by PIER_SANDBOX. The faces (cli, ghaction) open a
// Target and hand its parts to the pipeline; nothing below them asks which
// of the three it got.
package target

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"time"

	"github.com/pier-deploy/pier/internal/awsapi"
	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/deploy"
	"github.com/pier-deploy/pier/internal/image"
	"github.com/pier-deploy/pier/internal/registry"
	"github.com/pier-deploy/pier/internal/sandbox"
	"github.com/pier-deploy/pier/internal/sim"
	"github.com/pier-deploy/pier/internal/taskdef"
)

// Kind says which of the three a Target is.
type Kind int

const (
	// AWS is the account of the ambient credentials (AWS_ENDPOINT_URL_* and
	// all, as every AWS SDK reads them).
	AWS Kind = iota
	// Sandbox is a private in-process simulator seeded from pier.yaml.
	Sandbox
	// Remote is a `pier sandbox` in another process, named by PIER_SANDBOX.
	Remote
)

// Options choose the target.
type Options struct {
	// Sandbox asks for a private in-process sandbox; World is its world
	// file (only with Sandbox).
	Sandbox bool
	World   string
	// Server, with Sandbox, is an already running sandbox to use (tests:
	// several commands against one simulated account).
	Server *sim.Server
	// Getenv reads PIER_SANDBOX, and the region and keys for it.
	Getenv func(string) string
}

// Target is what one run talks to.
type Target struct {
	Kind    Kind
	Clients *awsapi.Clients
	// Clock is the time the run's reports are dated in: the sandbox's
	// virtual clock in-process, the wall clock otherwise.
	Clock deploy.Clock
	// Deploy are the engine's options for this target (clock, ELB, the
	// HTTP client for health checks).
	Deploy []deploy.Option
	// HTTP answers healthCheck.url: a sandbox answers its own.
	HTTP *http.Client
	// Server is the in-process sandbox (nil for the other kinds).
	Server *sim.Server
	// Images points image builds and pushes at the target.
	Images Images
	// Notice is the one line a face tells the user about a target that is
	// not AWS ("" for AWS).
	Notice string
	// Opened is when the target was opened, on the wall clock: a run on
	// the sandbox's virtual clock reports its real duration beside it.
	Opened time.Time
	close  func()
}

// Images is how builds and pushes reach the target's registry.
type Images struct {
	// ECR is the control plane of the registry (tokens, repositories); nil:
	// the real ECR, configured on first use (see LazyECR).
	ECR awsapi.ECR
	// Push and Build are options for the pusher and the builders: the
	// sandbox's registry host, its tokens' clock, the stand-ins of public
	// base images.
	Push  []registry.Option
	Build []image.Option
	// Sandbox: base images come from the sandbox's stand-ins.
	Sandbox bool
	// Host is the registry's host:port when it is not an ECR host name
	// (a sandbox's), "" for AWS.
	Host string
}

// Close releases what Open started (the in-process sandbox).
func (t *Target) Close() { t.close() }

// InputError is an Open failure the user fixes in what they gave: a flag,
// PIER_SANDBOX, pier.yaml, a task definition or a world file (exit 2).
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

// Wanted reports whether a command that can run without AWS (build) must
// open a target: --sandbox, a world file, or PIER_SANDBOX (set, even wrongly).
func Wanted(o Options) bool {
	if o.Sandbox || o.World != "" {
		return true
	}
	base, err := sandboxURL(o.Getenv)
	return base != nil || err != nil
}

// Open makes the target o asks for. For AWS the SDK reads credentials,
// region (pier.yaml's region: first) and the AWS_ENDPOINT_URL_* variables as
// every AWS tool does.
func Open(ctx context.Context, f *config.File, o Options) (*Target, error) {
	if o.World != "" && !o.Sandbox {
		return nil, &InputError{"--sandbox-world needs --sandbox"}
	}
	if o.Sandbox {
		return openSandbox(ctx, f, o)
	}
	if base, err := sandboxURL(o.Getenv); base != nil || err != nil {
		if err != nil {
			return nil, err
		}
		return openRemote(f, base, o.Getenv)
	}
	cfg, err := awsapi.Load(ctx, f.Region)
	if err != nil {
		return nil, err
	}
	clients := awsapi.New(cfg)
	return &Target{
		Kind:    AWS,
		Clients: clients,
		Clock:   deploy.WallClock{},
		Deploy:  []deploy.Option{deploy.WithELB(clients.ELB)},
		HTTP:    &http.Client{Timeout: 10 * time.Second},
		close:   func() {},
	}, nil
}

// openSandbox starts (or reuses) the in-process sandbox of f.
func openSandbox(ctx context.Context, f *config.File, o Options) (*Target, error) {
	opened := time.Now()
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	srv, closeSrv := o.Server, func() {}
	if srv == nil {
		var err error
		if srv, err = sandbox.Start(sctx, f, o.World); err != nil {
			cancel()
			err = fmt.Errorf("starting the sandbox: %w", err)
			if inputError(err) {
				// A task definition or world file the sandbox could not
				// read is the user's file to fix, like anywhere else.
				return nil, &InputError{err.Error()}
			}
			return nil, err
		}
		closeSrv = func() { srv.Close() }
	}
	cfg := srv.AWSConfig()
	cfg.Retryer = awsapi.Retryer(20 * time.Millisecond)
	clients := awsapi.New(cfg)
	clock := srv.World().Clock()
	return &Target{
		Opened:  opened,
		Kind:    Sandbox,
		Clients: clients,
		Clock:   clock,
		Deploy:  []deploy.Option{deploy.WithClock(clock), deploy.WithHTTPClient(srv.HTTPClient()), deploy.WithELB(clients.ELB)},
		HTTP:    srv.HTTPClient(),
		Server:  srv,
		// Pushes go to its registry with its ECR tokens, and base images
		// come from the stand-ins it seeded (there is no internet). Its
		// tokens expire on its virtual clock, which starts long before
		// today: judged by the wall clock every token would look expired
		// and be fetched again per request.
		Images: Images{
			ECR: clients.ECR,
			Push: []registry.Option{registry.WithRegistryHost(srv.RegistryHost()),
				registry.WithKeychainOptions(registry.WithClock(clock.Now))},
			Build:   []image.Option{image.WithTransport(srv.RegistryTransport())},
			Sandbox: true,
			Host:    srv.RegistryHost(),
		},
		// A sandbox rollout of minutes ends in a second: say whose minutes they are.
		Notice: fmt.Sprintf("sandbox at %s (%s); nothing touches AWS; times are the simulator's virtual time", srv.URL, srv.World().Describe()),
		close:  func() { closeSrv(); cancel() },
	}, nil
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
