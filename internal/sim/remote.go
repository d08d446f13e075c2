package sim

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// A sandbox served by `pier sandbox` is used by other processes: pier run
// with PIER_SANDBOX set. They cannot call the Server's in-process clients,
// so the two things those answer travel over the sandbox's port too: base
// image pulls through the registry's stand-ins (MirrorTransport) and
// health-check URLs through HealthPath (RemoteHTTPClient).

// HealthPath is where the server answers a health-check URL for a client in
// another process: GET HealthPath?url=U returns the status srv.HTTPClient()
// would give for U, or 404 with the header UnknownHostHeader when the world
// maps no service to U's host.
const HealthPath = "/pier-sandbox/health"

// UnknownHostHeader marks HealthPath's answer for a URL the world does not
// map, so the client can fail like an unresolvable name instead of
// reporting a 404 the real URL would never give.
const UnknownHostHeader = "X-Pier-Sandbox-Unknown-Host"

func (w *World) serveHealth(rw http.ResponseWriter, r *http.Request) {
	raw := r.URL.Query().Get("url")
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		http.Error(rw, fmt.Sprintf("%s wants ?url= an absolute health-check URL, not %q", HealthPath, raw), http.StatusBadRequest)
		return
	}
	status, known := w.answerHealth(u)
	if !known {
		rw.Header().Set(UnknownHostHeader, u.Hostname())
		http.Error(rw, fmt.Sprintf("the sandbox maps no service to %s", hostKey(u)), http.StatusNotFound)
		return
	}
	rw.Header().Set("Content-Type", "text/plain")
	rw.WriteHeader(status)
	if status != http.StatusOK {
		fmt.Fprintf(rw, "%d %s\n", status, http.StatusText(status))
	}
}

// RemoteHTTPClient returns, for a process outside the sandbox at base (its
// URL, http://127.0.0.1:PORT), a client like its HTTPClient: requests to the
// sandbox itself pass through, and any other URL is asked of HealthPath
// (the sandbox has no network of its own to reach it on).
func RemoteHTTPClient(base *url.URL) *http.Client {
	return &http.Client{Transport: remoteHealth{base: base}}
}

type remoteHealth struct{ base *url.URL }

func (h remoteHealth) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == h.base.Host {
		return http.DefaultTransport.RoundTrip(r)
	}
	if r.Body != nil {
		r.Body.Close()
	}
	u := *h.base
	u.Path = strings.TrimSuffix(u.Path, "/") + HealthPath
	u.RawQuery = url.Values{"url": {r.URL.String()}}.Encode()
	ask, err := http.NewRequestWithContext(r.Context(), http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultTransport.RoundTrip(ask)
	if err != nil {
		return nil, fmt.Errorf("asking the sandbox at %s for %s: %w", h.base.Redacted(), r.URL.Redacted(), err)
	}
	if resp.Header.Get(UnknownHostHeader) != "" {
		resp.Body.Close()
		return nil, noSuchHost(r.URL)
	}
	resp.Request = r
	return resp, nil
}

// MirrorTransport is RegistryTransport for a process outside the sandbox:
// registryHost is the sandbox's host:port.
func MirrorTransport(registryHost string) http.RoundTripper {
	return mirrorTransport{self: registryHost, inner: http.DefaultTransport}
}
