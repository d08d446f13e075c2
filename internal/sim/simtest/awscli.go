// Package simtest runs Debian's aws CLI against the simulator (or any endpoint) in
// tests. The CLI is Python's botocore: a client independent of the Go SDK, so what it
// sends and parses checks the simulator's wire format and pier's renderings from
// the other side.
//
// It does not import package sim, so sim's own tests can use it.
package simtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pier-deploy/pier/internal/integration"
)

// DebianAWS is where Debian's awscli package installs the CLI.
const DebianAWS = "/usr/bin/aws"

// timeout bounds one CLI run; the CLI starts slowly, but never this slowly.
const timeout = 2 * time.Minute

// CLI is the aws CLI pointed at one endpoint.
type CLI struct {
	Path     string   // the program: DebianAWS, or an aws found on PATH without it
	Endpoint string   // --endpoint-url
	Region   string   // --region, left out when ""
	Env      []string // added to the CLI's clean environment, overriding what it sets
}

// NewCLI finds Debian's aws CLI and points it at endpoint in region. Without the CLI
// the test is skipped, unless PIER_INTEGRATION=1 says this machine must have it.
func NewCLI(tb testing.TB, endpoint, region string) *CLI {
	tb.Helper()
	return &CLI{Path: integration.Program(tb, "awscli", DebianAWS, "aws"), Endpoint: endpoint, Region: region}
}

// Run runs the CLI with args and --output json and returns what it printed; err is
// its failure (an *exec.ExitError when it exited non-zero). The CLI runs in an
// environment of its own: PATH, a fresh HOME without config or credentials files,
// throwaway static keys, no pager and no instance metadata, so nothing of the test's
// environment (AWS_CA_BUNDLE, a profile) changes what it does.
func (c *CLI) Run(tb testing.TB, args ...string) (stdout, stderr string, err error) {
	tb.Helper()
	home := tb.TempDir()
	flags := []string{"--endpoint-url", c.Endpoint, "--output", "json"}
	if c.Region != "" {
		flags = append(flags, "--region", c.Region)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Path, append(append([]string{}, args...), flags...)...)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"AWS_ACCESS_KEY_ID=AKIDSIM", "AWS_SECRET_ACCESS_KEY=secret", "AWS_PAGER=",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
	}, c.Env...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// Output runs the CLI like Run and returns what it printed, failing the test when
// the CLI fails.
func (c *CLI) Output(tb testing.TB, args ...string) []byte {
	tb.Helper()
	out, stderr, err := c.Run(tb, args...)
	if err != nil {
		tb.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return []byte(out)
}
