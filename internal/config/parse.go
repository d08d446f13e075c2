package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Defaults applied when pier.yaml leaves a field out.
const (
	DefaultTimeout            = 20 * time.Minute // Service.Timeout
	DefaultHealthCheckTimeout = 5 * time.Minute  // HealthCheck.Timeout
)

// Load reads and parses the pier.yaml at path. ${VAR} references expand from
// getenv (os.Getenv in the binary, a map in tests). A file that cannot be read
// is a plain error; a file with problems is an Errors list, every entry
// carrying file:line:col.
func Load(path string, getenv func(string) string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading pipeline file: %w", err)
	}
	f, err := Parse(path, data, getenv)
	if err != nil {
		return nil, err
	}
	if errs := f.CheckTaskDefinitions(); len(errs) > 0 {
		return nil, errs
	}
	return f, nil
}

// Parse parses data as the pier.yaml found at path (used for error positions
// and to resolve relative paths). It never panics on any input.
func Parse(path string, data []byte, getenv func(string) string) (*File, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	d := &decoder{file: path, getenv: getenv, clusterCause: map[*Service]*Error{}}
	root, err := parseYAML(path, data)
	if err != nil {
		return nil, err
	}
	d.root = root
	f := d.file0(root)
	f.Path = path
	f.Dir = filepath.Dir(path)
	d.finish(f)
	if len(d.errs) > 0 {
		d.errs.sort()
		return nil, d.errs
	}
	return f, nil
}

// parseYAML returns the top mapping node of the single document in data.
func parseYAML(path string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{Pos: Pos{File: path, Line: 1, Col: 1}, Msg: "the file is empty: it needs at least services: and images:"}
		}
		return nil, yamlSyntaxError(path, data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &Error{Pos: Pos{File: path, Line: extra.Line, Col: extra.Column}, Msg: "a second YAML document (after ---): a pipeline file holds one document"}
	} else if !errors.Is(err, io.EOF) {
		return nil, yamlSyntaxError(path, data, err)
	}
	if len(doc.Content) == 0 {
		return nil, &Error{Pos: Pos{File: path, Line: 1, Col: 1}, Msg: "the file is empty: it needs at least services: and images:"}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &Error{Pos: Pos{File: path, Line: root.Line, Col: root.Column}, Msg: fmt.Sprintf("the top of %s must be a mapping (region:, images:, services: ...), not %s", path, describe(root))}
	}
	return root, nil
}

var (
	yamlLine      = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	unknownAnchor = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
)

// parserProblems are the messages of the YAML library's parser stage. The
// library prints their line 0-based (its scanner errors are 1-based), so
// they need one added.
var parserProblems = []string{
	"did not find expected",
	"found duplicate %",
	"found incompatible YAML document",
	"found undefined tag handle",
}

// yamlSyntaxError turns the YAML library's "yaml: line N: msg" into a
// positioned Error. The library knows no column, so the column is the first
// non-blank character of that line: where the eye starts reading.
func yamlSyntaxError(path string, data []byte, err error) error {
	msg := err.Error()
	p := Pos{File: path, Line: 1, Col: 1}
	lines := bytes.Split(data, []byte("\n"))
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
		for _, prefix := range parserProblems {
			if strings.HasPrefix(msg, prefix) {
				p.Line++
				break
			}
		}
		if p.Line >= 1 && p.Line <= len(lines) {
			l := lines[p.Line-1]
			p.Col = len(l) - len(bytes.TrimLeft(l, " \t")) + 1
		} else if p.Line > len(lines) {
			p.Line, p.Col = len(lines), 1
		}
	} else if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
		// The library does not say where; the first use of the alias is the place.
		msg = strings.TrimPrefix(msg, "yaml: ")
		for i, l := range lines {
			if c := bytes.Index(l, []byte("*"+m[1])); c >= 0 {
				p.Line, p.Col = i+1, c+1
				break
			}
		}
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	return &Error{Pos: p, Msg: "YAML syntax error: " + msg}
}

var topKeys = []string{"region", "cluster", "registry", "tag", "platforms", "createRepositories", "context", "images", "services"}

