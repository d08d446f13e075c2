package registrytest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pier-deploy/pier/internal/integration"
)

// DistributionPath is where Debian installs the CNCF distribution registry.
const DistributionPath = "/usr/bin/docker-registry"

// StartDistribution runs Debian's real registry (docker-registry) on a free
// 127.0.0.1 port with filesystem storage in a temporary directory and
// returns its host. Without the program the test is skipped, unless
// PIER_INTEGRATION=1, where a missing program is a failure.
func StartDistribution(tb testing.TB) string {
	tb.Helper()
	bin := integration.Program(tb, "docker-registry", DistributionPath, "docker-registry")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := tb.TempDir()
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "data"), addr)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", cfgPath)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		cancel()
		tb.Fatalf("starting %s: %v", bin, err)
	}
	tb.Cleanup(func() { cancel(); _ = cmd.Wait() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("docker-registry did not answer on %s: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Proxy puts a counting Server in front of the registry at host, so tests
// see what a client did to a registry they cannot instrument.
func Proxy(tb testing.TB, host string, opts ...Option) *Server {
	tb.Helper()
	target := &url.URL{Scheme: "http", Host: host}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.FlushInterval = -1
	return start(tb, rp, opts)
}
