package sim

import (
	"errors"
	"strings"
	"testing"
	"time"
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

// The knobs of the strict simulator read from a world file into options.
func TestWorldFileStrictKnobs(t *testing.T) {
	wf, err := ParseWorldFile("w.yaml", []byte(`faults: {schedulerThrottleRate: 0.5, registerTargetsError: "Rate exceeded"}
images:
  - {match: "*web*", elbTimeout: true}
foreignUpdates:
  - {service: web, afterUpdate: 40s, taskDefinition: "web:1"}
  - {cluster: c, service: web, at: 10m, desiredCount: 3}
`))
	if err != nil {
		t.Fatal(err)
	}
	if wf.Faults.SchedulerThrottleRate != 0.5 || wf.Faults.RegisterTargetsError != "Rate exceeded" || !wf.Images[0].ELBTimeout {
		t.Errorf("faults and images: %+v %+v", wf.Faults, wf.Images)
	}
	if len(wf.ForeignUpdates) != 2 || wf.ForeignUpdates[0].AfterUpdate != 40*time.Second || wf.ForeignUpdates[0].TaskDefinition != "web:1" ||
		wf.ForeignUpdates[1].At != 10*time.Minute || *wf.ForeignUpdates[1].DesiredCount != 3 {
		t.Errorf("foreign updates: %+v", wf.ForeignUpdates)
	}
	w := New(WithWorldFile(wf))
	if got := w.ForeignUpdates(); len(got) != 2 || got[0].Service != "web" {
		t.Errorf("the world holds %+v", got)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"foreignUpdates:\n  - {afterUpdate: 1m, desiredCount: 1}\n", "w.yaml:2:3: foreignUpdates[0] needs service:"},
		{"foreignUpdates:\n  - {service: web, at: 1m, afterUpdate: 1m, desiredCount: 1}\n", "sets both at and afterUpdate"},
		{"foreignUpdates:\n  - {service: web, at: 1m}\n", "changes nothing"},
		{"faults: {schedulerThrottleRate: 2}\n", "faults.schedulerThrottleRate must be between 0 and 1"},
	} {
		if _, err := ParseWorldFile("w.yaml", []byte(tc.yaml)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
