package config

import (
	"fmt"
	"strings"
)

// Image returns the image named name (a key of images:), or nil.
func (f *File) Image(name string) *Image {
	for _, img := range f.Images {
		if img.Name == name {
			return img
		}
	}
	return nil
}

// Service returns the service named name (a key of services:), or nil.
func (f *File) Service(name string) *Service {
	for _, s := range f.Services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// SelectServices returns the services named on a command line, in the
// order given, or every service in file order when names is empty. An
// unknown name is an error that lists the services and suggests the
// closest one, for commands like `pier deploy backend`.
func (f *File) SelectServices(names ...string) ([]*Service, error) {
	if len(names) == 0 {
		return f.Services, nil
	}
	var known []string
	for _, s := range f.Services {
		known = append(known, s.Name)
	}
	out := make([]*Service, 0, len(names))
	seen := map[string]bool{}
	for _, n := range names {
		s := f.Service(n)
		if s == nil {
			return nil, fmt.Errorf("%s has no service %q%s; its services are %s", f.Path, n, didYouMean(n, known), strings.Join(known, ", "))
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, s)
		}
	}
	return out, nil
}

// Builder names the image's builder: nginx, next, springboot, files, copy
// or oci.
func (img *Image) Builder() string {
	switch {
	case img.Nginx != nil:
		return "nginx"
	case img.Next != nil:
		return "next"
	case img.SpringBoot != nil:
		return "springboot"
	case img.Files != nil:
		return "files"
	case img.Copy != nil:
		return "copy"
	case img.OCI != nil:
		return "oci"
	}
	return ""
}
