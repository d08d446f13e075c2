package sandbox

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/pier-deploy/pier/internal/sim"
)

// TestRemoteHTTPClientAnswersLikeHTTPClient: a pier in another process
// (PIER_SANDBOX) must see the health-check URLs as an in-process --sandbox
// does, before and after the service behind one stops answering.
func TestRemoteHTTPClientAnswersLikeHTTPClient(t *testing.T) {
	e := startSandbox(t, "")
	srv := e.srv
	base, _ := url.Parse(srv.URL)
	local, remote := srv.HTTPClient(), sim.RemoteHTTPClient(base)

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

	must(e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("inforum"), Service: aws.String("nexus"), DesiredCount: aws.Int32(0)}))(t)
	e.advance(10 * time.Minute)
	check("nexus stopped", http.StatusServiceUnavailable)

	resp, err := http.Get(srv.URL + sim.HealthPath + "?url=not-a-url")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("%s without an absolute URL answered %d, want 400", sim.HealthPath, resp.StatusCode)
	}
}
