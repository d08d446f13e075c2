package sim

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Health-check URLs: pier's recreate strategy ends with an HTTP check
// (pier.yaml services.*.healthCheck.url). In the simulator such a URL maps to
// a service; the server's HTTPClient answers it from the world's state.

// WithHealthURL maps an HTTP health-check URL to a service: srv.HTTPClient()
// answers it 200 while the service has a RUNNING task whose containers are
// healthy (and whose images are not HealthURLFails), and 503 otherwise.
func WithHealthURL(rawURL, cluster, service string) Option {
	return func(o *options) {
		o.healthURLs = append(o.healthURLs, healthURL{rawURL, cluster, service})
	}
}

type healthURL struct{ url, cluster, service string }

// hostKey is host:port of a URL, with the scheme's default port.
func hostKey(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443"}[u.Scheme]
		if port == "" {
			port = "80"
		}
	}
	return strings.ToLower(u.Hostname()) + ":" + port
}

// mapHealthURL records a mapping; callers hold w.mu.
func (w *World) mapHealthURL(rawURL, cluster, service string) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("mapping health-check URL %q: not an absolute URL", rawURL)
	}
	if w.health == nil {
		w.health = map[string]healthURL{}
	}
	w.health[hostKey(u)] = healthURL{rawURL, cluster, service}
	return nil
}

// serviceAnswers reports whether a service would answer its health check.
func (w *World) serviceAnswers(cluster, service string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.clusters[cluster]
	if c == nil {
		return false
	}
	for _, t := range c.taskList {
		if t.service == nil || t.service.name != service || !t.healthy() {
			continue
		}
		ok := true
		for _, ct := range t.containers {
			if ct.essential && (ct.behavior.Unhealthy || ct.behavior.HealthURLFails || ct.lastStatus != statusRunning) {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// HTTPClient returns a client that answers the world's health-check URLs
// and reaches the simulator itself; any other host fails like an unknown
// name would.
func (s *Server) HTTPClient() *http.Client {
	return &http.Client{Transport: healthTransport{w: s.world, self: s.RegistryHost()}}
}

type healthTransport struct {
	w    *World
	self string
}

func (h healthTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		defer r.Body.Close()
	}
	if r.URL.Host == h.self {
		return http.DefaultTransport.RoundTrip(r)
	}
	status, known := h.w.answerHealth(r.URL)
	if !known {
		return nil, noSuchHost(r.URL)
	}
	return healthResponse(r, status), nil
}

// answerHealth is the status a health-check URL answers now, and whether
// the world maps it at all.
func (w *World) answerHealth(u *url.URL) (status int, known bool) {
	w.mu.Lock()
	m, ok := w.health[hostKey(u)]
	w.mu.Unlock()
	if !ok {
		return 0, false
	}
	if w.serviceAnswers(m.cluster, m.service) {
		return http.StatusOK, true
	}
	return http.StatusServiceUnavailable, true
}

// noSuchHost is the error an unmapped health-check URL fails with: what
// dialing a name nobody resolves gives.
func noSuchHost(u *url.URL) error {
	return &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: u.Hostname(), IsNotFound: true}}
}

func healthResponse(r *http.Request, status int) *http.Response {
	body := ""
	if status != http.StatusOK {
		body = fmt.Sprintf("%d %s\n", status, http.StatusText(status))
	}
	return &http.Response{
		StatusCode:    status,
		Status:        fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"text/plain"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       r,
	}
}
