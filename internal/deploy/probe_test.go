package deploy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pier-deploy/pier/internal/deploy"
	"github.com/pier-deploy/pier/internal/plan"
	"github.com/pier-deploy/pier/internal/sim"
)

// Before any change, pier asks each health URL once from where it runs: a
// URL it cannot reach would fail the check after the rollout for sure.
func TestProbeHealthBeforeTheChange(t *testing.T) {
	tests := []struct {
		name  string
		url   string
		opts  []sim.Option
		check plan.Severity // "" = no health-check finding
		says  string
	}{
		{"reachable, answers 200", nexusURL, []sim.Option{sim.WithHealthURL(nexusURL, "inforum", "nexus")}, "", ""},
		{"not reachable from here", "http://nexus.vpc-only.internal:8081/status", nil, plan.Warning, "does not answer from here before the change"},
		{"answers 503 now", nexusURL, []sim.Option{sim.WithHealthURL(nexusURL, "inforum", "nexus"),
			sim.WithImageBehavior("nexus3:3.70.0", sim.ImageBehavior{HealthURLFails: true})}, plan.Info, "answers HTTP 503 before the change"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts...)
			e.inforum(t, 100, 4096, 4096)
			spec := nexusSpec(t, "3.72.0")
			spec.Health = &plan.HealthCheck{URL: tt.url, Timeout: 3 * time.Minute}
			p, _, err := planOnly(e, spec)
			if err != nil {
				t.Fatal(err)
			}
			deploy.ProbeHealth(context.Background(), e.srv.HTTPClient(), p, []deploy.Spec{spec})
			var got *plan.Finding
			for i, f := range p.Services[0].Findings {
				if f.Check == "health-check" {
					got = &p.Services[0].Findings[i]
				}
			}
			switch {
			case tt.check == "" && got != nil:
				t.Errorf("unexpected finding %+v", got)
			case tt.check != "" && (got == nil || got.Severity != tt.check || !strings.Contains(got.Message, tt.says)):
				t.Errorf("finding %+v, want %s saying %q", got, tt.check, tt.says)
			}
		})
	}
}
