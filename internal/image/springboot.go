package image

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/confine"
)

// BootLayer is one entry of BOOT-INF/layers.idx: a layer name and the jar
// paths it claims (a path ending in "/" claims everything below it).
type BootLayer struct {
	Name  string
	Paths []string
}

// ParseLayersIndex parses Spring Boot's BOOT-INF/layers.idx:
//
//   - "dependencies":
//   - "BOOT-INF/lib/"
//   - "application":
//   - "BOOT-INF/classes/"
func ParseLayersIndex(data []byte) ([]BootLayer, error) {
	var out []BootLayer
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		switch {
		case strings.HasPrefix(text, "- "):
			name, ok := quoted(strings.TrimSuffix(strings.TrimPrefix(text, "- "), ":"))
			if !ok || !strings.HasSuffix(text, ":") || name == "" {
				return nil, fmt.Errorf("BOOT-INF/layers.idx:%d:1: want a layer line like `- \"dependencies\":`, got %q", line, text)
			}
			out = append(out, BootLayer{Name: name})
		case strings.HasPrefix(text, "  - "):
			p, ok := quoted(strings.TrimPrefix(text, "  - "))
			if !ok || p == "" {
				return nil, fmt.Errorf("BOOT-INF/layers.idx:%d:5: want a quoted path, got %q", line, text)
			}
			if len(out) == 0 {
				return nil, fmt.Errorf("BOOT-INF/layers.idx:%d:1: path %q comes before any layer", line, p)
			}
			out[len(out)-1].Paths = append(out[len(out)-1].Paths, p)
		default:
			return nil, fmt.Errorf("BOOT-INF/layers.idx:%d:1: unexpected line %q", line, text)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading BOOT-INF/layers.idx: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("BOOT-INF/layers.idx: no layers")
	}
	return out, nil
}

func quoted(s string) (string, bool) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", false
	}
	s = s[1 : len(s)-1]
	return s, !strings.Contains(s, `"`)
}

// ParseManifest parses a jar's META-INF/MANIFEST.MF into its main attributes
// (the first section), joining continuation lines (those starting with one space).
func ParseManifest(data []byte) (map[string]string, error) {
	attrs := map[string]string{}
	var last string
	for i, raw := range strings.Split(string(data), "\n") {
		text := strings.TrimSuffix(raw, "\r")
		if text == "" {
			if len(attrs) > 0 {
				break // end of the main section
			}
			continue
		}
		if strings.HasPrefix(text, " ") {
			if last == "" {
				return nil, fmt.Errorf("META-INF/MANIFEST.MF:%d:1: continuation line without an attribute", i+1)
			}
			attrs[last] += text[1:]
			continue
		}
		k, v, ok := strings.Cut(text, ": ")
		if !ok && strings.HasSuffix(text, ":") {
			k, v, ok = strings.TrimSuffix(text, ":"), "", true
		}
		if !ok || !validAttrName(k) {
			return nil, fmt.Errorf("META-INF/MANIFEST.MF:%d:1: want `Name: value`, got %q", i+1, text)
		}
		attrs[k] = v
		last = k
	}
	return attrs, nil
}

