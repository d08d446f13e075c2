package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pier-deploy/pier/internal/report"
)

// heartbeatEvery is how often, at most, a long wait says what it waits for
// in a log: on the run's clock, so virtual time under the sandbox.
const heartbeatEvery = 30 * time.Second

// progressView prints the engine's progress on stderr while services roll
// out in parallel. Every line of a service is prefixed with its name, and
// a wait says what it waits for at most every heartbeatEvery. How it is
// shown depends on who watches:
//
//   - a log (a pipe, a file, CI): one line per event, as it happens;
//   - a terminal: the same lines, and below them a live status block with
//     one line per service, redrawn in place;
//   - GitHub Actions: one collapsed ::group:: per service and phase, written
//     whole when the phase ends (lines of parallel services would otherwise
//     land in each other's groups), with the heartbeats between them live.
type progressView struct {
	mu   sync.Mutex
	w    io.Writer
	mode viewMode

	beat map[string]time.Time // per service: when its last heartbeat was shown

	// terminal: the status of each service, in first-seen order, and how
	// many lines of the block are on the screen.
	status map[string]string
	order  []string
	drawn  int

	// GitHub Actions: the lines of each service's current phase.
	group map[string]*phaseGroup
}

type viewMode int

const (
	logView viewMode = iota
	terminalView
	actionsView
)

type phaseGroup struct {
	title string
	lines []string
}

func newProgressView(env *Env) *progressView {
	v := &progressView{w: env.Stderr, beat: map[string]time.Time{}, status: map[string]string{}, group: map[string]*phaseGroup{}}
	switch {
	case env.Getenv("GITHUB_ACTIONS") == "true":
		v.mode = actionsView
	case isTerminal(env.Stderr, env.Getenv):
		v.mode = terminalView
	}
	return v
}

// Progress shows one piece of progress (deploy.Observer).
func (v *progressView) Progress(p report.Progress) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if p.Service == "" {
		v.print(report.ProgressLine(p))
		return
	}
	if !slices.Contains(v.order, p.Service) {
		v.order = append(v.order, p.Service)
	}
	if p.Kind == report.PhaseStart {
		delete(v.beat, p.Service) // a new wait starts its own count
	}
	v.status[p.Service] = statusOf(p, v.status[p.Service])
	switch v.mode {
	case terminalView:
		if p.Kind != report.Waiting {
			v.print(report.ProgressLine(p))
		} else {
			v.redraw()
		}
	case actionsView:
		if p.Kind == report.Waiting {
			if v.due(p) {
				v.print(report.ProgressLine(p))
			}
			return
		}
		g := v.group[p.Service]
		if p.Kind == report.PhaseStart || g == nil {
			v.flush(p.Service)
			title := p.Service
			if p.Kind == report.PhaseStart {
				title += ": " + p.Message
			}
			g = &phaseGroup{title: title}
			v.group[p.Service] = g
		}
		g.lines = append(g.lines, report.ProgressLine(p))
	default:
		if p.Kind != report.Waiting || v.due(p) {
			fmt.Fprintln(v.w, report.ProgressLine(p))
		}
	}
}

// due reports whether a wait's heartbeat should be shown now: once the
// wait has lasted heartbeatEvery, then every heartbeatEvery.
func (v *progressView) due(p report.Progress) bool {
	last, shown := v.beat[p.Service]
	if !shown && (p.Wait == nil || p.Wait.Since < heartbeatEvery) {
		return false
	}
	if shown && p.Time.Sub(last) < heartbeatEvery {
		return false
	}
	v.beat[p.Service] = p.Time
	return true
}

// Close ends the view before the report prints: the open groups are
// written and the status block leaves the screen.
func (v *progressView) Close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, s := range v.order {
		v.flush(s)
	}
	v.erase()
	v.order = nil
}

// flush writes a service's open phase group, whole.
func (v *progressView) flush(service string) {
	g := v.group[service]
	if g == nil {
		return
	}
	delete(v.group, service)
	var b strings.Builder
	b.WriteString("::group::" + strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(g.title) + "\n")
	for _, l := range g.lines {
		b.WriteString(l + "\n")
	}
	b.WriteString("::endgroup::\n")
	io.WriteString(v.w, b.String())
}

// print writes a line above the status block.
func (v *progressView) print(line string) {
	v.erase()
	fmt.Fprintln(v.w, line)
	v.redraw()
}

// statusWidth keeps each status line on one terminal row, so the block can
// be erased by counting lines.
const statusWidth = 78

func (v *progressView) redraw() {
	if v.mode != terminalView || len(v.order) == 0 {
		return
	}
	v.erase()
	width := 0
	for _, s := range v.order {
		width = max(width, len(s))
	}
	var b strings.Builder
	for _, s := range v.order {
		line := fmt.Sprintf("  %-*s  %s", width, s, v.status[s])
		if r := []rune(line); len(r) > statusWidth {
			line = string(r[:statusWidth-1]) + "…"
		}
		b.WriteString(line + "\n")
	}
	io.WriteString(v.w, b.String())
	v.drawn = len(v.order)
}

// erase removes the status block: up to its first line, then clear to the
// end of the screen.
func (v *progressView) erase() {
	if v.drawn == 0 {
		return
	}
	fmt.Fprintf(v.w, "\033[%dF\033[J", v.drawn)
	v.drawn = 0
}

// statusOf is a service's line in the status block after p.
func statusOf(p report.Progress, prev string) string {
	switch p.Kind {
	case report.PhaseStart:
		return p.Message
	case report.Waiting:
		s := p.Message + ", " + report.Elapsed(p.Wait.Since)
		if p.Wait.Phase != "" {
			s = p.Wait.Phase + ": " + s
		}
		return s
	case report.Error:
		return p.Message
	case report.Note:
		if strings.HasPrefix(p.Message, "success:") || strings.HasPrefix(p.Message, "no changes:") {
			return p.Message
		}
	}
	return prev
}
