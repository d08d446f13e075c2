package config

import (
	"fmt"
	"sort"
	"strings"
)

// platformFiles reads `platformFiles: {linux/amd64: {/dest: source}, …}`:
// the files of a files: image that differ per platform.
func (d *decoder) platformFiles(img *Image, f map[string]entry, what string) (map[string]map[string]string, map[string]Pos) {
	e, ok := f["platformFiles"]
	if !ok {
		return nil, nil
	}
	es, _ := d.entries(e.v, what+" platformFiles", true)
	out := make(map[string]map[string]string, len(es))
	pos := make(map[string]Pos, len(es))
	for _, pe := range es {
		pos[pe.key] = d.pos(pe.k)
		if !platformPattern.MatchString(pe.key) {
			d.errorf(pe.k, "%s platformFiles: %q is not a platform; the keys are platforms of platforms:, such as linux/amd64", what, pe.key)
		}
		files, fpos, _ := d.strMap(pe.v, fmt.Sprintf("%s platformFiles %s", what, pe.key))
		dsts := make([]string, 0, len(files))
		for dst := range files {
			dsts = append(dsts, dst)
		}
		sort.Strings(dsts)
		for _, dst := range dsts {
			if !strings.HasPrefix(dst, "/") {
				d.errs = append(d.errs, &Error{Pos: fpos[dst], Msg: fmt.Sprintf("%s platformFiles %s: destination %q must be an absolute path in the image, such as /usr/local/bin/%s", what, pe.key, dst, dst)})
			} else if msg := checkDest(dst); msg != "" {
				d.errs = append(d.errs, &Error{Pos: fpos[dst], Msg: fmt.Sprintf("%s platformFiles %s: destination %q %s", what, pe.key, dst, msg)})
			}
			if files[dst] != "" {
				img.Inputs = append(img.Inputs, Input{Path: files[dst], Pos: fpos[dst], What: fmt.Sprintf("platformFiles %s source for %s", pe.key, dst)})
			}
		}
		out[pe.key] = files
	}
	return out, pos
}

// checkPlatformFiles holds platformFiles: to platforms: both ways: a
// platform built without its files would lack them silently, and files of a
// platform that is not built are a typo or a stale entry.
func (d *decoder) checkPlatformFiles(platforms []string, img *Image) {
	fb := img.Files
	if fb.PlatformFiles == nil {
		return
	}
	built := platforms
	if len(built) == 0 {
		built = []string{DefaultPlatform}
	}
	for _, p := range built {
		if _, ok := fb.PlatformFiles[p]; !ok {
			d.errs = append(d.errs, &Error{Pos: fb.Pos, Msg: fmt.Sprintf("image %q builder files: platformFiles has no entry for %s, which platforms: builds; add %s: {…} under platformFiles", img.Name, p, p)})
		}
	}
	keys := make([]string, 0, len(fb.PlatformFiles))
	for p := range fb.PlatformFiles {
		keys = append(keys, p)
	}
	sort.Strings(keys)
	for _, p := range keys {
		found := false
		for _, b := range built {
			found = found || b == p
		}
		if !found && platformPattern.MatchString(p) {
			d.errs = append(d.errs, &Error{Pos: fb.PlatformPos[p], Msg: fmt.Sprintf("image %q builder files: platformFiles names %s, which is not built (platforms: %s); add it to platforms: or remove the entry", img.Name, p, strings.Join(built, ", "))})
		}
	}
}

// DefaultPlatform is what images are built for when platforms: is absent.
const DefaultPlatform = "linux/amd64"
