// Package config reads pier.yaml into plain data: environment expansion,
// defaults, relative paths resolved against the file, and a file:line:col
// position on everything so later checks can point at the right line.
package config

import "time"

// Pos is a position in a source file, 1-based. The zero Pos means "unknown".
type Pos struct {
	File string
	Line int
	Col  int
}

// File is one parsed pier.yaml.
type File struct {
	Path               string // the path it was read from, as given
	Dir                string // directory that relative paths are resolved against
	Region             string // region:, else AWS_REGION / AWS_DEFAULT_REGION; may be empty
	Cluster            string // default cluster of the services
	Registry           string // optional: host of the ECR registry; empty = the caller's account
	Tag                string // image tag, after ${VAR} expansion
	Platforms          []string
	CreateRepositories bool
	Context            string // context: joined with Dir; empty = builds read from Dir (see BuildDir)
	ContextPos         Pos

	Images   []*Image   // in file order
	Services []*Service // in file order
}

// Image is one entry of images:. Exactly one builder field is set.
type Image struct {
	Name       string // the key under images:
	Repository string // ECR repository name; defaults to Name
	Pos        Pos

	Nginx      *NginxBuild
	Next       *NextBuild
	SpringBoot *SpringBootBuild
	Files      *FilesBuild
	Copy       *CopyBuild
	OCI        *OCIBuild

	// Inputs lists every host path the builder reads, with its position.
	Inputs []Input
}

// NginxBuild is the nginx builder: a base plus nginx.conf and extra files.
type NginxBuild struct {
	Base   string            // default: an official nginx image
	Config string            // path of nginx.conf (resolved against File.Dir)
	Files  map[string]string // destination in the image → source path (resolved)
	Pos    Pos
}

// NextBuild is the Next.js standalone builder.
type NextBuild struct {
	Base string // default: an official node image
	Dir  string // the app directory holding .next/standalone, .next/static, public (resolved)
	Pos  Pos
}

// SpringBootBuild is the Spring Boot layered-jar builder.
type SpringBootBuild struct {
	Base string // default: an eclipse-temurin JRE image
	Jar  string // path of the fat jar (resolved)
	Pos  Pos
}

// FilesBuild is the generic builder: any base (or scratch, the empty
// image) plus files, some of which may differ per platform.
type FilesBuild struct {
	Base  string            // an image reference, or Scratch
	Files map[string]string // destination → source (resolved)
	// PlatformFiles holds the files that differ per platform (a binary
	// compiled for each): platform as written in platforms: → destination →
	// source (resolved). Each platform gets its own layer after Files.
	PlatformFiles map[string]map[string]string
	PlatformPos   map[string]Pos // where each platform key of platformFiles: is
	Entrypoint    []string
	Cmd           []string
	Env           map[string]string
	Labels        map[string]string // image config labels, e.g. org.opencontainers.image.source
	User          string
	Workdir       string
	Pos           Pos
}

// Scratch as a base means no base at all: the image holds only the layers
// pier builds, as Dockerfile's FROM scratch.
const Scratch = "scratch"

// CopyBuild mirrors an existing image (all platforms) into ECR.
type CopyBuild struct {
	Source string // e.g. docker.io/sonatype/nexus3:3.72.0
	Pos    Pos
}

// OCIBuild takes an OCI layout directory or a docker-save/OCI tarball.
type OCIBuild struct {
	Path string // resolved
	Pos  Pos
}

// Strategy is how a service is rolled out.
type Strategy string

// The rollout strategies.
const (
	Rolling  Strategy = "rolling"  // ECS's own rolling update, watched by pier
	Recreate Strategy = "recreate" // stop every old task before the new revision starts
)

// Service is one entry of services:.
type Service struct {
	Name              string // the key under services:
	Service           string // ECS service name; defaults to Name
	Cluster           string // defaults to File.Cluster
	TaskDefinition    string // path of the task-definition JSON (resolved)
	TaskDefinitionPos Pos
	Containers        map[string]string // container name → image name (a key of images:)
	Strategy          Strategy          // defaults to Rolling
	DesiredCount      *int32            // nil keeps the live count
	HealthCheck       *HealthCheck
	KeepRevisions     int           // 0 = keep all
	Timeout           time.Duration // defaults to 20m
	Pos               Pos

	// ContainerPos gives the position of each containers: entry, for errors.
	ContainerPos map[string]Pos
}

// HealthCheck is an HTTP check after the rollout; a 2xx answer within Timeout passes.
type HealthCheck struct {
	URL     string
	Timeout time.Duration // defaults to 5m
	Pos     Pos
}
