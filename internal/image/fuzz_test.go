package image

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/pier-deploy/pier/internal/image/bootjar"
)

// jarEntry reads one entry of the generated test jar, for seed corpora.
func jarEntry(t testing.TB, name string) []byte {
	data := bootjar.Bytes(bootjar.Spec{AppVersion: "1.0.0"})
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	f, err := zr.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func renderLayersIndex(ls []BootLayer) string {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString("- \"" + l.Name + "\":\n")
		for _, p := range l.Paths {
			b.WriteString("  - \"" + p + "\"\n")
		}
	}
	return b.String()
}

func TestParseLayersIndex(t *testing.T) {
	got, err := ParseLayersIndex(jarEntry(t, "BOOT-INF/layers.idx"))
	if err != nil {
		t.Fatal(err)
	}
	want := `[{dependencies [BOOT-INF/lib/jackson-databind-2.17.2.jar BOOT-INF/lib/spring-boot-3.3.5.jar BOOT-INF/lib/spring-core-6.1.14.jar BOOT-INF/lib/spring-web-6.1.14.jar]} {spring-boot-loader [org/]} {snapshot-dependencies [BOOT-INF/lib/inforum-common-1.0-SNAPSHOT.jar]} {application [BOOT-INF/classes/ BOOT-INF/classpath.idx BOOT-INF/layers.idx META-INF/]}]`
	if fmt.Sprint(got) != want {
		t.Errorf("got  %v\nwant %s", got, want)
	}
	for path, layer := range map[string]string{
		"BOOT-INF/lib/spring-core-6.1.14.jar":          "dependencies",
		"BOOT-INF/lib/spring-core-6.1.14.jar.sig":      "application", // exact entries are not prefixes
		"org/springframework/boot/loader/x.class":      "spring-boot-loader",
		"BOOT-INF/classes/com/inforum/A.class":         "application",
		"BOOT-INF/lib/inforum-common-1.0-SNAPSHOT.jar": "snapshot-dependencies",
	} {
		i := layerFor(got, path)
		name := "application"
		if i >= 0 {
			name = got[i].Name
		}
		if name != layer {
			t.Errorf("%s → %s, want %s", path, name, layer)
		}
	}
}

func TestParseManifest(t *testing.T) {
	for _, tc := range []struct{ in, key, want string }{
		{string(jarEntry(t, "META-INF/MANIFEST.MF")), "Main-Class", bootjar.MainClass},
		{"Manifest-Version: 1.0\r\nStart-Class: com.example.very.long.packag\r\n e.Application\r\n\r\nName: x\r\nMain-Class: nope\r\n", "Start-Class", "com.example.very.long.package.Application"},
		{"Main-Class: a.B\n", "Main-Class", "a.B"},
	} {
		attrs, err := ParseManifest([]byte(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		if attrs[tc.key] != tc.want {
			t.Errorf("%s = %q, want %q", tc.key, attrs[tc.key], tc.want)
		}
	}
	if _, err := ParseManifest([]byte("no colon here\n")); err == nil || !strings.Contains(err.Error(), "META-INF/MANIFEST.MF:1:1") {
		t.Errorf("err = %v, want a positioned error", err)
	}
}

// FuzzParseLayersIndex: never panics, and what parses renders back to an
// index that parses to the same layers.
func FuzzParseLayersIndex(f *testing.F) {
	f.Add(jarEntry(f, "BOOT-INF/layers.idx"))
	f.Add([]byte("- \"a\":\n  - \"x/\"\n- \"b\":\n"))
	f.Add([]byte("  - \"orphan\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ls, err := ParseLayersIndex(data)
		if err != nil {
			return
		}
		again, err := ParseLayersIndex([]byte(renderLayersIndex(ls)))
		if err != nil {
			t.Fatalf("re-parsing %q: %v", renderLayersIndex(ls), err)
		}
		if fmt.Sprint(ls) != fmt.Sprint(again) {
			t.Fatalf("round trip changed %v into %v", ls, again)
		}
	})
}

// FuzzParseManifest: never panics; every attribute name is one the jar
// specification allows.
func FuzzParseManifest(f *testing.F) {
	f.Add(jarEntry(f, "META-INF/MANIFEST.MF"))
	f.Add([]byte("A: b\r\n c\r\n"))
	f.Add([]byte(" leading continuation\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		attrs, err := ParseManifest(data)
		if err != nil {
			return
		}
		for k := range attrs {
			if !validAttrName(k) {
				t.Fatalf("bad attribute name %q", k)
			}
		}
	})
}

// zipOf makes a zip archive of name → content, in name order.
func zipOf(t testing.TB, files map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, files[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
