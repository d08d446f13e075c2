package ghaction

import (
	"strings"
	"testing"
)

func TestAnnotatePositions(t *testing.T) {
	for _, tc := range []struct {
		name, dir, in, want string
	}{
		{
			name: "lint warning of a deploy, relative to working-directory",
			dir:  "/ws/testdata/inforum",
			in:   "backend-task.json:9:1: warning: essential-link: container \"springboot\" is linked\n",
			want: "::warning file=testdata/inforum/backend-task.json,line=9,col=1,title=pier::backend-task.json:9:1: warning: essential-link: container \"springboot\" is linked\n",
		},
		{
			name: "an error without severity is an error",
			in:   "pier.yaml:3:1: YAML syntax error: did not find expected node content\n",
			want: "::error file=pier.yaml,line=3,col=1,title=pier::pier.yaml:3:1: YAML syntax error: did not find expected node content\n",
		},
		{
			name: "info is a notice; % in the text is escaped",
			in:   "a.json:1:2: info: iam: 100% of roles\n",
			want: "::notice file=a.json,line=1,col=2,title=pier::a.json:1:2: info: iam: 100%25 of roles\n",
		},
		{
			name: "a comma in the path is escaped",
			in:   "a,b.yaml:1:1: error: x\n",
			want: "::error file=a%2Cb.yaml,line=1,col=1,title=pier::a,b.yaml:1:1: error: x\n",
		},
		{
			name: "other lines pass as they are, a last line without newline too",
			in:   "==> build\npier: sandbox at http://127.0.0.1:4000 (1 cluster)\nbackend: 12:30:05 started\nx.yaml:1:1: last",
			want: "==> build\npier: sandbox at http://127.0.0.1:4000 (1 cluster)\nbackend: 12:30:05 started\n::error file=x.yaml,line=1,col=1,title=pier::x.yaml:1:1: last\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			w := AnnotatePositions(&out, tc.dir, "/ws")
			// Written in pieces, as a command's output arrives.
			for _, part := range strings.SplitAfter(tc.in, ":") {
				if _, err := w.Write([]byte(part)); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("got\n%q\nwant\n%q", out.String(), tc.want)
			}
		})
	}
}

// FuzzAnnotatePositions: whatever pier prints, each line stays one line (an annotation
// never lets a newline or a property separator through unescaped).
func FuzzAnnotatePositions(f *testing.F) {
	f.Add("pier.yaml:3:1: warning: x\n")
	f.Add("a,b:c.json:1:1: error: %0A\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		var out strings.Builder
		w := AnnotatePositions(&out, "/ws/d", "/ws")
		_, _ = w.Write([]byte(in))
		_ = w.Close()
		lines := strings.Count(in, "\n")
		if in != "" && !strings.HasSuffix(in, "\n") {
			lines++
		}
		if got := strings.Count(out.String(), "\n"); got != lines {
			t.Fatalf("%d lines in, %d out: %q → %q", lines, got, in, out.String())
		}
		// Lines map one to one; each annotated line keeps its four properties apart.
		inLines := strings.Split(strings.TrimSuffix(in, "\n"), "\n")
		outLines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		for i, l := range inLines {
			if !positionLine.MatchString(strings.TrimRight(l, "\r")) {
				continue
			}
			props, _, _ := strings.Cut(strings.TrimPrefix(outLines[i], "::"), "::")
			if strings.Count(props, ",") != 3 {
				t.Fatalf("annotation properties not escaped: %q → %q", l, outLines[i])
			}
		}
	})
}
