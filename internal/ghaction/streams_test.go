package ghaction

import (
	"strings"
	"testing"
)

func TestCommandSplitter(t *testing.T) {
	var log strings.Builder
	c := &commandSplitter{log: &log}
	for _, chunk := range []string{"{\n  \"a\": 1,\n", "::add-mask::s3cr", "et\n  \"b\": \"::not a command\"\n}", "\n::group::x\n"} {
		c.Write([]byte(chunk))
	}
	if got, want := string(c.Bytes()), "{\n  \"a\": 1,\n  \"b\": \"::not a command\"\n}\n"; got != want {
		t.Errorf("kept %q, want %q", got, want)
	}
	if got, want := log.String(), "::add-mask::s3cret\n::group::x\n"; got != want {
		t.Errorf("passed to the log %q, want %q", got, want)
	}
}

func TestTail(t *testing.T) {
	tl := &tail{n: 3}
	tl.Write([]byte("one\ntwo\n::group::x\n\nthree\nfour\nfi"))
	tl.Write([]byte("ve"))
	if got, want := tl.String(), "three\nfour\nfive"; got != want {
		t.Errorf("tail = %q, want %q", got, want)
	}
	tl.Write([]byte("\n"))
	if got, want := tl.String(), "three\nfour\nfive"; got != want {
		t.Errorf("tail = %q, want %q", got, want)
	}
	if got := tl.Last(); got != "five" {
		t.Errorf("Last = %q, want five", got)
	}
	tl.Write([]byte("six, unfinished"))
	if got := tl.Last(); got != "six, unfinished" {
		t.Errorf("Last = %q, want the unfinished line", got)
	}
	if got := (&tail{n: 3}).Last(); got != "" {
		t.Errorf("Last of nothing = %q", got)
	}
}
