package lint

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/nginxconf"
	"github.com/pier-deploy/pier/internal/taskdef"
)

func npos(p nginxconf.Pos) config.Pos { return config.Pos(p) }

// nginxUser is one place an nginx image runs: a container of a service's task.
type nginxUser struct {
	service   *config.Service
	container *taskdef.Container
	td        *taskdef.TaskDef
}

func checkNginx(out *findings, in *Input) {
	for _, img := range in.Config.Images {
		cfg, ok := in.Nginx[img.Name]
		if !ok {
			continue
		}
		var users []nginxUser
		for _, s := range in.Config.Services {
			td := in.Tasks[s.Name]
			if td == nil {
				continue
			}
			for c, name := range s.Containers {
				if name != img.Name {
					continue
				}
				if ct := td.Container(c); ct != nil {
					users = append(users, nginxUser{s, ct, td})
				}
			}
		}
		slices.SortFunc(users, func(a, b nginxUser) int {
			return strings.Compare(a.service.Name+"/"+a.container.Name, b.service.Name+"/"+b.container.Name)
		})
		for _, pp := range cfg.ProxyPasses() {
			checkProxyPass(out, img, pp, users)
		}
		for _, mf := range cfg.MethodFilters() {
			checkMethods(out, mf)
		}
		for _, ho := range cfg.HeaderOverrides() {
			checkHeaderOverride(out, ho)
		}
	}
}

// checkProxyPass checks that every host a proxy_pass reaches resolves in
// each task that runs the image: in bridge mode only the link aliases of
// the nginx container resolve (plus real DNS names).
func checkProxyPass(out *findings, img *config.Image, pp nginxconf.ProxyPass, users []nginxUser) {
	if pp.Variable || pp.Scheme == "" || strings.HasPrefix(pp.Host, "unix:") {
		return // resolved per request, or not a network endpoint
	}
	what := "proxy_pass " + pp.URL
	if pp.Upstream != nil {
		servers := pp.Upstream.Children("server")
		var named []*nginxconf.Directive
		for _, s := range servers {
			if len(s.Args) > 0 {
				named = append(named, s)
			}
		}
		for i, ep := range nginxconf.UpstreamServers(pp.Upstream) {
			if strings.HasPrefix(ep.Host, "unix:") || i >= len(named) {
				continue
			}
			s := named[i]
			checkHost(out, img, npos(s.ArgPos[0]), fmt.Sprintf("%s (upstream %s, server %s)", what, pp.Host, s.Args[0]), ep.Host, ep.Port, users)
		}
		return
	}
	checkHost(out, img, npos(pp.Pos), what, pp.Host, pp.Port, users)
}

func checkHost(out *findings, img *config.Image, at config.Pos, what, host string, port int, users []nginxUser) {
	isLocal := host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
	if !isLocal && (strings.Contains(host, ".") || net.ParseIP(host) != nil) {
		return // a DNS name with a dot, or an address: outside pier's view
	}
	for _, u := range users {
		mode := u.td.NetworkMode()
		where := fmt.Sprintf("container %q of task %s (service %q)", u.container.Name, u.td.File, u.service.Name)
		if mode != types.NetworkModeBridge {
			if !isLocal {
				out.add(at, Error, "proxy-pass-host",
					"%s in image %q: host %q does not resolve in %s, which uses %s network mode where containers have no links: containers of the task reach each other on localhost, e.g. http://localhost:%d", what, img.Name, host, where, mode, port)
			}
			continue
		}
		if isLocal {
			out.add(at, Warning, "proxy-pass-host",
				"%s in image %q: in bridge network mode %s is the nginx container itself (%s), not the app container; use the app container's link alias", what, img.Name, host, where)
			continue
		}
		links := u.container.Links()
		var aliases []string
		var link *taskdef.Link
		for i := range links {
			aliases = append(aliases, links[i].Alias)
			if links[i].Alias == host {
				link = &links[i]
			}
		}
		if link == nil {
			have := "it has no links"
			if len(aliases) > 0 {
				have = "its links are " + strings.Join(aliases, ", ")
			}
			out.add(at, Error, "proxy-pass-host",
				"%s in image %q: host %q is not a link of %s, so nginx cannot resolve it (%s); add \"links\": [%q] to that container, or proxy to a DNS name%s",
				what, img.Name, host, where, have, host, didYouMean(host, aliases))
			continue
		}
		linked := u.td.Container(link.Name)
		if linked == nil {
			var names []string
			for _, c := range u.td.Containers() {
				names = append(names, c.Name)
			}
			out.add(at, Error, "proxy-pass-host",
				"%s in image %q: host %q is the link %q of %s at %s, but that task has no container %q (containers: %s), so the link is missing and the task cannot start%s",
				what, img.Name, host, link.Name, where, config.Pos(link.Pos), link.Name, strings.Join(names, ", "), didYouMean(link.Name, names))
			continue
		}
		if ports := linked.ContainerPorts(); len(ports) > 0 && !slices.Contains(ports, int32(port)) {
			var ps []string
			for _, p := range ports {
				ps = append(ps, strconv.Itoa(int(p)))
			}
			out.add(at, Warning, "proxy-pass-port",
				"%s in image %q: port %d is not among the ports container %q declares in task %s (%s)", what, img.Name, port, linked.Name, u.td.File, strings.Join(ps, ", "))
		}
	}
}

// checkMethods warns about method names in $request_method conditions and
// limit_except that are not HTTP methods, such as the seed's OPTION.
func checkMethods(out *findings, mf nginxconf.MethodFilter) {
	d := mf.Directive
	for _, m := range mf.Unknown() {
		pos := npos(mf.Pos)
		if mf.Op == "limit_except" {
			if i := slices.Index(d.Args, m); i >= 0 {
				pos = npos(d.ArgPos[i])
			}
		} else if i := strings.Index(mf.Pattern, m); i >= 0 {
			pos.Col += i
		}
		guess := nginxconf.SuggestMethod(m)
		msg := fmt.Sprintf("%q is not an HTTP method", m)
		if guess != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", guess)
			switch {
			case mf.Negated && guess == "OPTIONS":
				msg += ": OPTIONS requests, and so CORS preflight requests, are rejected"
			case mf.Negated:
				msg += fmt.Sprintf(": %s requests are rejected", guess)
			default:
				msg += fmt.Sprintf(": %s requests do not match this condition", guess)
			}
		}
		out.add(pos, Warning, "request-method", "%s: %s", d.String(), msg)
	}
}

// checkHeaderOverride warns when a block's own add_header directives hide
// those of an enclosing level: nginx inherits add_header only into blocks
// that have none of their own, a classic way to lose security headers.
func checkHeaderOverride(out *findings, ho nginxconf.HeaderOverride) {
	for b := ho.Block; b != nil; b = b.Parent {
		for _, d := range b.Children("add_header_inherit") {
			if len(d.Args) > 0 && d.Args[0] == "merge" {
				return // nginx 1.29.3+ merges the levels instead
			}
		}
	}
	var names []string
	for _, h := range ho.Dropped {
		names = append(names, h.Args[0])
	}
	fromName, fromLine := "enclosing", 0
	if ho.From != nil {
		fromName, fromLine = ho.From.Name, ho.From.Pos.Line
	}
	out.add(npos(ho.Own[0].Pos), Warning, "add-header-inheritance",
		"add_header in this %s block drops the add_header directives of the enclosing %s block at line %d (%s): nginx inherits add_header only into blocks without their own; repeat them here (an include file helps)",
		ho.Block.Name, fromName, fromLine, strings.Join(names, ", "))
}