// validAttrName: the jar specification allows letters, digits, '-' and '_'.
func validAttrName(k string) bool {
	if k == "" || len(k) > 70 {
		return false
	}
	for _, r := range k {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// fallbackLayers is Spring Boot's own default split, used for jars built
// without layers.idx.
var fallbackLayers = []BootLayer{
	{Name: "dependencies", Paths: []string{"BOOT-INF/lib/"}},
	{Name: "spring-boot-loader", Paths: []string{"org/springframework/boot/loader/"}},
	{Name: "application", Paths: []string{""}},
}

// layerFor returns the index of the first layer claiming path, or -1.
func layerFor(layers []BootLayer, path string) int {
	for i, l := range layers {
		for _, p := range l.Paths {
			if p == "" || p == path || (strings.HasSuffix(p, "/") && strings.HasPrefix(path, p)) {
				return i
			}
		}
	}
	return -1
}

// springBootRecipe explodes the fat jar into /app, one layer per layers.idx
// entry in index order, and runs the manifest's Main-Class (the launcher)
// with -cp /app, as Spring Boot documents for exploded jars.
func springBootRecipe(b *config.SpringBootBuild, root *confine.Root) (*recipe, error) {
	f, err := root.Open(b.Jar)
	if err != nil {
		return nil, fmt.Errorf("springboot: opening jar: %w", err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	var zr *zip.Reader
	if err == nil {
		zr, err = zip.NewReader(f, fi.Size())
	}
	if err == nil {
		err = checkJar(zr, fi.Size())
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("springboot: opening jar %s: %w", b.Jar, err)
	}
	r, err := jarRecipe(zr, b.Jar, b.Base)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closers = append(r.closers, f)
	return r, nil
}

// jarRecipe is the springboot builder over an opened, checked jar; jar
// names it in errors.
func jarRecipe(zr *zip.Reader, jar, base string) (*recipe, error) {
	r := &recipe{base: orDefault(base, DefaultSpringBootBase)}
	byName := map[string]*zip.File{}
	for _, f := range zr.File {
		byName[f.Name] = f
	}
	readEntry := func(n string) ([]byte, bool, error) {
		f := byName[n]
		if f == nil {
			return nil, false, nil
		}
		rc, err := f.Open()
		if err != nil {
			return nil, true, err
		}
		defer rc.Close()
		data, err := io.ReadAll(io.LimitReader(rc, 1<<20))
		return data, true, err
	}
	mf, found, err := readEntry("META-INF/MANIFEST.MF")
	if err != nil || !found {
		return nil, fmt.Errorf("springboot: %s has no readable META-INF/MANIFEST.MF (is it a jar?): %v", jar, err)
	}
	attrs, err := ParseManifest(mf)
	if err != nil {
		return nil, fmt.Errorf("springboot: %s: %w", jar, err)
	}
	main := attrs["Main-Class"]
	if main == "" {
		return nil, fmt.Errorf("springboot: %s has no Main-Class in META-INF/MANIFEST.MF; build it with the Spring Boot plugin (bootJar / repackage)", jar)
	}
	layers := fallbackLayers
	if idxName := attrs["Spring-Boot-Layers-Index"]; idxName != "" || byName["BOOT-INF/layers.idx"] != nil {
		if idxName == "" {
			idxName = "BOOT-INF/layers.idx"
		}
		data, found, err := readEntry(idxName)
		if err != nil || !found {
			return nil, fmt.Errorf("springboot: %s names %s but it cannot be read: %v", jar, idxName, err)
		}
		if layers, err = ParseLayersIndex(data); err != nil {
			return nil, fmt.Errorf("springboot: %s: %w", jar, err)
		}
	}
	specs := make([]*layerSpec, len(layers))
	for i, l := range layers {
		specs[i] = &layerSpec{comment: "springboot: " + l.Name}
	}
	for _, f := range zr.File {
		i := layerFor(layers, f.Name)
		if i < 0 {
			i = len(layers) - 1 // unclaimed entries are application code
		}
		name := cleanName("app/" + strings.TrimSuffix(f.Name, "/"))
		if !strings.HasPrefix(name, "app/") {
			return nil, fmt.Errorf("springboot: %s: entry %q would land outside /app; rebuild the jar", jar, f.Name)
		}
		if strings.HasSuffix(f.Name, "/") {
			specs[i].add(entry{name: name, kind: tar.TypeDir})
			continue
		}
		zf := f
		specs[i].add(entry{name: name, kind: tar.TypeReg, size: int64(zf.UncompressedSize64),
			open: func() (io.ReadCloser, error) { return zf.Open() }})
	}
	for _, s := range specs {
		if !s.empty() {
			r.layers = append(r.layers, s)
		}
	}
	r.configure = func(c *v1.Config) {
		c.WorkingDir = "/app"
		c.Entrypoint = []string{"java", "-cp", "/app", main}
		c.Cmd = nil
		c.ExposedPorts = map[string]struct{}{"8080/tcp": {}}
	}
	return r, nil
}
