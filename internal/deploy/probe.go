package deploy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/pier-deploy/pier/internal/plan"
)

// ProbeHealth asks the healthCheck.url of each service that will change
// once, before anything changes, and adds what it found to the plan. The
// check after the rollout runs from where pier runs: a URL this machine
// cannot reach (a private DNS name seen from a hosted CI runner) fails that
// check for sure, and pier then reverses a good deploy after the check's
// timeout. specs are in the plan's service order, as Plan takes them.
func ProbeHealth(ctx context.Context, client *http.Client, p *plan.Plan, specs []Spec) {
	for i := range p.Services {
		s := &p.Services[i]
		if i >= len(specs) || specs[i].Health == nil || specs[i].Health.URL == "" || !s.Changed() {
			continue
		}
		h := specs[i].Health
		timeout := h.Timeout
		if timeout <= 0 {
			timeout = defaultHealthTimeout
		}
		code, err := probe(ctx, client, h.URL)
		switch {
		case err != nil:
			s.Findings = append(s.Findings, plan.Finding{Severity: plan.Warning, Check: "health-check",
				Message: fmt.Sprintf("%s does not answer from here before the change (%v); the check after the rollout runs from here too, so it would fail after %s and pier would reverse the deploy", h.URL, err, plan.Duration(timeout)),
				Fix:     fmt.Sprintf("run pier where the URL is reachable (a runner inside the VPC), or remove healthCheck: from services.%s", s.Name)})
		case code/100 != 2:
			s.Findings = append(s.Findings, plan.Finding{Severity: plan.Info, Check: "health-check",
				Message: fmt.Sprintf("%s answers HTTP %d before the change; the new revision must make it answer 2xx within %s", h.URL, code, plan.Duration(timeout))})
		}
	}
}

// defaultHealthTimeout is how long the check after a rollout waits for a
// 2xx answer when healthCheck.timeout is not set.
const defaultHealthTimeout = 5 * time.Minute

func probe(ctx context.Context, client *http.Client, url string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("checking %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, nil
}
