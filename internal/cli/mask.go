package cli

import (
	"strings"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/ghaction"
	"github.com/pier-deploy/pier/internal/redact"
	"github.com/pier-deploy/pier/internal/taskdef"
)

// maskSecrets prints ::add-mask:: for every sensitive value of the services'
// task definitions (redact.Field: DB_PASSWORD's value, an AWS key in any
// field) when pier runs in a GitHub workflow, right after pier.yaml is read
// and before anything could print them. pier's own outputs show stand-ins
// anyway (plan.Fields.Diff); the masks keep the values out of the log even
// where a message pier does not write quotes them. A multi-line value (a PEM
// key) is masked whole and line by line, as the runner matches lines.
func maskSecrets(env *Env, services []*config.Service) {
	if env.Getenv("GITHUB_ACTIONS") != "true" {
		return
	}
	mask := ghaction.Mask(env.Stdout)
	seen := map[string]bool{}
	for _, s := range services {
		td, err := taskdef.Load(s.TaskDefinition)
		if err != nil {
			continue // the command reports it where it reads the file for its work
		}
		f, err := td.Fields()
		if err != nil {
			continue
		}
		for _, v := range f.Secrets() {
			for _, part := range append([]string{v}, strings.Split(v, "\n")...) {
				part = strings.TrimSpace(part)
				if len(part) >= redact.MinLength && !seen[part] {
					seen[part] = true
					mask(part)
				}
			}
		}
	}
}
