package sim

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"

	"github.com/pier-deploy/pier/internal/config"
)

// TestRemoteHTTPClientAnswersLikeHTTPClient: a pier in another process
// (PIER_SANDBOX) must see the health-check URLs as an in-process --sandbox
// does, before and after the service behind one stops answering.
func TestRemoteHTTPClientAnswersLikeHTTPClient(t *testing.T) {
	f, err := config.Load("../../testdata/inforum/pier.yaml", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := NewSandbox(ctx, f, "")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	base, _ := url.Parse(srv.URL)
	local, remote := srv.HTTPClient(), RemoteHTTPClient(base)

	const nexus = "http://nexus.inforum.internal:8081/service/rest/v1/status/writable"
	get := func(c *http.Client, u string) (int, error) {
		resp, err := c.Get(u)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	check := func(stage string, want int) {
		t.Helper()
		for _, c := range []struct {
			name string
			c    *http.Client
		}{{"in-process", local}, {"remote", remote}} {
			got, err := get(c.c, nexus)
			if err != nil || got != want {
				t.Errorf("%s: %s client: GET %s = %d, %v; want %d", stage, c.name, nexus, got, err, want)
			}
			_, err = get(c.c, "http://nowhere.example/health")
			var dns *net.DNSError
			if !errors.As(err, &dns) || !dns.IsNotFound {
				t.Errorf("%s: %s client: GET of an unmapped host: %v, want a no-such-host error", stage, c.name, err)
			}
		}
	}
	check("nexus running", http.StatusOK)

	srv.World().mu.Lock()
	for _, task := range srv.World().clusters["inforum"].taskList {
		if task.service != nil && task.service.name == "nexus" {
			for _, ct := range task.containers {
				ct.behavior.HealthURLFails = true
			}
		}
	}
	srv.World().mu.Unlock()
	check("nexus failing its health URL", http.StatusServiceUnavailable)

	resp, err := http.Get(srv.URL + HealthPath + "?url=not-a-url")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("%s without an absolute URL answered %d, want 400", HealthPath, resp.StatusCode)
	}
}
