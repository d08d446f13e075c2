package ghaction

import (
	"fmt"
	"regexp"
	"strings"
)

// Gantt renders spans as a Mermaid gantt chart in a ```mermaid block, which GitHub
// draws in job summaries. Times are Unix milliseconds (dateFormat x), so sub-second
// phases keep their length; the axis shows the reader's local wall clock. It returns ""
// when no span has a start.
func Gantt(title string, spans []Span) string {
	var b strings.Builder
	section := "\x00"
	n := 0
	for _, s := range spans {
		if s.Start.IsZero() {
			continue
		}
		if n == 0 {
			// No today marker: the chart is read after the run (and a sandbox run's
			// virtual clock is not today), so a "now" line only lands off the bars.
			fmt.Fprintf(&b, "```mermaid\ngantt\n    title %s\n    dateFormat x\n    axisFormat %%H:%%M:%%S\n    todayMarker off\n", mermaidText(title))
		}
		n++
		if s.Section != section {
			section = s.Section
			fmt.Fprintf(&b, "    section %s\n", mermaidText(nonEmpty(section, "run")))
		}
		start := s.Start.UnixMilli()
		end := s.End.UnixMilli()
		// A bar needs a length to be seen; an unfinished span gets the smallest one.
		if end <= start {
			end = start + 1
		}
		tag := "done"
		if s.Failed {
			tag = "crit"
		}
		fmt.Fprintf(&b, "    %s :%s, t%d, %d, %d\n", mermaidTask(nonEmpty(s.Name, "step")), tag, n, start, end)
	}
	if n == 0 {
		return ""
	}
	b.WriteString("```\n")
	return b.String()
}

// mermaidText removes what would end a gantt task name or title early: the ':' that
// starts a task's data, '#' and ';' (comments and statement ends), '%' (Mermaid's lexer
// reads "a%b" as a comment and drops the task) and line breaks.
func mermaidText(s string) string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ':', '#', ';', '%', '\n', '\r':
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// mermaidKeyword matches the start of a line that Mermaid's gantt lexer (case
// insensitive, first rule wins) reads as a statement rather than a task name.
var mermaidKeyword = regexp.MustCompile(`(?i)^(gantt|dateformat|inclusiveenddates|topaxis|axisformat|tickinterval|includes|excludes|todaymarker|weekday|title|accdescription|acctitle|accdescr|section|click|call|href)\b|^\d{4}-\d\d-\d\d`)

// mermaidTask is mermaidText for a task name, which must not read as a statement: a
// service called "title" would otherwise become the chart's title.
func mermaidTask(s string) string {
	s = mermaidText(s)
	if mermaidKeyword.MatchString(s) {
		s = "› " + s
	}
	return s
}

func nonEmpty(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}
