package sim

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Drive runs the world's clock at speed times real time in the background
// until ctx ends or the server closes.
func (s *Server) Drive(ctx context.Context, speed float64) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		<-s.done
		cancel()
	}()
	go s.world.clock.Run(ctx, speed, 20*time.Millisecond)
}

// Env returns the environment that points AWS clients at the server: the
// endpoint of each service, the region and dummy credentials, and
// PIER_SANDBOX for pier, which needs more of the sandbox than AWS clients do. The region
// goes in AWS_DEFAULT_REGION too: the SDKs read AWS_REGION, but aws CLI
// releases before 2.13 (Debian 12 ships 2.9) read only AWS_DEFAULT_REGION.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL_ECS=" + s.URL,
		"AWS_ENDPOINT_URL_ECR=" + s.URL,
		"AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2=" + s.URL,
		"AWS_REGION=" + s.world.region,
		"AWS_DEFAULT_REGION=" + s.world.region,
		"AWS_ACCESS_KEY_ID=AKIASIMULATOR0000000",
		"AWS_SECRET_ACCESS_KEY=simulator-secret-key",
		// pier itself: public base images and health-check URLs through the sandbox.
		"PIER_SANDBOX=" + s.URL,
	}
}

// Describe is a one-line summary of the world for humans.
func (w *World) Describe() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var services, instances, tasks int
	for _, c := range w.clusters {
		services += len(c.services)
		instances += len(c.instances)
		for _, t := range c.taskList {
			if t.lastStatus == statusRunning {
				tasks++
			}
		}
	}
	return fmt.Sprintf("%s, %s, %s, %s, account %s, region %s",
		count(len(w.clusters), "cluster"), count(services, "service"), count(tasks, "running task"),
		count(instances, "EC2 instance"), w.account, w.region)
}

// count says "1 cluster" and "3 clusters": the line is read by people.
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// RegistryTransport returns an http.RoundTripper for image builders in the
// sandbox, where there is no internet: a registry request to any other host
// (index.docker.io, public.ecr.aws, …) is answered by the simulated registry
// from the stand-in seeded for that image (ecr's MirrorRepository: /v2/nginx
// on public.ecr.aws/docker/library becomes /v2/public.ecr.aws/docker/library/nginx
// here). Requests to the simulator itself pass through unchanged; anything
// that is not a registry request fails.
func (s *Server) RegistryTransport() http.RoundTripper {
	return MirrorTransport(s.RegistryHost())
}

type mirrorTransport struct {
	self  string
	inner http.RoundTripper
}

func (m mirrorTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == m.self {
		return m.inner.RoundTrip(r)
	}
	if r.URL.Path != "/v2" && !strings.HasPrefix(r.URL.Path, "/v2/") {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, fmt.Errorf("the sandbox has no internet: %s %s is not a registry request it can answer", r.Method, r.URL.Redacted())
	}
	out := r.Clone(r.Context())
	u := *r.URL
	if rest := strings.TrimPrefix(strings.TrimPrefix(u.Path, "/v2"), "/"); rest != "" {
		u.Path = "/v2/" + r.URL.Hostname() + "/" + rest
		u.RawPath = ""
	}
	u.Scheme, u.Host = "http", m.self
	out.URL, out.Host = &u, m.self
	return m.inner.RoundTrip(out)
}
