package sim

import (
	"errors"
	"testing"
)

func TestParseWorldFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown top-level field", "speeed: 3\n", "w.yaml:1:1: field speeed not found in type sim.WorldFile"},
		{"unknown service field", "services:\n  web:\n    desired: 2\n", "w.yaml:3:5: field desired not found in type sim.WorldService"},
		{"rate out of range", "faults:\n  throttleRate: 1.5\n", "w.yaml:2:17: faults.throttleRate must be between 0 and 1, not 1.5"},
		{"bad percent", "services:\n  web: {maximumPercent: 300}\n", "w.yaml:2:25: services.web.maximumPercent must be between 100 and 200"},
		{"image rule without match", "images:\n  - crash: true\n", "w.yaml:2:3: images[0] needs match: (a glob or substring of the image reference)"},
		{"bad duration", "images:\n  - {match: x, crashAfter: soon}\n", "w.yaml:2:28: cannot unmarshal !!str `soon` into time.Duration"},
		{"unknown timing", "timing:\n  boot: 3s\n", `w.yaml:2:9: timing: unknown step "boot" (provision, pull, stop, deprovision, conflictExit, stoppedRetention, stableAfter, steadyAfter)`},
		{"instances", "clusters:\n  c:\n    instances: [{cpu: 0, memory: 1}]\n", "w.yaml:3:16: clusters.c.instances[0] needs a positive cpu and memory (and count ≥ 0)"},
		{"syntax", "speed: [\n", "w.yaml:1:1: did not find expected node content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseWorldFile("w.yaml", []byte(tc.yaml))
			var we *WorldError
			if !errors.As(err, &we) {
				t.Fatalf("error %v (%T), want a *WorldError", err, err)
			}
			if err.Error() != tc.want {
				t.Errorf("got  %s\nwant %s", err, tc.want)
			}
		})
	}
}

func FuzzParseWorldFile(f *testing.F) {
	for _, seed := range []string{
		"seed: 7\nspeed: 30\n",
		"clusters:\n  c:\n    instances: [{cpu: 4096, memory: 15742, count: 2}]\n",
		"images:\n  - {match: '*nginx*', crash: true, exitCode: 137, crashAfter: 5s}\n",
		"faults: {throttleRate: 0.1, operations: [DescribeServices]}\ntiming: {pull: 3s}\n",
		"services:\n  web: {desiredCount: 2, circuitBreaker: {enable: true}}\n",
		"[", "", "~", "speed: -1",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		wf, err := ParseWorldFile("fuzz.yaml", data)
		if err != nil {
			var we *WorldError
			if !errors.As(err, &we) {
				t.Fatalf("error %v is not a *WorldError", err)
			}
			return
		}
		// A valid world file builds a world.
		New(wf.Options()...)
	})
}
