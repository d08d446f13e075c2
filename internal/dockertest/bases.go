package dockertest

import "testing"

// The stand-ins for the official bases of pier's builders (image.DefaultNginxBase,
// DefaultNodeBase, DefaultSpringBootBase), made from Debian's packages. Each
// adds only what the official image has and a Debian package does not.

// NginxBase is bookworm with Debian's nginx, run as the official nginx image
// runs it: `nginx -g "daemon off;"` in the foreground, logs to the container's
// output, and a system user "nginx" (the official image's; Debian's package
// runs as www-data), which an nginx.conf written for that image names in
// `user nginx;`.
func NginxBase(tb testing.TB) *Base {
	tb.Helper()
	return DebianBaseWith(tb, Spec{
		Name:     "nginx",
		Packages: []string{"nginx"},
		Cmd:      []string{"nginx", "-g", "daemon off;"},
		Script: `useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group nginx
ln -sf /dev/stdout /var/log/nginx/access.log
ln -sf /dev/stderr /var/log/nginx/error.log`,
	})
}

// NodeBase is bookworm with Debian's nodejs, and a user 1000 named node as
// in the official node image.
func NodeBase(tb testing.TB) *Base {
	tb.Helper()
	return DebianBaseWith(tb, Spec{
		Name:     "node",
		Packages: []string{"nodejs"},
		Cmd:      []string{"node"},
		Script:   `useradd --uid 1000 --user-group --create-home --shell /bin/bash node`,
	})
}

// JREBase is bookworm with Debian's headless OpenJDK 17 runtime: `java` on PATH.
func JREBase(tb testing.TB) *Base {
	tb.Helper()
	return DebianBaseWith(tb, Spec{
		Name:     "jre",
		Packages: []string{"openjdk-17-jre-headless"},
		Cmd:      []string{"jshell"},
	})
}
