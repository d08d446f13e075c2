package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/taskdef"
)

func init() {
	register(&command{
		name:  "render",
		usage: "[service]",
		short: "print the RegisterTaskDefinition input pier would send",
		long: `Prints, as JSON, the exact RegisterTaskDefinition input pier would send for a service:
the task definition file with the read-only fields of describe-task-definition removed and the
images of the containers pier builds substituted. With no service, prints an object with one
entry per service, in file order.

pier pins built images by digest when it deploys, but the digest is only known after a build,
so render shows those images as REGISTRY/REPOSITORY:TAG (registry: from pier.yaml, else
ACCOUNT.dkr.ecr.REGION.amazonaws.com with the region filled in; tag: from pier.yaml, left out
when unset).
Containers pier does not build keep the image written in the task definition.

render prints environment values exactly as written, secrets included (DB_PASSWORD=…): its
output is an input for aws ecs register-task-definition --cli-input-json. plan and deploy
show such values as stand-ins; pier lint warns about them (use secrets with valueFrom).`,
		flags: func(_ *flag.FlagSet, env *Env) func(context.Context, []string) int {
			return func(ctx context.Context, args []string) int {
				if len(args) > 1 {
					fmt.Fprintf(env.Stderr, "pier render: too many arguments: give at most one service name\n")
					return ExitUsage
				}
				f, err := config.Load(env.File, env.Getenv)
				if err != nil {
					printInputError(env, "render", err)
					return ExitUsage
				}
				services, err := f.SelectServices(args...)
				if err != nil {
					fmt.Fprintf(env.Stderr, "pier render: %v\n", err)
					return ExitUsage
				}
				var out bytes.Buffer
				if len(args) == 0 {
					out.WriteString("{")
				}
				for i, s := range services {
					js, err := renderService(f, s)
					if err != nil {
						printInputError(env, "render", err)
						return ExitUsage
					}
					if len(args) == 1 {
						out.Write(js)
						continue
					}
					if i > 0 {
						out.WriteString(",")
					}
					key, _ := json.Marshal(s.Name)
					fmt.Fprintf(&out, "\n  %s: %s", key, bytes.TrimRight(bytes.ReplaceAll(js, []byte("\n"), []byte("\n  ")), " \n"))
				}
				if len(args) == 0 {
					out.WriteString("\n}\n")
				}
				if _, err := env.Stdout.Write(out.Bytes()); err != nil {
					fmt.Fprintf(env.Stderr, "pier render: %v\n", err)
					return ExitFailed
				}
				return ExitOK
			}
		},
	})
}

// renderService returns the RegisterTaskDefinition input JSON for s.
func renderService(f *config.File, s *config.Service) ([]byte, error) {
	td, err := taskdef.Load(s.TaskDefinition)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, &config.Error{Pos: s.Pos, Msg: fmt.Sprintf("service %q: task definition: %v", s.Name, pe)}
		}
		return nil, err // positioned parse errors, printed as they are
	}
	images := map[string]string{}
	repos := map[string]string{}
	for _, img := range f.Images {
		repos[img.Name] = img.Repository
	}
	for c, img := range s.Containers {
		ref := renderRegistry(f) + "/" + repos[img]
		if f.Tag != "" {
			ref += ":" + f.Tag
		}
		images[c] = ref
	}
	td = td.WithImages(images)
	if _, err := td.RegisterInput(); err != nil {
		return nil, fmt.Errorf("rendering service %q: %w", s.Name, err)
	}
	return td.JSON(), nil
}

// renderRegistry is the registry host images are pushed to; without one in
// pier.yaml it is the caller's account ECR, unknown offline.
func renderRegistry(f *config.File) string {
	if f.Registry != "" {
		return f.Registry
	}
	region := f.Region
	if region == "" {
		region = "REGION"
	}
	return "ACCOUNT.dkr.ecr." + region + ".amazonaws.com"
}
