package ghaction

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"sync"
)

// positionLine matches what pier prints about a place in an input file:
// "file:line:col: [severity: ]message" (lint findings during deploy and plan, pier.yaml
// and task-definition errors). The file has no spaces or colons, so log lines such as
// "pier: sandbox at http://127.0.0.1:PORT" do not match.
var positionLine = regexp.MustCompile(`^([^\s:]+):(\d+):(\d+): (?:(error|warning|info|notice): )?(.+)$`)

// AnnotatePositions returns a writer that copies lines to w, except that a line about a
// position in a file becomes an ::error / ::warning / ::notice annotation carrying the
// same text, so GitHub shows it on that file line as it does for `command: lint`. A line
// without a severity (a syntax error in pier.yaml) is an error. Paths are resolved as
// Annotate resolves them. It is safe for concurrent use; Close writes a trailing
// partial line.
func AnnotatePositions(w io.Writer, dir, workspace string) io.WriteCloser {
	return &positionWriter{w: w, dir: dir, workspace: workspace}
}

type positionWriter struct {
	mu             sync.Mutex
	w              io.Writer
	dir, workspace string
	buf            []byte
}

func (p *positionWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		if err := p.line(string(p.buf[:i+1])); err != nil {
			return len(b), err
		}
		p.buf = p.buf[i+1:]
	}
}

func (p *positionWriter) line(l string) error {
	text := strings.TrimRight(l, "\r\n")
	m := positionLine.FindStringSubmatch(text)
	if m == nil {
		_, err := io.WriteString(p.w, l)
		return err
	}
	kind := "error"
	switch m[4] {
	case "warning":
		kind = "warning"
	case "info", "notice":
		kind = "notice"
	}
	cmd := "::" + kind + " file=" + escapeProperty(repoPath(m[1], p.dir, p.workspace)) +
		",line=" + m[2] + ",col=" + m[3] + ",title=pier::" + escapeData(text) + "\n"
	_, err := io.WriteString(p.w, cmd)
	return err
}

// Close writes what is left of a last line without a newline.
func (p *positionWriter) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) == 0 {
		return nil
	}
	err := p.line(string(p.buf) + "\n")
	p.buf = nil
	return err
}

// escapeProperty escapes a workflow command's property value the way the runner expects.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
