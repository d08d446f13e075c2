package cli

import (
	"bytes"
	"context"
	"regexp"
	"testing"
)

// TestOneRegistryTokenPerRun: a whole deploy or push, with its build, push,
// presence checks and task definitions, asks ECR for one authorization
// token and masks one password in a GitHub Actions log. The sandbox's
// tokens expire on its virtual clock, which starts long before today: a
// keychain judging them by the wall clock would fetch one per request.
func TestOneRegistryTokenPerRun(t *testing.T) {
	for _, tc := range []struct {
		cmd string
		run func(ctx context.Context, env *Env, sb *sandboxFlags) int
	}{
		{"deploy", func(ctx context.Context, env *Env, sb *sandboxFlags) int {
			return runDeploy(ctx, env, sb, nil, 0, 0, "")
		}},
		{"push", func(ctx context.Context, env *Env, sb *sandboxFlags) int { return runPush(ctx, env, sb, nil) }},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			s := newSandboxEnv(t)
			s.w().ResetCalls()
			var stdout, stderr bytes.Buffer
			getenv := func(k string) string {
				if k == "GITHUB_ACTIONS" {
					return "true"
				}
				return s.getenv(k)
			}
			env := &Env{Stdout: &stdout, Stderr: &stderr, Getenv: getenv, Globals: Globals{File: inforumYAML, Output: "text"}}
			if code := tc.run(context.Background(), env, &sandboxFlags{on: true, srv: s.srv}); code != ExitOK {
				t.Fatalf("%s exit %d\n%s", tc.cmd, code, stderr.String())
			}
			if n := s.w().Calls()["ecr.GetAuthorizationToken"]; n != 1 {
				t.Errorf("%s --sandbox called ecr:GetAuthorizationToken %d times, want 1", tc.cmd, n)
			}
			masks := regexp.MustCompile(`(?m)^::add-mask::.+$`).FindAllString(stdout.String(), -1)
			if len(masks) != 1 {
				t.Errorf("%s printed %d ::add-mask:: lines, want 1:\n%s", tc.cmd, len(masks), stdout.String())
			}
		})
	}
}
