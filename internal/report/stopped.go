package report

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// StoppedGroup is the stopped tasks of a service that ended for one reason:
// a pull failure that stopped twelve tasks is one line, not twelve.
type StoppedGroup struct {
	Reason string      `json:"reason"` // the reason and container exits, as stoppedText words them
	Count  int         `json:"count"`
	Newest StoppedTask `json:"newest"` // the last to stop
}

// MaxStoppedGroups is how many reasons text and Markdown show per service;
// the JSON report keeps every stopped task.
const MaxStoppedGroups = 5

// maxReason caps one reason in text and Markdown (ECS's pull errors run to
// hundreds of characters).
const maxReason = 300

// GroupStopped groups tasks by their reason, the most frequent reason
// first (then the most recent). The newest of a group is the one with the
// latest stop time, or the last listed where ECS gave none.
func GroupStopped(tasks []StoppedTask) []StoppedGroup {
	var groups []StoppedGroup
	index := map[string]int{}
	last := map[string]int{} // position of each group's newest task, to order ties
	for i, t := range tasks {
		key := stoppedText(t)
		g, ok := index[key]
		if !ok {
			g = len(groups)
			index[key] = g
			groups = append(groups, StoppedGroup{Reason: key})
		}
		groups[g].Count++
		if groups[g].Count == 1 || !t.Stopped.Before(groups[g].Newest.Stopped) {
			groups[g].Newest, last[key] = t, i
		}
	}
	sort.SliceStable(groups, func(i, j int) bool {
		a, b := groups[i], groups[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if !a.Newest.Stopped.Equal(b.Newest.Stopped) {
			return a.Newest.Stopped.After(b.Newest.Stopped)
		}
		return last[a.Reason] > last[b.Reason]
	})
	return groups
}

// StoppedLines words a service's stopped tasks for a person: one line per
// reason, "12 tasks stopped: CannotPullContainerError: … (newest: task
// 0a1b at 01:02:03)", at most max reasons, then one line for the rest.
func StoppedLines(tasks []StoppedTask, max int) []string {
	groups := GroupStopped(tasks)
	var out []string
	for i, g := range groups {
		if i == max {
			rest, reasons := 0, len(groups)-max
			for _, g := range groups[max:] {
				rest += g.Count
			}
			out = append(out, fmt.Sprintf("… and %s for %d other reason%s (every task is in --output json)", plural(rest, "task"), reasons, plurals(reasons)))
			break
		}
		newest := "task " + g.Newest.ID
		if !g.Newest.Stopped.IsZero() {
			newest += " at " + g.Newest.Stopped.UTC().Format(time.TimeOnly)
		}
		if g.Count == 1 {
			out = append(out, fmt.Sprintf("1 task stopped (%s): %s", newest, Shorten(g.Reason, maxReason)))
			continue
		}
		out = append(out, fmt.Sprintf("%s stopped: %s (newest: %s)", plural(g.Count, "task"), Shorten(g.Reason, maxReason), newest))
	}
	return out
}

func plural(n int, what string) string { return fmt.Sprintf("%d %s%s", n, what, plurals(n)) }

func plurals(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// Shorten cuts s to at most n characters, marking the cut with "…".
func Shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

// stoppedText is why a task stopped: ECS's reason, then each container that
// exited or has a reason of its own. A container reason that only repeats
// the task's (a pull failure puts the same text in both) is not said twice.
func stoppedText(t StoppedTask) string {
	parts := []string{t.Reason}
	for _, c := range t.Containers {
		p := c.Name
		if c.ExitCode != nil {
			p += fmt.Sprintf(" exit %d", *c.ExitCode)
		}
		if c.Reason != "" && !strings.Contains(t.Reason, c.Reason) {
			p += " (" + c.Reason + ")"
		}
		if p == c.Name {
			continue // nothing to say about this container
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}
