// Package simtest runs Debian's aws CLI against the simulator (or any endpoint) in
// tests. The CLI is Python's botocore: a client independent of the Go SDK, so what it
// sends and parses checks the simulator's wire format and pier's renderings from
// the other side.
//
// It does not import package sim, so sim's own tests can use it.
package simtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// Timestamp reads a timestamp as the aws CLI prints it in JSON. Version 2 prints
// ISO 8601 text ("2026-11-21T10:00:00+00:00"); version 1, which pip installs and
// which may be the aws on PATH, prints seconds since the epoch as a number
// (1795255200 or 1795255200.123). Both are what the CLI is documented to print
// for its version, so a test accepts either.
func Timestamp(raw json.RawMessage) (time.Time, error) {
	s := strings.TrimSpace(string(raw))
	if strings.HasPrefix(s, `"`) {
		var text string
		if err := json.Unmarshal(raw, &text); err != nil {
			return time.Time{}, fmt.Errorf("reading the CLI's timestamp %s: %w", s, err)
		}
		t, err := time.Parse(time.RFC3339Nano, text)
		if err != nil {
			return time.Time{}, fmt.Errorf("reading the CLI's timestamp %s as ISO 8601 (aws CLI v2): %w", s, err)
		}
		return t, nil
	}
	secs, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("reading the CLI's timestamp %s as seconds since the epoch (aws CLI v1): %w", s, err)
	}
	whole := math.Floor(secs)
	return time.Unix(int64(whole), int64(math.Round((secs-whole)*1e9))).UTC(), nil
}
