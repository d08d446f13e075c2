package adopt

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-containerregistry/pkg/name"
)

// Image is one container's image and the images: entry that would let
// pier build it, proposed as a comment.
type Image struct {
	Container string
	Ref       string // as the task definition has it
	// Kind is how pier would make it: "copy" for a third-party image
	// (mirrored into ECR unchanged), "build" for the user's own image
	// (the builder is a guess from its name), "none" when there is no
	// image to speak of.
	Kind    string
	Key     string // proposed key under images:, unique in the file
	Builder string // proposed builder, one YAML line: `copy: docker.io/…`
	Note    string // what the comment says about it
}

// privateECR matches a private ECR registry host: the user's own images.
var privateECR = regexp.MustCompile(`^\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`)

func ownRegistries(extra []string) func(string) bool {
	return func(host string) bool {
		return privateECR.MatchString(host) || slices.Contains(extra, host)
	}
}

// classify proposes how pier would make the image of c.
func classify(c types.ContainerDefinition, own func(string) bool) Image {
	im := Image{Container: aws.ToString(c.Name), Ref: aws.ToString(c.Image)}
	if im.Ref == "" {
		im.Kind, im.Note = "none", "has no image"
		return im
	}
	ref, err := name.ParseReference(im.Ref, name.WeakValidation)
	if err != nil {
		// The seed's task definitions redact their registry as "~~".
		im.Kind, im.Note = "build", fmt.Sprintf("runs %s, which is not a valid image reference", im.Ref)
		im.Builder = guessBuilder(im.Container, lastPart(im.Ref))
		return im
	}
	repo := ref.Context()
	if own(repo.RegistryStr()) {
		im.Kind, im.Note = "build", fmt.Sprintf("runs %s from your registry: say how it is built", im.Ref)
		im.Builder = guessBuilder(im.Container, lastPart(repo.RepositoryStr()))
		return im
	}
	im.Kind = "copy"
	im.Note = fmt.Sprintf("runs %s, a third-party image: copy mirrors it into your ECR so ECS never pulls from %s", im.Ref, registryName(repo.RegistryStr()))
	im.Builder = "copy: " + dockerName(im.Ref)
	return im
}

// registryName names a registry as people say it.
func registryName(host string) string {
	if host == name.DefaultRegistry || host == "docker.io" {
		return "Docker Hub"
	}
	return host
}

// dockerName spells a reference with its registry, as the README's
// examples do: sonatype/nexus3:3.72.0 → docker.io/sonatype/nexus3:3.72.0.
func dockerName(ref string) string {
	first, _, ok := strings.Cut(ref, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return ref
	}
	if !ok {
		return "docker.io/library/" + ref
	}
	return "docker.io/" + ref
}

// lastPart is the last path element of a repository, without tag or digest.
func lastPart(repo string) string {
	if i := strings.IndexByte(repo, '@'); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndexByte(repo, '/'); i >= 0 {
		repo = repo[i+1:]
	}
	if i := strings.IndexByte(repo, ':'); i >= 0 {
		repo = repo[:i]
	}
	return repo
}

// guessBuilder proposes a builder from the names of the container and its
// repository; the paths are placeholders for the user to point at the
// sources (pier lint reports those that do not exist).
func guessBuilder(container, repo string) string {
	dir := repo
	if dir == "" {
		dir = container
	}
	both := strings.ToLower(container + " " + repo)
	switch {
	case strings.Contains(both, "nginx"):
		return fmt.Sprintf("nginx: { config: %s/nginx.conf }", dir)
	case strings.Contains(both, "next"):
		return fmt.Sprintf("next: { dir: %s }   # a Next.js app built with output: 'standalone'", dir)
	case strings.Contains(both, "spring") || strings.Contains(both, "boot"):
		return fmt.Sprintf("springboot: { jar: %s/app.jar }", dir)
	}
	return fmt.Sprintf("oci: %s.tar   # or nginx, next, springboot, files: whatever builds it", dir)
}

// keyPattern is what an images: key may be: an ECR repository name part.
var keyPattern = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*$`)

// nameImages gives each distinct proposed image a key under images:: its
// repository's last part, else the container's name, made unique with the
// service's name. One image run by several containers gets one key.
func nameImages(services []*Service) {
	byRef := map[string]string{}
	taken := map[string]bool{}
	for _, s := range services {
		for i := range s.Images {
			im := &s.Images[i]
			if im.Kind == "none" {
				continue
			}
			if k, ok := byRef[im.Ref]; ok {
				im.Key = k
				continue
			}
			k := imageKey(lastPart(im.Ref))
			if k == "" {
				k = imageKey(im.Container)
			}
			if k == "" || taken[k] {
				k = imageKey(s.Name + "-" + im.Container)
			}
			for n := 2; k == "" || taken[k]; n++ {
				k = fmt.Sprintf("image%d", n)
			}
			taken[k], byRef[im.Ref] = true, k
			im.Key = k
		}
	}
}

// imageKey lowercases s into a valid images: key, or "".
func imageKey(s string) string {
	s = strings.ToLower(s)
	s = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '-'
	}, s)
	s = strings.Trim(s, "-_.")
	if !keyPattern.MatchString(s) {
		return ""
	}
	return s
}
