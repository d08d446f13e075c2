package target

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/sandbox"
)

func inforum(t *testing.T) *config.File {
	t.Helper()
	f, err := config.Load("../../testdata/inforum/pier.yaml", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func env(kv ...string) func(string) string {
	return func(k string) string {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == k {
				return kv[i+1]
			}
		}
		return ""
	}
}

// What the user gave wrong is an InputError (exit 2), said before anything starts.
func TestOpenInputErrors(t *testing.T) {
	f := inforum(t)
	noRegion := *f
	noRegion.Region = ""
	for _, tt := range []struct {
		name string
		f    *config.File
		o    Options
		want string
	}{
		{"world without sandbox", f, Options{World: "w.yaml", Getenv: env()}, "--sandbox-world needs --sandbox"},
		{"PIER_SANDBOX not a URL", f, Options{Getenv: env("PIER_SANDBOX", "127.0.0.1:1")}, "is not the URL `pier sandbox` prints"},
		{"PIER_SANDBOX without a region", &noRegion, Options{Getenv: env("PIER_SANDBOX", "http://127.0.0.1:1")}, "no region"},
		{"a world file that is not there", f, Options{Sandbox: true, World: "no-such-world.yaml", Getenv: env()}, "no-such-world.yaml"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(context.Background(), tt.f, tt.o)
			var ie *InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open = %v, want an InputError saying %q", err, tt.want)
			}
		})
	}
}

// The in-process sandbox and the same sandbox reached through PIER_SANDBOX
// are one account: a service seen through one is seen through the other.
func TestSandboxAndRemoteSeeTheSameAccount(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := inforum(t)
	srv, err := sandbox.Start(ctx, f, "")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if Wanted(Options{Getenv: env()}) || !Wanted(Options{Getenv: env("PIER_SANDBOX", srv.URL)}) || !Wanted(Options{Sandbox: true, Getenv: env()}) {
		t.Error("Wanted: only --sandbox, a world file or PIER_SANDBOX ask for a target")
	}
	local, err := Open(ctx, f, Options{Sandbox: true, Server: srv, Getenv: env()})
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	remote, err := Open(ctx, f, Options{Getenv: env("PIER_SANDBOX", srv.URL)})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	if local.Kind != Sandbox || remote.Kind != Remote || !local.Images.Sandbox || !remote.Images.Sandbox || local.Notice == "" || remote.Notice == "" {
		t.Fatalf("kinds %v %v, images %+v %+v", local.Kind, remote.Kind, local.Images, remote.Images)
	}
	for _, tg := range []*Target{local, remote} {
		out, err := tg.Clients.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("inforum"), Services: []string{"backend"}})
		if err != nil || len(out.Services) != 1 || out.Services[0].RunningCount != 2 {
			t.Errorf("kind %v: DescribeServices = %+v, %v", tg.Kind, out, err)
		}
		tok, err := tg.Images.ECR.GetAuthorizationToken(ctx, nil)
		if err != nil || len(tok.AuthorizationData) != 1 {
			t.Errorf("kind %v: GetAuthorizationToken = %v", tg.Kind, err)
		}
	}
}
