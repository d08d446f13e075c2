package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/redact"
	"github.com/pier-deploy/pier/internal/sandbox"
)

// The secrets fixture: a service that runs live-task.json and a pier.yaml that
// deploys task.json, which changes the database password and adds a GitHub
// token and an AWS access key id, all as plain environment values.
const (
	secretsYAML = "testdata/secrets/pier.yaml"
	oldPassword = "old-Pa55word-for-db"
	newPassword = "new-Pa55word-for-db"
	ghToken     = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
	awsKeyID    = "AKIAIOSFODNN7EXAMPLE"
)

var fixtureSecrets = []string{oldPassword, newPassword, ghToken, awsKeyID}

// secretsSandbox serves the service as live.yaml describes it, the way `pier
// sandbox` does, and returns the environment its export lines give.
func secretsSandbox(t *testing.T) map[string]string {
	t.Helper()
	f, err := config.Load("testdata/secrets/live.yaml", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv, err := sandbox.Start(ctx, f, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	srv.Drive(ctx, 600)
	env := map[string]string{"PIER_CACHE": t.TempDir()}
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

// noSecrets fails when text shows any of the fixture's secrets outside the
// ::add-mask:: lines that hide them from the log.
func noSecrets(t *testing.T, where, text string) {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "::add-mask::") {
			continue
		}
		for _, s := range fixtureSecrets {
			if strings.Contains(line, s) {
				t.Errorf("%s shows the secret %q: %s", where, s, line)
			}
		}
	}
}

// TestPlanShowsStandIns: the plan's text and JSON say that the password
// changed, with stand-ins that tell the two values apart, and show plain
// values (LOG_LEVEL, KEYCLOAK_URL) as they are.
func TestPlanShowsStandIns(t *testing.T) {
	env := secretsSandbox(t)
	for _, output := range []string{"text", "json"} {
		t.Run(output, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Run(context.Background(), []string{"plan", "-f", secretsYAML, "--output", output}, &stdout, &stderr, func(k string) string { return env[k] })
			if code != ExitOK {
				t.Fatalf("pier plan exited %d:\n%s", code, stderr.String())
			}
			noSecrets(t, "stdout", stdout.String())
			noSecrets(t, "stderr", stderr.String())
			for _, want := range []string{redact.StandIn(oldPassword), redact.StandIn(newPassword), redact.StandIn(ghToken), redact.StandIn(awsKeyID),
				"debug", "https://sso.example.com/realms/new"} {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("the plan does not show %q:\n%s", want, stdout.String())
				}
			}
			if output != "json" {
				return
			}
			var p struct {
				Services []struct {
					Changes []struct {
						Path      string
						Old, New  string
						Sensitive bool
					}
				}
			}
			if err := json.Unmarshal(stdout.Bytes(), &p); err != nil || len(p.Services) != 1 {
				t.Fatalf("plan JSON: %v\n%s", err, stdout.String())
			}
			sensitive := map[string]bool{}
			for _, c := range p.Services[0].Changes {
				sensitive[c.Path] = c.Sensitive
			}
			for path, want := range map[string]bool{
				"containerDefinitions[app].environment[DB_PASSWORD].value":     true,
				"containerDefinitions[app].environment[GITHUB_TOKEN].value":    true,
				"containerDefinitions[app].environment[UPSTREAM_KEY_ID].value": true,
				"containerDefinitions[app].environment[LOG_LEVEL].value":       false,
				"containerDefinitions[app].environment[KEYCLOAK_URL].value":    false,
			} {
				if got, ok := sensitive[path]; !ok || got != want {
					t.Errorf("change %s: sensitive %v (listed %v), want %v", path, got, ok, want)
				}
			}
		})
	}
}

// TestActionMasksSecrets runs the action's plan against the sandbox: every
// secret is masked before the command prints anything but its command line, and
// neither the log, the plan output nor the job summary shows one.
func TestActionMasksSecrets(t *testing.T) {
	env := secretsSandbox(t)
	r := runActionBinary(t, map[string]string{"command": "plan", "config": "internal/cli/" + secretsYAML}, env)
	if r.code != ExitOK {
		t.Fatalf("action failed:\n%s", r)
	}
	checkActionSecrets(t, r)
	if !strings.Contains(r.outputs["plan"], redact.StandIn(newPassword)) || !strings.Contains(r.summary, redact.StandIn(newPassword)) {
		t.Errorf("the plan output and the summary should show the new password's stand-in:\n%s\n%s", r.outputs["plan"], r.summary)
	}
}

