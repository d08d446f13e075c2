package adopt

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/taskdef"
)

// File is one file to write: its path and contents.
type File struct {
	Path    string
	Data    []byte
	Service string // the service whose task definition it holds; "" for pier.yaml
}

// Files renders the pipeline file at pierPath and, beside it, one
// task-definition file per service (SERVICE-task.json). Each is read back
// with pier's own parsers before it is returned, so what init writes is
// what plan reads.
func (a *Adopted) Files(pierPath string) ([]File, error) {
	dir := filepath.Dir(pierPath)
	files := []File{{Path: pierPath}}
	for _, s := range a.Services {
		td := s.TaskDef.DescribeJSON()
		p := filepath.Join(dir, taskFile(s))
		if _, err := taskdef.Parse(p, td); err != nil {
			return nil, fmt.Errorf("reading back the task definition of service %s (a bug in pier init): %w", s.Name, err)
		}
		files = append(files, File{Path: p, Data: td, Service: s.Name})
	}
	files[0].Data = a.pipeline()
	f, err := config.Parse(pierPath, files[0].Data, nil)
	if err != nil {
		return nil, fmt.Errorf("reading back %s (a bug in pier init): %w", pierPath, err)
	}
	if len(f.Services) != len(a.Services) {
		return nil, fmt.Errorf("reading back %s (a bug in pier init): %d services, want %d", pierPath, len(f.Services), len(a.Services))
	}
	return files, nil
}

func taskFile(s *Service) string { return s.Name + "-task.json" }

// pipeline renders pier.yaml: what runs, as it runs, and as comments what
// pier could build.
func (a *Adopted) pipeline() []byte {
	var b bytes.Buffer
	where := a.Cluster
	if a.Region != "" {
		where += " in " + a.Region
	}
	for _, l := range wrap(fmt.Sprintf("Adopted by `pier init` from the ECS cluster %s: each service with the task definition it runs, unchanged, so `pier plan` shows no change until you edit.", where), 76) {
		fmt.Fprintf(&b, "# %s\n", l)
	}
	if a.Region != "" {
		fmt.Fprintf(&b, "region: %s\n", scalar(a.Region))
	}
	fmt.Fprintf(&b, "cluster: %s\n", scalar(a.Cluster))
	a.proposedImages(&b)
	b.WriteString("\nservices:\n")
	for i, s := range a.Services {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "  %s:\n", scalar(s.Name))
		fmt.Fprintf(&b, "    taskDefinition: %s   # %s\n", scalar(taskFile(s)), s.Revision)
		if m := containersLine(s); m != "" {
			fmt.Fprintf(&b, "    # containers: %s\n", m)
		}
		if s.Strategy == "recreate" {
			for _, l := range wrap(s.Why+".", 72) {
				fmt.Fprintf(&b, "    # %s\n", l)
			}
			b.WriteString("    strategy: recreate\n")
		}
	}
	return b.Bytes()
}

// proposedImages writes the images: section pier could build, commented out.
func (a *Adopted) proposedImages(b *bytes.Buffer) {
	seen := map[string]bool{}
	var entries []string
	for _, s := range a.Services {
		for _, im := range s.Images {
			if im.Key == "" || seen[im.Key] {
				continue
			}
			seen[im.Key] = true
			var e strings.Builder
			for _, l := range wrap(fmt.Sprintf("%s/%s %s", s.Name, im.Container, im.Note), 72) {
				fmt.Fprintf(&e, "#   # %s\n", l)
			}
			fmt.Fprintf(&e, "#   %s:\n#     %s\n", im.Key, im.Builder)
			entries = append(entries, e.String())
		}
	}
	if len(entries) == 0 {
		return
	}
	b.WriteString("\n# The task definitions keep the images the services run. To let pier build\n")
	b.WriteString("# an image (tagged, then pinned by digest), uncomment its entry and the\n")
	b.WriteString("# service's containers: line, and point the builder at your sources.\n")
	b.WriteString("# tag: ${GITHUB_SHA:-dev}\n")
	b.WriteString("# images:\n")
	for _, e := range entries {
		b.WriteString(e)
	}
}

// containersLine is the proposed containers: mapping of s, in flow style.
func containersLine(s *Service) string {
	var parts []string
	for _, im := range s.Images {
		if im.Key != "" {
			parts = append(parts, scalar(im.Container)+": "+scalar(im.Key))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "{ " + strings.Join(parts, ", ") + " }"
}

// plain is a YAML scalar that needs no quotes.
var plain = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_./-]*$`)

// scalar writes s as a YAML scalar, quoted (JSON style, which YAML reads)
// when it could be read as something else.
func scalar(s string) string {
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~":
		return fmt.Sprintf("%q", s)
	}
	if plain.MatchString(s) {
		return s
	}
	return fmt.Sprintf("%q", s)
}

// wrap breaks text into lines of at most width characters at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = w
			continue
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