func (d *decoder) file0(root *yaml.Node) *File {
	f := &File{}
	m := d.fields(root, "the top level of "+d.file, topKeys)
	d.clusterGiven = m["cluster"].k != nil
	if e, ok := m["region"]; ok {
		f.Region, _ = d.str(e.v, "region")
	} else if f.Region = d.getenv("AWS_REGION"); f.Region == "" {
		f.Region = d.getenv("AWS_DEFAULT_REGION")
	}
	if e, ok := m["cluster"]; ok {
		f.Cluster, _ = d.str(e.v, "cluster")
	}
	if e, ok := m["registry"]; ok {
		if s, ok := d.str(e.v, "registry"); ok {
			f.Registry = strings.TrimSuffix(s, "/")
			if strings.Contains(f.Registry, "://") || strings.ContainsAny(f.Registry, " /") {
				d.errorf(e.v, "registry must be a host such as 123456789012.dkr.ecr.ap-northeast-2.amazonaws.com, not %q", s)
			}
		}
	}
	if e, ok := m["tag"]; ok {
		if s, ok := d.str(e.v, "tag"); ok {
			f.Tag = s
			if !tagPattern.MatchString(s) {
				d.errorf(e.v, "tag %q is not a valid image tag: up to 128 letters, digits, _, . and -, not starting with . or -", s)
			}
		}
	}
	if e, ok := m["platforms"]; ok {
		f.Platforms, _ = d.strList(e.v, "platforms")
		for i, p := range f.Platforms {
			if p != "" && !platformPattern.MatchString(p) {
				d.errorf(resolve(e.v).Content[i], "platform %q must look like linux/amd64 or linux/arm64", p)
			}
		}
	}
	d.contextDir(f, m)
	if e, ok := m["createRepositories"]; ok {
		f.CreateRepositories, _ = d.bool(e.v, "createRepositories")
	}
	if e, ok := m["images"]; ok {
		es, _ := d.entries(e.v, "images", true)
		for _, ie := range es {
			f.Images = append(f.Images, d.image(ie))
		}
	}
	if e, ok := m["services"]; ok {
		es, _ := d.entries(e.v, "services", true)
		for _, se := range es {
			f.Services = append(f.Services, d.service(se))
		}
	} else if cause := d.causeOf(root, "services"); cause != nil || len(f.Images) == 0 {
		// A file of images only is for build and push (pier's own action
		// image is one), unless a misspelt key was meant to be services:.
		d.knockOn(cause, root, "%s has no services: section: add one service per ECS service to deploy", d.file)
	}
	return f
}

var (
	imageKeys    = []string{"repository", "nginx", "next", "springboot", "files", "copy", "oci"}
	builderKeys  = imageKeys[1:]
	nginxKeys    = []string{"base", "config", "files"}
	nextKeys     = []string{"base", "dir"}
	springKeys   = []string{"base", "jar"}
	filesKeys    = []string{"base", "files", "platformFiles", "entrypoint", "cmd", "env", "labels", "user", "workdir"}
	copyKeys     = []string{"source"}
	ociKeys      = []string{"path"}
	serviceKeys  = []string{"service", "cluster", "taskDefinition", "containers", "strategy", "desiredCount", "healthCheck", "keepRevisions", "timeout"}
	healthKeys   = []string{"url", "timeout"}
	strategyList = []string{string(Rolling), string(Recreate)}
)

func (d *decoder) image(e entry) *Image {
	img := &Image{Name: e.key, Repository: e.key, Pos: d.pos(e.k)}
	what := fmt.Sprintf("image %q", e.key)
	m := d.fields(e.v, what, imageKeys)
	if r, ok := m["repository"]; ok {
		img.Repository, _ = d.str(r.v, what+" repository")
	}
	var builders []entry
	for _, b := range builderKeys {
		if be, ok := m[b]; ok {
			builders = append(builders, be)
		}
	}
	switch {
	case len(builders) == 0 && m != nil:
		d.knockOn(d.causeOf(e.v, builderKeys...), e.k, "%s has no builder: give exactly one of %s", what, strings.Join(builderKeys, ", "))
	case len(builders) > 1:
		d.errorf(builders[1].k, "%s has two builders, %s and %s: give exactly one", what, builders[0].key, builders[1].key)
	}
	for _, b := range builders {
		bwhat := fmt.Sprintf("%s builder %s", what, b.key)
		p := d.pos(b.k)
		switch b.key {
		case "nginx":
			f := d.fields(b.v, bwhat, nginxKeys)
			img.Nginx = &NginxBuild{Pos: p, Base: d.optStr(f, "base", bwhat), Config: d.reqStr(b, f, "config", bwhat)}
			d.addInput(img, f, "config", "nginx config", img.Nginx.Config)
			img.Nginx.Files = d.imageFiles(img, f, bwhat)
		case "next":
			f := d.fields(b.v, bwhat, nextKeys)
			img.Next = &NextBuild{Pos: p, Base: d.optStr(f, "base", bwhat), Dir: d.reqStr(b, f, "dir", bwhat)}
			d.addInput(img, f, "dir", "next dir", img.Next.Dir)
		case "springboot":
			f := d.fields(b.v, bwhat, springKeys)
			img.SpringBoot = &SpringBootBuild{Pos: p, Base: d.optStr(f, "base", bwhat), Jar: d.reqStr(b, f, "jar", bwhat)}
			d.addInput(img, f, "jar", "springboot jar", img.SpringBoot.Jar)
		case "files":
			f := d.fields(b.v, bwhat, filesKeys)
			fb := &FilesBuild{Pos: p, Base: d.reqStr(b, f, "base", bwhat), User: d.optStr(f, "user", bwhat), Workdir: d.optStr(f, "workdir", bwhat)}
			fb.Files = d.imageFiles(img, f, bwhat)
			fb.PlatformFiles, fb.PlatformPos = d.platformFiles(img, f, bwhat)
			if x, ok := f["entrypoint"]; ok {
				fb.Entrypoint, _ = d.strList(x.v, bwhat+" entrypoint")
			}
			if x, ok := f["cmd"]; ok {
				fb.Cmd, _ = d.strList(x.v, bwhat+" cmd")
			}
			if x, ok := f["env"]; ok {
				fb.Env, _, _ = d.strMap(x.v, bwhat+" env")
			}
			if x, ok := f["labels"]; ok {
				fb.Labels, _, _ = d.strMap(x.v, bwhat+" labels")
			}
			img.Files = fb
		case "copy":
			img.Copy = &CopyBuild{Pos: p, Source: d.scalarOr(b, copyKeys[0], bwhat)}
		case "oci":
			img.OCI = &OCIBuild{Pos: p, Path: d.scalarOr(b, ociKeys[0], bwhat)}
			d.addScalarInput(img, b, ociKeys[0], "oci path", img.OCI.Path)
		}
	}
	return img
}

