package config

import (
	"fmt"
	"path/filepath"
	"sort"
)

// finish applies the defaults that depend on the whole file, resolves
// relative paths against the file's directory, and checks the references
// between sections.
func (d *decoder) finish(f *File) {
	images := map[string]*Image{}
	var names []string
	repos := map[string]*Image{}
	for _, img := range f.Images {
		images[img.Name] = img
		names = append(names, img.Name)
		if img.Repository != "" && !repoName.MatchString(img.Repository) {
			d.errs = append(d.errs, &Error{Pos: img.Pos, Msg: fmt.Sprintf("image %q: %q is not a valid ECR repository name (lowercase letters, digits, . _ - and / between parts); set repository: to a valid name", img.Name, img.Repository)})
		}
		if other, dup := repos[img.Repository]; dup && img.Repository != "" {
			d.errs = append(d.errs, &Error{Pos: img.Pos, Msg: fmt.Sprintf("image %q pushes to repository %q like image %q (line %d): their tags would overwrite each other", img.Name, img.Repository, other.Name, other.Pos.Line)})
		}
		repos[img.Repository] = img
		d.confineInputs(f, img)
		d.resolveImage(f.Dir, img)
		if img.Files != nil {
			d.checkPlatformFiles(f.Platforms, img)
		}
	}
	if f.Context != "" {
		f.Context = resolvePath(f.Dir, f.Context)
	}

	type ecsName struct{ cluster, service string }
	seen := map[ecsName]*Service{}
	for _, s := range f.Services {
		if s.Cluster == "" {
			s.Cluster = f.Cluster
		}
		if s.Cluster == "" && !d.clusterGiven {
			cause := d.clusterCause[s]
			if cause == nil {
				cause = d.causeOf(d.root, "cluster")
			}
			d.errs = append(d.errs, consequence(cause, s.Pos, fmt.Sprintf("service %q has no cluster: set cluster: at the top of the file or in the service", s.Name)))
		}
		key := ecsName{s.Cluster, s.Service}
		if other, dup := seen[key]; dup {
			d.errs = append(d.errs, &Error{Pos: s.Pos, Msg: fmt.Sprintf("service %q deploys ECS service %q in cluster %q like service %q (line %d): two entries would fight over one service", s.Name, s.Service, s.Cluster, other.Name, other.Pos.Line)})
		}
		seen[key] = s
		if d.confineTaskDefinition(s) && s.TaskDefinition != "" {
			s.TaskDefinition = resolvePath(f.Dir, s.TaskDefinition)
		}
		containers := make([]string, 0, len(s.Containers))
		for c := range s.Containers {
			containers = append(containers, c)
		}
		sort.Strings(containers)
		for _, c := range containers {
			name := s.Containers[c]
			if name == "" {
				continue
			}
			if _, ok := images[name]; !ok {
				d.errs = append(d.errs, consequence(d.causeOf(d.root, "images"), s.ContainerPos[c], fmt.Sprintf("service %q container %q uses image %q, which is not a key of images:%s", s.Name, c, name, didYouMean(name, names))))
			}
		}
	}
}

func (d *decoder) resolveImage(dir string, img *Image) {
	switch {
	case img.Nginx != nil:
		img.Nginx.Config = resolvePath(dir, img.Nginx.Config)
		resolveAll(dir, img.Nginx.Files)
	case img.Next != nil:
		img.Next.Dir = resolvePath(dir, img.Next.Dir)
	case img.SpringBoot != nil:
		img.SpringBoot.Jar = resolvePath(dir, img.SpringBoot.Jar)
	case img.Files != nil:
		resolveAll(dir, img.Files.Files)
		for _, files := range img.Files.PlatformFiles {
			resolveAll(dir, files)
		}
	case img.OCI != nil:
		img.OCI.Path = resolvePath(dir, img.OCI.Path)
	}
}

// resolvePath makes p relative to the pipeline file's directory, so
// `pier -f deploy/pier.yaml` works from any working directory.
func resolvePath(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

func resolveAll(dir string, m map[string]string) {
	for k, v := range m {
		m[k] = resolvePath(dir, v)
	}
}