// checkActionSecrets: masks for every secret of task.json, first; no secret
// in the log, the outputs or the summary.
func checkActionSecrets(t *testing.T, r actionRun) {
	t.Helper()
	lines := strings.Split(r.stdout, "\n")
	masked := map[string]bool{}
	for i, line := range lines {
		if v, ok := strings.CutPrefix(line, "::add-mask::"); ok {
			masked[v] = true
			continue
		}
		if i > 0 && len(masked) < 3 {
			t.Errorf("stdout line %d comes before the masks: %q", i+1, line)
		}
	}
	for _, s := range []string{newPassword, ghToken, awsKeyID} {
		if !masked[s] {
			t.Errorf("no ::add-mask:: for %q:\n%s", s, r.stdout)
		}
	}
	if masked["https://sso.example.com/realms/new"] || masked["debug"] {
		t.Errorf("plain values masked: %v", masked)
	}
	noSecrets(t, "the log (stdout)", r.stdout)
	noSecrets(t, "the log (stderr)", r.stderr)
	noSecrets(t, "the summary", r.summary)
	for k, v := range r.outputs {
		noSecrets(t, "output "+k, v)
	}
}

// echoingECS stands in front of a sandbox and rejects RegisterTaskDefinition
// with a ClientException that quotes the whole request, as a validation error
// may quote the value it rejects; everything else goes to the sandbox.
func echoingECS(t *testing.T, sandbox string) string {
	t.Helper()
	u, err := url.Parse(sandbox)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !strings.HasSuffix(req.Header.Get("X-Amz-Target"), ".RegisterTaskDefinition") {
			proxy.ServeHTTP(w, req)
			return
		}
		body, _ := io.ReadAll(req.Body)
		msg, _ := json.Marshal(map[string]string{"__type": "ClientException", "message": "Invalid request: " + string(body)})
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		w.Write(msg)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestRegistrationErrorRedacted: a registration refused with an error that
// echoes the definition is reported with stand-ins in the deploy's text and
// JSON, and in the action's log, outputs and summary.
func TestRegistrationErrorRedacted(t *testing.T) {
	env := secretsSandbox(t)
	front := echoingECS(t, env["PIER_SANDBOX"])
	for k, v := range env {
		if v == env["PIER_SANDBOX"] {
			env[k] = front
		}
	}
	echoed := regexp.MustCompile(`registering task definition "api": .*Invalid request: .*` + regexp.QuoteMeta(redact.StandIn(newPassword)))
	for _, output := range []string{"text", "json"} {
		t.Run(output, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Run(context.Background(), []string{"deploy", "-f", secretsYAML, "--output", output}, &stdout, &stderr, func(k string) string { return env[k] })
			if code != ExitFailed {
				t.Fatalf("pier deploy exited %d, want %d:\n%s\n%s", code, ExitFailed, stdout.String(), stderr.String())
			}
			noSecrets(t, "stdout", stdout.String())
			noSecrets(t, "stderr", stderr.String())
			if !echoed.MatchString(stdout.String() + stderr.String()) {
				t.Errorf("the echoed error is not reported (with stand-ins):\n%s\n%s", stdout.String(), stderr.String())
			}
		})
	}
	t.Run("action", func(t *testing.T) {
		r := runActionBinary(t, map[string]string{"command": "deploy", "config": "internal/cli/" + secretsYAML}, env)
		if r.code != ExitFailed || r.outputs["result"] != "failed" {
			t.Fatalf("exit %d result %q, want %d and failed:\n%s", r.code, r.outputs["result"], ExitFailed, r)
		}
		checkActionSecrets(t, r)
		if !echoed.MatchString(r.summary) {
			t.Errorf("the summary does not report the echoed error:\n%s", r.summary)
		}
	})
}