// scalarOr reads a builder given either as a scalar (`copy: src`) or as a
// mapping with one key (`copy: {source: src}`).
func (d *decoder) scalarOr(b entry, key, what string) string {
	if r := resolve(b.v); r.Kind == yaml.MappingNode {
		f := d.fields(b.v, what, []string{key})
		return d.reqStr(b, f, key, what)
	}
	s, _ := d.str(b.v, what)
	return s
}

func (d *decoder) optStr(f map[string]entry, key, what string) string {
	e, ok := f[key]
	if !ok {
		return ""
	}
	s, _ := d.str(e.v, what+" "+key)
	return s
}

func (d *decoder) reqStr(b entry, f map[string]entry, key, what string) string {
	e, ok := f[key]
	if !ok {
		if f != nil || isNull(b.v) {
			d.knockOn(d.causeOf(b.v, key), b.k, "%s needs %s:", what, key)
		}
		return ""
	}
	s, _ := d.str(e.v, what+" "+key)
	return s
}

func (d *decoder) service(e entry) *Service {
	s := &Service{Name: e.key, Service: e.key, Pos: d.pos(e.k), Strategy: Rolling, Timeout: DefaultTimeout}
	what := fmt.Sprintf("service %q", e.key)
	m := d.fields(e.v, what, serviceKeys)
	if x, ok := m["service"]; ok {
		s.Service, _ = d.str(x.v, what+" service")
	}
	if x, ok := m["cluster"]; ok {
		s.Cluster, _ = d.str(x.v, what+" cluster")
	} else if c := d.causeOf(e.v, "cluster"); c != nil {
		d.clusterCause[s] = c
	}
	if x, ok := m["taskDefinition"]; ok {
		s.TaskDefinition, _ = d.str(x.v, what+" taskDefinition")
		s.TaskDefinitionPos = d.pos(resolveValue(x.v))
	} else if m != nil || isNull(e.v) {
		d.knockOn(d.causeOf(e.v, "taskDefinition"), e.k, "%s needs taskDefinition: the path of its task definition JSON, as `aws ecs describe-task-definition` prints it", what)
	}
	if x, ok := m["containers"]; ok {
		s.Containers, s.ContainerPos, _ = d.strMap(x.v, what+" containers")
	}
	if x, ok := m["strategy"]; ok {
		if v, ok := d.str(x.v, what+" strategy"); ok {
			s.Strategy = Strategy(v)
			if !contains(strategyList, v) {
				d.errorf(x.v, "%s strategy must be rolling or recreate, not %q%s", what, v, didYouMean(v, strategyList))
			}
		}
	}
	if x, ok := m["desiredCount"]; ok {
		if v, ok := d.int(x.v, what+" desiredCount", 0, 1<<31-1); ok {
			n := int32(v)
			s.DesiredCount = &n
		}
	}
	if x, ok := m["keepRevisions"]; ok {
		v, _ := d.int(x.v, what+" keepRevisions", 0, 1<<31-1)
		s.KeepRevisions = int(v)
	}
	if x, ok := m["timeout"]; ok {
		if v, ok := d.duration(x.v, what+" timeout"); ok {
			s.Timeout = v
		}
	}
	if x, ok := m["healthCheck"]; ok {
		s.HealthCheck = d.healthCheck(x, what+" healthCheck")
	}
	return s
}

func (d *decoder) healthCheck(x entry, what string) *HealthCheck {
	h := &HealthCheck{Pos: d.pos(x.k), Timeout: DefaultHealthCheckTimeout}
	f := d.fields(x.v, what, healthKeys)
	h.URL = d.reqStr(x, f, "url", what)
	if h.URL != "" {
		u, err := url.Parse(h.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			d.errorf(f["url"].v, "%s url must be an http:// or https:// URL, not %q", what, h.URL)
		}
	}
	if t, ok := f["timeout"]; ok {
		if v, ok := d.duration(t.v, what+" timeout"); ok {
			h.Timeout = v
		}
	}
	return h
}
