package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestPlatformFiles: a file of images only parses (pier's own action image
// has no service), platformFiles sources resolve against the file like
// files:, and platformFiles must name exactly the platforms built.
func TestPlatformFiles(t *testing.T) {
	const head = "platforms: [linux/amd64, linux/arm64]\nimages:\n  pier:\n    files:\n      base: scratch\n"
	ok := head + "      files: { /etc/ca.crt: ca.crt }\n      platformFiles:\n        linux/amd64: { /usr/local/bin/pier: dist/amd64/pier }\n        linux/arm64: { /usr/local/bin/pier: dist/arm64/pier }\n"
	f, err := Parse(filepath.Join("ci", "pier.yaml"), []byte(ok), env())
	if err != nil {
		t.Fatal(err)
	}
	fb := f.Images[0].Files
	want := map[string]map[string]string{
		"linux/amd64": {"/usr/local/bin/pier": filepath.Join("ci", "dist/amd64/pier")},
		"linux/arm64": {"/usr/local/bin/pier": filepath.Join("ci", "dist/arm64/pier")},
	}
	if fb.Base != Scratch || !reflect.DeepEqual(fb.PlatformFiles, want) || len(f.Services) != 0 {
		t.Errorf("base %q, platformFiles %v, %d services; want scratch, %v, none", fb.Base, fb.PlatformFiles, len(f.Services), want)
	}

	for _, tt := range []struct {
		name, yaml string
		want       []string
	}{
		{"a platform without its files", head + "      platformFiles:\n        linux/amd64: { /pier: a }\n",
			[]string{`p.yaml:4:5: image "pier" builder files: platformFiles has no entry for linux/arm64, which platforms: builds; add linux/arm64: {…} under platformFiles`}},
		{"files of a platform not built", "images:\n  pier:\n    files:\n      base: scratch\n      platformFiles:\n        linux/amd64: { /pier: a }\n        linux/arm64: { /pier: b }\n",
			[]string{`p.yaml:7:9: image "pier" builder files: platformFiles names linux/arm64, which is not built (platforms: linux/amd64); add it to platforms: or remove the entry`}},
		{"not a platform, relative destination", head + "      platformFiles:\n        linux/amd64: { pier: a }\n        linux/arm64: { /pier: b }\n        arm64: {}\n",
			[]string{`p.yaml:7:24: image "pier" builder files platformFiles linux/amd64: destination "pier" must be an absolute path in the image, such as /usr/local/bin/pier`,
				`p.yaml:9:9: image "pier" builder files platformFiles: "arm64" is not a platform; the keys are platforms of platforms:, such as linux/amd64`}},
		{"files of a platform is a list", head + "      platformFiles:\n        linux/amd64: [a]\n        linux/arm64: {}\n",
			[]string{`p.yaml:7:22: image "pier" builder files platformFiles linux/amd64 must be a mapping (key: value lines), not a list`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tt.yaml), env())
			var got []string
			for _, e := range AsErrors(err) {
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
