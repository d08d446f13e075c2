package lint

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/nginxconf"
)

// ErrNoNginx reports that NginxTest was asked for but no nginx is installed.
var ErrNoNginx = nginxconf.ErrNoNginx

// nginxWhere finds "in FILE:LINE" in nginx's messages.
var nginxWhere = regexp.MustCompile(` in (\S+):(\d+)\s*$`)

// NginxTest runs the real `nginx -t` on the config of every nginx image,
// with the image's files: in place, and reports each failure as an error
// finding on the line nginx names. It is separate from Check because it
// depends on the nginx installed on the machine, and needs it: without
// nginx it returns ErrNoNginx.
func NginxTest(ctx context.Context, in *Input) ([]Finding, error) {
	var out findings
	for _, img := range in.Config.Images {
		if _, ok := in.Nginx[img.Name]; !ok {
			continue
		}
		err := nginxconf.Check(ctx, img.Nginx.Config, img.Nginx.Files)
		switch {
		case err == nil:
			continue
		case errors.Is(err, nginxconf.ErrNoNginx):
			return nil, fmt.Errorf("running nginx -t for image %q: %w: install nginx, or run lint without --nginx", img.Name, err)
		case ctx.Err() != nil:
			return nil, ctx.Err()
		}
		msg := strings.TrimPrefix(err.Error(), "checking "+img.Nginx.Config+" with nginx -t: ")
		for _, line := range strings.Split(msg, "\n") {
			line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "nginx:"))
			if line == "" {
				continue
			}
			pos := img.Nginx.Pos
			if m := nginxWhere.FindStringSubmatch(line); m != nil {
				n, _ := strconv.Atoi(m[2])
				pos = config.Pos{File: m[1], Line: n, Col: 1}
				line = strings.TrimSuffix(line, m[0])
			}
			out.add(pos, Error, "nginx-test", "nginx -t rejects the config of image %q: %s", img.Name, line)
		}
	}
	Sort(out)
	return out, nil
}
