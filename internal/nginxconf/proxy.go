package nginxconf

import (
	"strconv"
	"strings"
)

// Endpoint is a host and port nginx connects to.
type Endpoint struct {
	Host string // host name or IP; for unix sockets "unix:/path"
	Port int    // the port written, else the scheme's default (80, 443); 0 for unix sockets
	// PortGiven reports whether the port was written explicitly.
	PortGiven bool
}

// ProxyPass is one proxy_pass directive with its target parsed.
type ProxyPass struct {
	Directive *Directive
	URL       string // the argument as written
	Scheme    string // "http" or "https"
	Endpoint
	Path string // URI part after the host, "" if none
	// Variable reports that the URL contains $variables: nginx resolves it
	// per request, so Host and Port may be incomplete.
	Variable bool
	// Upstream is the `upstream NAME {}` block the host names, or nil.
	Upstream *Directive
	Pos      Pos // of the URL argument
}

// ProxyPasses returns every proxy_pass in file order.
func (c *Config) ProxyPasses() []ProxyPass {
	ups := map[string]*Directive{}
	for _, u := range c.Find("upstream") {
		if len(u.Args) == 1 {
			ups[u.Args[0]] = u
		}
	}
	var out []ProxyPass
	for _, d := range c.Find("proxy_pass") {
		if len(d.Args) != 1 {
			continue
		}
		pp := ProxyPass{Directive: d, URL: d.Args[0], Pos: d.ArgPos[0], Variable: strings.Contains(d.Args[0], "$")}
		pp.Scheme, pp.Endpoint, pp.Path = parseURL(d.Args[0])
		if !pp.PortGiven {
			pp.Upstream = ups[pp.Host]
		}
		out = append(out, pp)
	}
	return out
}

// parseURL splits an nginx proxy URL: scheme://host[:port][/path] or
// scheme://unix:/socket:[/path].
func parseURL(u string) (scheme string, ep Endpoint, path string) {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return "", Endpoint{}, ""
	}
	scheme = strings.ToLower(scheme)
	if strings.HasPrefix(rest, "unix:") {
		sock, p, _ := strings.Cut(rest[len("unix:"):], ":")
		return scheme, Endpoint{Host: "unix:" + sock}, p
	}
	hostport := rest
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		hostport, path = rest[:i], rest[i:]
	}
	ep = splitHostPort(hostport, scheme)
	return scheme, ep, path
}

func splitHostPort(hostport, scheme string) Endpoint {
	host, port := hostport, ""
	if strings.HasPrefix(hostport, "[") { // [::1]:8080
		if i := strings.IndexByte(hostport, ']'); i >= 0 {
			host = hostport[1:i]
			port = strings.TrimPrefix(hostport[i+1:], ":")
		}
	} else if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		host, port = hostport[:i], hostport[i+1:]
	}
	ep := Endpoint{Host: host}
	if n, err := strconv.Atoi(port); err == nil && port != "" {
		ep.Port, ep.PortGiven = n, true
		return ep
	}
	if port != "" { // e.g. a $variable port: keep it in Host for messages
		ep.Host = hostport
	}
	switch scheme {
	case "https", "grpcs":
		ep.Port = 443
	case "http", "grpc":
		ep.Port = 80
	}
	return ep
}

// UpstreamServers lists the `server` entries of an upstream block.
func UpstreamServers(upstream *Directive) []Endpoint {
	var out []Endpoint
	for _, s := range upstream.Children("server") {
		if len(s.Args) == 0 {
			continue
		}
		if strings.HasPrefix(s.Args[0], "unix:") {
			out = append(out, Endpoint{Host: s.Args[0]})
			continue
		}
		out = append(out, splitHostPort(s.Args[0], "http"))
	}
	return out
}
