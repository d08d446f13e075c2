package ghaction

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// commandSplitter receives a command's standard output while the action keeps that
// output for itself (the JSON report): lines that are workflow commands (::add-mask::
// from the registry keychain, above all) go to the log at once, so the runner acts on
// them before anything could print a secret; everything else is kept in buf.
type commandSplitter struct {
	mu      sync.Mutex
	log     io.Writer
	buf     bytes.Buffer
	partial []byte
}

func (c *commandSplitter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := c.partial[:i+1]
		if bytes.HasPrefix(line, []byte("::")) {
			if _, err := c.log.Write(line); err != nil {
				return len(p), err
			}
		} else {
			c.buf.Write(line)
		}
		c.partial = c.partial[i+1:]
	}
}

// Bytes returns what the command printed that was not a workflow command.
func (c *commandSplitter) Bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append(c.buf.Bytes(), c.partial...)
}

// tail keeps the last n lines written through it, for a summary that has no report
// to show: the error the command printed last is usually the one that matters.
type tail struct {
	mu    sync.Mutex
	n     int
	lines []string
	cur   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cur = append(t.cur, p...)
	for {
		i := bytes.IndexByte(t.cur, '\n')
		if i < 0 {
			return len(p), nil
		}
		t.add(string(t.cur[:i]))
		t.cur = t.cur[i+1:]
	}
}

func (t *tail) add(line string) {
	// Workflow commands and group markers are for the runner, not for people.
	if strings.HasPrefix(line, "::") || strings.TrimSpace(line) == "" {
		return
	}
	t.lines = append(t.lines, line)
	if len(t.lines) > t.n {
		t.lines = t.lines[len(t.lines)-t.n:]
	}
}

// String returns the kept lines, the unfinished one included.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := t.lines
	if len(t.cur) > 0 {
		if len(lines) == t.n {
			lines = lines[1:]
		}
		lines = append(lines[:len(lines):len(lines)], string(t.cur))
	}
	return strings.Join(lines, "\n")
}

// Last returns the last line pier printed, the unfinished one included: where pier
// states why it stopped.
func (t *tail) Last() string {
	s := t.String()
	return s[strings.LastIndexByte(s, '\n')+1:]
}
