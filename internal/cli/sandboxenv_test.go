package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/sandbox"
	"github.com/pier-deploy/pier/internal/sim"
)

// TestDeployAgainstPierSandbox serves the inforum world the way `pier
// sandbox` does (its own port, its clock driven) and runs `pier deploy`
// without --sandbox, as a user would in another shell, with exactly the
// printed export lines: base images, ECR tokens and the nexus health URL
// must all come from the sandbox, since there is no internet.
func TestDeployAgainstPierSandbox(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := startDrivenSandbox(ctx, t)
	printed := map[string]string{}
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		printed[k] = v
	}
	if printed["PIER_SANDBOX"] != srv.URL {
		t.Fatalf("the sandbox prints PIER_SANDBOX=%q, want %q", printed["PIER_SANDBOX"], srv.URL)
	}
	cache := t.TempDir()
	getenv := func(k string) string {
		if k == "PIER_CACHE" {
			return cache // not a printed line: keeps the test out of the user's cache
		}
		return printed[k]
	}

	type result struct {
		Result   string
		Services []struct {
			Name, Outcome       string
			Registered, Updated bool
		}
	}
	deploy := func(name, want string) result {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), []string{"deploy", "-f", inforumYAML, "--output", "json"}, &stdout, &stderr, getenv)
		if code != ExitOK {
			t.Fatalf("%s: pier deploy exited %d\nstderr:\n%s", name, code, stderr.String())
		}
		if !strings.Contains(stderr.String(), "running against the pier sandbox at "+srv.URL) {
			t.Errorf("%s: stderr does not say pier runs against the sandbox:\n%s", name, stderr.String())
		}
		var r result
		if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
			t.Fatalf("%s: decoding the JSON report: %v\n%s", name, err, stdout.String())
		}
		if r.Result != want || len(r.Services) != 3 {
			t.Fatalf("%s: result %q with %d services, want %s with 3", name, r.Result, len(r.Services), want)
		}
		return r
	}

	for _, s := range deploy("first deploy", "success").Services {
		if s.Outcome != "success" || !s.Updated {
			t.Errorf("first deploy: %s: outcome %q (updated %v), want an updated success", s.Name, s.Outcome, s.Updated)
		}
	}
	// One token for the whole run although its expiry is on the sandbox's
	// virtual clock, not one per registry request.
	if n := srv.World().Calls()["ecr.GetAuthorizationToken"]; n != 1 {
		t.Errorf("the first deploy called ecr:GetAuthorizationToken %d times, want 1", n)
	}
	for _, s := range deploy("second deploy", "no-changes").Services {
		if s.Outcome != "no-changes" || s.Registered || s.Updated {
			t.Errorf("second deploy: %s: outcome %q (registered %v, updated %v), want no-changes", s.Name, s.Outcome, s.Registered, s.Updated)
		}
	}
}

// startDrivenSandbox serves the inforum world the way `pier sandbox` does:
// its own port, its clock driven at 600 times real time, until ctx ends.
func startDrivenSandbox(ctx context.Context, t *testing.T) *sim.Server {
	t.Helper()
	f, err := config.Load(inforumYAML, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sandbox.Start(ctx, f, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	srv.Drive(ctx, 600)
	return srv
}
