package lint

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/taskdef"
)

// Nexus needs these (Sonatype's system requirements): a file-descriptor limit
// of at least 65536, and time to shut down cleanly before ECS kills it, or
// its databases on EFS need a repair on the next start.
const (
	nexusNofile      = 65536
	nexusStopTimeout = 120
)

// checkService runs the rules that need a service of pier.yaml together with
// its task definition.
func checkService(out *findings, f *config.File, s *config.Service, td *taskdef.TaskDef) {
	var list []string
	for _, c := range td.Containers() {
		list = append(list, c.Name)
	}
	keys := make([]string, 0, len(s.Containers))
	for c := range s.Containers {
		keys = append(keys, c)
	}
	sort.Strings(keys)
	for _, c := range keys {
		if td.Container(c) == nil {
			out.add(s.ContainerPos[c], Error, "container-unknown",
				"service %q builds container %q, but task definition %s has no container of that name (containers: %s)%s", s.Name, c, td.File, strings.Join(list, ", "), didYouMean(c, list))
		}
	}

	if s.Strategy == config.Recreate && s.DesiredCount != nil && *s.DesiredCount > 1 {
		out.add(s.Pos, Error, "recreate-desired-count",
			"service %q uses strategy recreate with desiredCount %d: recreate exists for services that cannot run two copies at once; use desiredCount 1, or strategy rolling if copies can share their data", s.Name, *s.DesiredCount)
	}

	images := map[string]*config.Image{}
	for _, img := range f.Images {
		images[img.Name] = img
	}
	for _, c := range td.Containers() {
		ref := c.Image()
		built := false
		if imgName, ok := s.Containers[c.Name]; ok {
			built = true
			if img := images[imgName]; img != nil && img.Copy != nil {
				ref = img.Copy.Source
			} else {
				ref = ""
			}
		}
		if !built {
			checkImageRef(out, s, c)
		}
		if isNexus(ref) {
			checkNexus(out, s, c)
		}
	}
}

// checkImageRef checks the image of a container pier does not build: ECS
// will pull exactly what the task definition says.
func checkImageRef(out *findings, s *config.Service, c *taskdef.Container) {
	ref := c.Image()
	pos := cpos(c.FieldPos("image"))
	if ref == "" {
		out.add(pos, Error, "image-reference", "container %q has no image and service %q does not build one for it: add it to containers: in pier.yaml or set image", c.Name, s.Name)
		return
	}
	if _, err := name.ParseReference(ref); err != nil {
		out.add(pos, Error, "image-reference",
			"container %q has image %q, which is not a valid image reference (%v): ECS cannot pull it; fix it, or let pier build it by adding the container to containers: of service %q", c.Name, ref, err, s.Name)
		return
	}
	if strings.Contains(ref, "@") {
		return
	}
	last := ref[strings.LastIndex(ref, "/")+1:]
	switch _, tag, ok := strings.Cut(last, ":"); {
	case !ok:
		out.add(pos, Warning, "image-tag",
			"container %q has untagged image %q, which means :latest: ECS pulls whatever the tag points to when a task starts, so two tasks of one revision can run different code; pin a version or a digest", c.Name, ref)
	case tag == "latest":
		out.add(pos, Warning, "image-tag",
			"container %q uses %q: ECS pulls whatever :latest points to when a task starts, so two tasks of one revision can run different code; pin a version or a digest", c.Name, ref)
	}
}

// isNexus reports whether ref is Sonatype's Nexus 3 image, from any registry.
func isNexus(ref string) bool {
	if ref == "" {
		return false
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return false
	}
	repo := r.Context().RepositoryStr()
	return repo == "sonatype/nexus3" || strings.HasSuffix(repo, "/sonatype/nexus3")
}

func checkNexus(out *findings, s *config.Service, c *taskdef.Container) {
	if s.Strategy != config.Recreate {
		out.add(s.Pos, Warning, "nexus-strategy",
			"service %q runs Nexus with strategy %s: ECS starts the new task while the old one still holds the lock on its data directory, so the new Nexus exits and the upgrade fails; use strategy: recreate", s.Name, s.Strategy)
	}
	var soft, hard int32
	if u := c.Ulimit(types.UlimitNameNofile); u != nil {
		soft, hard = u.SoftLimit, u.HardLimit
	}
	if soft < nexusNofile || hard < nexusNofile {
		pos := c.FieldPos("ulimits[nofile]")
		msg := "has no nofile ulimit"
		if soft != 0 || hard != 0 {
			msg = fmt.Sprintf("has nofile soft %d / hard %d", soft, hard)
		}
		out.add(cpos(pos), Warning, "nexus-nofile",
			"container %q runs Nexus and %s: Nexus needs at least %d open files or it fails under load; add ulimits [{name: nofile, softLimit: %d, hardLimit: %d}]", c.Name, msg, nexusNofile, nexusNofile, nexusNofile)
	}
	if st := c.Def.StopTimeout; st == nil || *st < nexusStopTimeout {
		have := "ECS's default of 30"
		if st != nil {
			have = fmt.Sprint(*st)
		}
		out.add(cpos(c.FieldPos("stopTimeout")), Warning, "nexus-stop-timeout",
			"container %q runs Nexus with stopTimeout %s seconds: Nexus needs time to close its databases before ECS kills it, or they need repair on the next start; set stopTimeout to at least %d", c.Name, have, nexusStopTimeout)
	}
}

// checkBuildInputs warns about builder inputs that do not exist. A warning,
// not an error: CI often runs lint before the step that produces the jar or
// the Next.js output, and pier build reports the same problem when it runs.
func checkBuildInputs(out *findings, f *config.File) {
	for _, img := range f.Images {
		var at config.Pos
		var paths []string
		switch {
		case img.Nginx != nil:
			at = img.Nginx.Pos
			paths = sortedValues(img.Nginx.Files)
		case img.Next != nil:
			at, paths = img.Next.Pos, []string{img.Next.Dir}
		case img.SpringBoot != nil:
			at, paths = img.SpringBoot.Pos, []string{img.SpringBoot.Jar}
		case img.Files != nil:
			at = img.Files.Pos
			paths = sortedValues(img.Files.Files)
			for _, plat := range sortedKeys(img.Files.PlatformFiles) {
				paths = append(paths, sortedValues(img.Files.PlatformFiles[plat])...)
			}
		case img.OCI != nil:
			at, paths = img.OCI.Pos, []string{img.OCI.Path}
		}
		for _, p := range paths {
			if _, err := os.Stat(p); err != nil {
				out.add(at, Warning, "build-input-missing",
					"image %q builds from %s, which does not exist: pier build will fail unless an earlier step creates it", img.Name, p)
			}
		}
	}
}

// sortedKeys lists the platforms of a platformFiles: map in order.
func sortedKeys(m map[string]map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}
