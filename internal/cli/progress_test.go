package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/pier-deploy/pier/internal/report"
)

// progressScript is two services rolling out at once, with a long wait.
func progressScript() []report.Progress {
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	wait := func(svc string, d time.Duration, msg string) report.Progress {
		return report.Progress{Time: at(d), Elapsed: d, Service: svc, Kind: report.Waiting, Message: msg,
			Wait: &report.Wait{Phase: "rollout", Running: 1, Desired: 2, Since: d - time.Second}}
	}
	ps := []report.Progress{
		{Time: t0, Kind: report.PhaseStart, Message: "plan"},
		{Time: at(time.Second), Elapsed: time.Second, Service: "backend", Kind: report.PhaseStart, Message: "rollout"},
		{Time: at(time.Second), Elapsed: time.Second, Service: "nexus", Kind: report.PhaseStart, Message: "scale-down"},
		{Time: at(4 * time.Second), Elapsed: 4 * time.Second, Service: "backend", Kind: report.ECSEvent, Message: "(service backend) has started 2 tasks."},
	}
	// A poll round every 6 s for two and a half minutes.
	for d := 7 * time.Second; d <= 150*time.Second; d += 6 * time.Second {
		ps = append(ps, wait("backend", d, "1 of 2 new tasks running, waiting for target health"))
	}
	ps = append(ps,
		report.Progress{Time: at(10 * time.Second), Elapsed: 10 * time.Second, Service: "nexus", Kind: report.Note, Message: "every task is STOPPED"},
		report.Progress{Time: at(151 * time.Second), Elapsed: 151 * time.Second, Service: "backend", Kind: report.Note, Message: "success: ecs-backend-task:2"},
	)
	return ps
}

func renderProgress(t *testing.T, env map[string]string) string {
	t.Helper()
	var out strings.Builder
	v := newProgressView(&Env{Stderr: &out, Getenv: func(k string) string { return env[k] }})
	for _, p := range progressScript() {
		v.Progress(p)
	}
	v.Close()
	return out.String()
}

func TestProgressLog(t *testing.T) {
	out := renderProgress(t, nil)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[0] != "==> plan" {
		t.Errorf("the run's phase is a header: %q", lines[0])
	}
	var beats []string
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "==> ") {
			t.Errorf("a service phase as a header, suggesting an order: %q", l)
		}
		if !strings.Contains(l, "] backend: ") && !strings.Contains(l, "] nexus: ") {
			t.Errorf("a line without its service: %q", l)
		}
		if strings.Contains(l, "waiting for") {
			beats = append(beats, l)
		}
	}
	// 24 rounds over 150 s; the first heartbeat once the wait lasted 30 s,
	// then at most one per 30 s.
	want := []string{
		"[   31s] backend: 1 of 2 new tasks running, waiting for target health, 30s",
		"[ 1m01s] backend: 1 of 2 new tasks running, waiting for target health, 1m00s",
		"[ 1m31s] backend: 1 of 2 new tasks running, waiting for target health, 1m30s",
		"[ 2m01s] backend: 1 of 2 new tasks running, waiting for target health, 2m00s",
	}
	if strings.Join(beats, "\n") != strings.Join(want, "\n") {
		t.Errorf("heartbeats:\n%s\nwant\n%s", strings.Join(beats, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(out, "[    1s] backend: rollout\n") || !strings.Contains(out, "[    1s] nexus: scale-down\n") {
		t.Errorf("phases are lines of their service:\n%s", out)
	}
}

func TestProgressGitHubActions(t *testing.T) {
	out := renderProgress(t, map[string]string{"GITHUB_ACTIONS": "true"})
	// Each service's phase is one group, written whole; heartbeats stay live
	// between the groups (a group opens only when the phase it holds ends).
	want := "==> plan\n" +
		"[   31s] backend: 1 of 2 new tasks running, waiting for target health, 30s\n" +
		"[ 1m01s] backend: 1 of 2 new tasks running, waiting for target health, 1m00s\n" +
		"[ 1m31s] backend: 1 of 2 new tasks running, waiting for target health, 1m30s\n" +
		"[ 2m01s] backend: 1 of 2 new tasks running, waiting for target health, 2m00s\n" +
		"::group::backend: rollout\n[    1s] backend: rollout\n[    4s] backend: 09:00:04 (service backend) has started 2 tasks.\n[ 2m31s] backend: success: ecs-backend-task:2\n::endgroup::\n" +
		"::group::nexus: scale-down\n[    1s] nexus: scale-down\n[   10s] nexus: every task is STOPPED\n::endgroup::\n"
	if out != want {
		t.Errorf("actions log:\n%s\nwant\n%s", out, want)
	}
}

func TestProgressStatusBlock(t *testing.T) {
	var out strings.Builder
	v := &progressView{w: &out, mode: terminalView, beat: map[string]time.Time{}, status: map[string]string{}, group: map[string]*phaseGroup{}}
	ps := progressScript()
	for _, p := range ps[:5] {
		v.Progress(p)
	}
	screen := out.String()
	// An event prints above the block; the block is two lines, one per
	// service, redrawn after erasing the last one (up 2 lines, clear to
	// the end); a wait only redraws it.
	erase := "\033[2F\033[J"
	want := erase + "[    4s] backend: 09:00:04 (service backend) has started 2 tasks.\n" +
		"  backend  rollout\n  nexus    scale-down\n" + erase +
		"  backend  rollout: 1 of 2 new tasks running, waiting for target health, 6s\n" +
		"  nexus    scale-down\n"
	if !strings.HasSuffix(screen, want) {
		t.Errorf("screen:\n%q\nwant it to end in\n%q", screen, want)
	}
	v.Close()
	if !strings.HasSuffix(out.String(), "\033[2F\033[J") {
		t.Errorf("Close leaves the block on the screen: %q", out.String()[max(0, out.Len()-40):])
	}
}

// A sandbox deploy, whose rollouts wait minutes of virtual time: service
// lines carry their service, and the waits say what they wait for.
func TestProgressSandboxDeploy(t *testing.T) {
	s := newSandboxEnv(t)
	code, out, errs := s.run(t, "deploy")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, re := range []string{
		`(?m)^\[ *\d+m\d\ds\] backend: 2 of 2 new tasks running, waiting for [^,]+, \d+m\d\ds$`,
		`(?m)^\[ *\d+m?\d+s\] nexus: no task running, waiting for the stopping tasks to drain from the load balancer and reach STOPPED, \d+m?\d+s$`,
	} {
		if !regexpMatch(re, errs) {
			t.Errorf("no heartbeat matching %s:\n%s", re, errs)
		}
	}
	if regexpMatch(`(?m)^==> \S+ \S+`, errs) {
		t.Errorf("a service phase as a header:\n%s", errs)
	}
}
