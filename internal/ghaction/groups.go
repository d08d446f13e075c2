package ghaction

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// PhaseMarker is the prefix with which pier's text progress starts a phase
// ("==> push"); GroupPhases opens a log group at each such line.
const PhaseMarker = "==> "

// GroupPhases returns a writer that copies lines to w and folds them into collapsed log
// groups. A line starting with PhaseMarker for a run-level phase ("==> build") closes
// the open group and opens one titled with the phase. The services roll out in
// parallel, so pier writes their lines itself as one ::group:: per service and phase
// ("::group::backend: rollout"), each whole when its phase ends, with heartbeats
// between them: such a group closes the open phase group first (groups do not nest),
// and the lines after it stay outside any group until the next phase. Lines before the
// first phase stay outside any group. Close ends the last group. It is safe for
// concurrent use; lines are never split.
func GroupPhases(w io.Writer) io.WriteCloser { return &groupWriter{w: w} }

type groupWriter struct {
	mu    sync.Mutex
	w     io.Writer
	buf   []byte
	open  bool
	title string // of the open group
}

func (g *groupWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.buf = append(g.buf, p...)
	for {
		i := bytes.IndexByte(g.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		if err := g.line(g.buf[:i+1]); err != nil {
			return len(p), err
		}
		g.buf = g.buf[i+1:]
	}
}

func (g *groupWriter) line(l []byte) error {
	if strings.HasPrefix(string(l), "::group::") && g.open {
		// pier's own group of a service's phase.
		g.open = false
		if _, err := io.WriteString(g.w, "::endgroup::\n"); err != nil {
			return err
		}
	}
	if title, ok := strings.CutPrefix(strings.TrimRight(string(l), "\r\n"), PhaseMarker); ok {
		title = strings.TrimSpace(title)
		if !g.open || title != g.title {
			var hdr strings.Builder
			if g.open {
				hdr.WriteString("::endgroup::\n")
			}
			hdr.WriteString("::group::" + escapeData(title) + "\n")
			g.open, g.title = true, title
			if _, err := io.WriteString(g.w, hdr.String()); err != nil {
				return err
			}
		}
	}
	_, err := g.w.Write(l)
	return err
}

// Close writes a trailing partial line and ends the open group.
func (g *groupWriter) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.buf) > 0 {
		if err := g.line(append(g.buf, '\n')); err != nil {
			return err
		}
		g.buf = nil
	}
	if g.open {
		g.open = false
		_, err := io.WriteString(g.w, "::endgroup::\n")
		return err
	}
	return nil
}

// escapeData escapes a workflow command's message the way the runner expects.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// Mask returns a function that prints ::add-mask:: for a secret to w, the process's
// standard output, so the runner hides it in every later log line. Code that fetches a
// registry password calls it before anything could print the password.
func Mask(w io.Writer) func(secret string) {
	var mu sync.Mutex
	return func(secret string) {
		if secret == "" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		io.WriteString(w, "::add-mask::"+escapeData(secret)+"\n")
	}
}
