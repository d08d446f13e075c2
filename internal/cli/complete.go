package cli

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Shell completion is computed here, not in the scripts: each script
// (completion.go) hands the words typed so far to the hidden command
// `pier __complete -- WORD…` and offers what it prints, one candidate a
// line as "candidate<TAB>description". So the scripts stay small, the
// three shells offer the same, and service and image names come from the
// pipeline file the command line names (-f, else pier.yaml).

// filesDirective, alone on the first line, asks the script for the
// shell's own file-name completion.
const filesDirective = "__files__"

// runComplete is the hidden command `pier __complete -- WORD…` (Run calls
// it before any flag parsing).
func runComplete(env *Env, words []string) int {
	for _, c := range complete(words, env.Getenv) {
		fmt.Fprintln(env.Stdout, c)
	}
	return ExitOK
}

// complete returns the candidates for the last of words (the words after
// "pier", the last one being completed, possibly empty).
func complete(words []string, getenv func(string) string) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	cur, before := words[len(words)-1], words[:len(words)-1]
	file := "pier.yaml"
	var cmd *command
	var positional []string
	var fs *flag.FlagSet
	flagsOf := func() *flag.FlagSet {
		set := flag.NewFlagSet("", flag.ContinueOnError)
		scratch := &Env{Getenv: getenv, Globals: Globals{File: file, Output: "text"}}
		bindGlobals(set, &scratch.Globals)
		if cmd != nil {
			cmd.flags(set, scratch)
		}
		return set
	}
	fs = flagsOf()
	for i := 0; i < len(before); i++ {
		w := before[i]
		if w == "--" {
			positional = append(positional, before[i+1:]...)
			break
		}
		if name, ok := flagName(w); ok {
			f := fs.Lookup(name)
			if f != nil && !isBool(f) && !strings.Contains(w, "=") && i+1 < len(before) {
				i++
				if name == "f" || name == "file" {
					file = before[i]
				}
			} else if f != nil && !isBool(f) && !strings.Contains(w, "=") {
				// The word being completed is this flag's value.
				return flagValues(f, cur)
			}
			if v, ok := strings.CutPrefix(w, "-f="); ok {
				file = v
			} else if v, ok := strings.CutPrefix(w, "--file="); ok {
				file = v
			}
			continue
		}
		if cmd == nil {
			c, ok := commands[w]
			if !ok && w != "help" {
				return nil
			}
			if ok {
				cmd = c
				fs = flagsOf()
			} else {
				positional = append(positional, "help") // marks `pier help`
			}
			continue
		}
		positional = append(positional, w)
	}
	if strings.HasPrefix(cur, "-") {
		return flagCandidates(fs, cur)
	}
	switch {
	case cmd == nil: // the command, or the one `pier help` is about
		return commandCandidates(cur)
	case cmd.name == "completion":
		return filter([]string{"bash\tBash", "fish\tfish", "zsh\tZsh"}, cur)
	}
	switch usage := cmd.usage; {
	case strings.Contains(usage, "[service]") && len(positional) > 0:
		return nil // render takes one
	case strings.Contains(usage, "service"):
		return filter(pipelineNames(file, "services", positional), cur)
	case strings.Contains(usage, "image"):
		return filter(pipelineNames(file, "images", positional), cur)
	}
	return nil
}

// flagName returns the name of a flag word (-f, --output, --output=json).
func flagName(w string) (string, bool) {
	if len(w) < 2 || w[0] != '-' {
		return "", false
	}
	name := strings.TrimLeft(w, "-")
	name, _, _ = strings.Cut(name, "=")
	return name, name != ""
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// flagValues completes the value of flag f.
func flagValues(f *flag.Flag, cur string) []string {
	if f.Name == "output" {
		return filter([]string{"text\thuman-readable", "json\tone JSON document"}, cur)
	}
	if arg, _ := flag.UnquoteUsage(f); arg == "file" {
		return []string{filesDirective}
	}
	return nil
}

// flagCandidates lists the flags of fs as pier writes them (-f, --output).
func flagCandidates(fs *flag.FlagSet, cur string) []string {
	var out []string
	fs.VisitAll(func(f *flag.Flag) {
		_, usage := flag.UnquoteUsage(f)
		out = append(out, dashes(f.Name)+"\t"+firstLine(usage))
	})
	return filter(out, cur)
}

func commandCandidates(cur string) []string {
	var out []string
	for n, c := range commands {
		if !c.hidden {
			out = append(out, n+"\t"+c.short)
		}
	}
	out = append(out, "help\tshow the commands, or a command's flags")
	sort.Strings(out)
	return filter(out, cur)
}

// pipelineNames reads the keys of section (services or images) of the
// pipeline file, leaving out those already on the command line. The file
// is read leniently: completion should work on a file that does not
// validate yet (an unset ${VAR}, a typo elsewhere).
func pipelineNames(file, section string, given []string) []string {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var doc map[string]yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	n, ok := doc[section]
	if !ok || n.Kind != yaml.MappingNode {
		return nil
	}
	var out []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if k == "" || k == "<<" || contains(given, k) {
			continue
		}
		out = append(out, k+"\t"+strings.TrimSuffix(section, "s")+" in "+file)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// filter keeps the candidates that start with cur.
func filter(cands []string, cur string) []string {
	var out []string
	for _, c := range cands {
		if strings.HasPrefix(c, cur) {
			out = append(out, c)
		}
	}
	return out
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
