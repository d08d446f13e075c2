package image

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The archive fuzz targets take a short text that describes an archive,
// one entry a line, and build the archive from it. Raw archive bytes make
// poor fuzz input: a mutated tar header fails its checksum, a mutated zip
// entry its CRC, so almost nothing reaches pier's code; and Go's fuzzer
// minimizes every new input with work quadratic in its length, which for a
// multi-kilobyte archive takes its whole minute and stalls the run (the 5–8
// executions in 30 s of issue 12). A description of a few hundred bytes
// mutates into names, links, types, sizes and contents that matter, and
// minimizes in moments. What the builders do with raw bytes they cannot
// parse is the standard library's reader, and the unit tests' concern.

// unescape turns \n, \r, \t and \\ of a description into the characters.
var unescape = strings.NewReplacer(`\n`, "\n", `\r`, "\r", `\t`, "\t", `\\`, `\`)

// jarOf builds a jar from lines `FLAGS NAME CONTENT`. Flags: d deflate
// (else stored), l a symlink entry, u a claimed uncompressed size of 1 TiB,
// U one byte more than the data, c a claimed compressed size of 1 MiB
// (entries that overlap); "-" for none. It returns the zip bytes and the
// header edits to apply after reading (tar and zip writers refuse to lie).
func jarOf(desc string) ([]byte, func(*zip.Reader)) {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	var flags []string
	for _, line := range strings.Split(desc, "\n") {
		fl, rest, _ := strings.Cut(line, " ")
		name, content, _ := strings.Cut(rest, " ")
		h := &zip.FileHeader{Name: unescape.Replace(name), Method: zip.Store}
		if strings.Contains(fl, "d") {
			h.Method = zip.Deflate
		}
		if strings.Contains(fl, "l") {
			h.SetMode(fs.ModeSymlink | 0o777)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			continue
		}
		if _, err := io.WriteString(w, unescape.Replace(content)); err != nil {
			continue
		}
		flags = append(flags, fl)
	}
	_ = zw.Close()
	return b.Bytes(), func(zr *zip.Reader) {
		for i, f := range zr.File {
			if i >= len(flags) {
				break
			}
			switch fl := flags[i]; {
			case strings.Contains(fl, "u"):
				f.UncompressedSize64 = 1 << 40
			case strings.Contains(fl, "U"):
				f.UncompressedSize64++
			case strings.Contains(fl, "c"):
				f.CompressedSize64 = 1 << 20
			}
		}
	}
}

// FuzzSpringBootJar builds a jar from each description and gives it to the
// springboot builder's checks and recipe: it never panics, errors name the
// jar, every entry of every layer lands under /app, and the layers written
// from the jar are at most DEFLATE's ratio times its size.
func FuzzSpringBootJar(f *testing.F) {
	manifest := `d META-INF/MANIFEST.MF Main-Class: org.springframework.boot.loader.launch.JarLauncher\r\nSpring-Boot-Layers-Index: BOOT-INF/layers.idx\r\n\r\n`
	for _, seed := range []string{
		manifest + "\n" +
			`d BOOT-INF/layers.idx - "dependencies":\n  - "BOOT-INF/lib/"\n- "spring-boot-loader":\n  - "org/"\n- "application":\n  - "BOOT-INF/classes/"\n` + "\n" +
			"- BOOT-INF/lib/a.jar PK\n- BOOT-INF/classes/ \nd BOOT-INF/classes/app/Main.class \\xca\\xfe\nd org/springframework/boot/L.class x",
		"d META-INF/MANIFEST.MF Main-Class: a.B\\n\n- ../../etc/passwd x",
		"d META-INF/MANIFEST.MF Main-Class: a.B\\n\nl BOOT-INF/lib/x.jar /etc/passwd",
		"d META-INF/MANIFEST.MF Main-Class: a.B\\n\nud BOOT-INF/classes/big xxxxxxxxxxxxxxxx",
		"d META-INF/MANIFEST.MF Main-Class: a.B\\n\nU BOOT-INF/classes/a abc\nc BOOT-INF/classes/b abc",
		"d META-INF/MANIFEST.MF Main-Class: a.B\\nSpring-Boot-Layers-Index: idx\\n\n- idx - \"a\":\\n  - \"x/\"\\n\n- x/y 1\n- x 2",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, desc string) {
		data, edit := jarOf(desc)
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		edit(zr)
		if err := checkJar(zr, int64(len(data))); err != nil {
			return
		}
		r, err := jarRecipe(zr, "app.jar", "example.com/base:1")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "springboot: app.jar") {
				t.Fatalf("error without the builder's name and the jar: %v", err)
			}
			return
		}
		budget := int64(len(data))*maxDeflateRatio + 1<<16
		for _, spec := range r.layers {
			entries, err := spec.normalize()
			if err != nil {
				continue
			}
			for _, e := range entries {
				if e.name != "app" && !strings.HasPrefix(e.name, "app/") {
					t.Fatalf("%s: entry %q outside /app", spec.comment, e.name)
				}
			}
			// A zip whose sizes lie fails here with an error, not a panic.
			n := &countWriter{w: io.Discard}
			_ = writeTar(n, entries, time.Unix(0, 0))
			if budget -= n.n; budget < 0 {
				t.Fatalf("a %d-byte jar made layers of more than %d× its size", len(data), maxDeflateRatio)
			}
		}
	})
}

// tarOfDesc builds a tar from lines `TYPE NAME REST`: f a file with
// content REST, d a directory, s a symlink to REST, h a hard link to REST,
// S a file whose header claims REST bytes more than it holds (a sparse or
// truncated entry), any other byte that tar type. In names and contents,
// {N} stands for the sha256 hex of line N's content and {#N} for its
// length, so a description can hold a valid OCI layout in a few lines.
func tarOfDesc(desc string) []byte {
	type line struct{ typ, name, rest string }
	var lines []line
	for _, l := range strings.Split(desc, "\n") {
		typ, rest, _ := strings.Cut(l, " ")
		name, rest, _ := strings.Cut(rest, " ")
		if typ == "" {
			typ = "f"
		}
		lines = append(lines, line{typ[:1], unescape.Replace(name), unescape.Replace(rest)})
	}
	sums := make([]string, len(lines))
	sizes := make([]string, len(lines))
	subst := func(s string, upto int) string {
		for i := 0; i < upto && strings.Contains(s, "{"); i++ {
			s = strings.ReplaceAll(s, "{"+strconv.Itoa(i)+"}", sums[i])
			s = strings.ReplaceAll(s, "{#"+strconv.Itoa(i)+"}", sizes[i])
		}
		return s
	}
	for i := range lines { // contents may name earlier lines' digests
		lines[i].rest = subst(lines[i].rest, i)
		sum := sha256.Sum256([]byte(lines[i].rest))
		sums[i], sizes[i] = hex.EncodeToString(sum[:]), strconv.Itoa(len(lines[i].rest))
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, l := range lines {
		h := &tar.Header{Name: subst(l.name, len(lines)), Mode: 0o644, ModTime: time.Unix(0, 0)}
		var body string
		switch l.typ {
		case "f":
			h.Typeflag, h.Size, body = tar.TypeReg, int64(len(l.rest)), l.rest
		case "d":
			h.Typeflag = tar.TypeDir
		case "s":
			h.Typeflag, h.Linkname = tar.TypeSymlink, l.rest
		case "h":
			h.Typeflag, h.Linkname = tar.TypeLink, l.rest
		case "S":
			n, _ := strconv.ParseInt(l.rest, 10, 40)
			h.Typeflag, h.Size = tar.TypeReg, n
		default:
			h.Typeflag = l.typ[0]
		}
		if tw.WriteHeader(h) != nil {
			continue
		}
		if _, err := io.WriteString(tw, body); err != nil {
			break
		}
	}
	_ = tw.Close() // fails after an S line: the archive stays short, as a truncated one is
	return b.Bytes()
}

// FuzzOCIArchive builds a tar from each description and gives it to the
// reader the oci builder uses (an OCI archive or a docker save tarball):
// never a panic, errors name the builder, nothing is left outside the
// cache's own directories, and an image that reads has a digest.
func FuzzOCIArchive(f *testing.F) {
	layout := strings.Join([]string{
		`f oci-layout {"imageLayoutVersion":"1.0.0"}`,
		`f blobs/sha256/{1} x`,
		`f blobs/sha256/{2} {"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:{1}"]}}`,
		`f blobs/sha256/{3} {"schemaVersion":2,"config":{"digest":"sha256:{2}","size":{#2}},"layers":[{"digest":"sha256:{1}","size":{#1}}]}`,
		`f index.json {"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{3}","size":{#3}}]}`,
	}, "\n")
	saved := strings.Join([]string{
		`f l x`,
		`f c {"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:{0}"]}}`,
		`f manifest.json [{"Config":"c","RepoTags":["a:1"],"Layers":["l"]}]`,
	}, "\n")
	for _, seed := range []string{
		layout, saved,
		layout + "\nh blobs/sha256/copy blobs/sha256/{1}",
		layout + "\ns index2.json index.json",
		saved + "\ns m /etc/passwd",
		"f ../../x y",
		"f oci-layout {}\nS blobs/big 1073741824",
		"f oci-layout {}\n3 dev",
	} {
		f.Add(seed)
	}
	root := f.TempDir()
	cache, err := OpenCache(filepath.Join(root, "cache"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, desc string) {
		data := tarOfDesc(desc)
		defer os.RemoveAll(filepath.Join(cache.Dir(), "oci"))
		src := archiveSource{name: "image.tar", size: int64(len(data)), open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		}}
		a := &Artifact{Name: "app"}
		dir, err := cache.readArchive(src, a)
		if err == nil && dir != "" {
			err = readLayout(dir, src.name, a)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "oci: ") {
			t.Fatalf("error without the builder's name: %v", err)
		}
		tmp := filepath.Join(cache.Dir(), "tmp")
		for _, d := range []string{root, cache.Dir(), tmp} {
			entries, _ := os.ReadDir(d)
			for _, e := range entries {
				switch e.Name() {
				case "cache", "blobs", "layers", "tmp", "oci":
					if d != tmp {
						continue
					}
				}
				t.Fatalf("reading the archive left %s outside the cache's extracted layouts", filepath.Join(d, e.Name()))
			}
		}
		if err != nil {
			return
		}
		var h v1.Hash
		if a.Index != nil {
			h, err = a.Index.Digest()
		} else {
			h, err = a.Image.Digest()
		}
		if err == nil && h.Hex == "" {
			t.Fatal("read an image without a digest")
		}
	})
}

// TestFuzzSeedsReachTheReaders: the seeds of the archive fuzz targets are
// what they say (a layout and a docker save that read; archives refused
// for the reason they were written for), so the fuzzer starts from inputs
// that reach pier's code.
func TestFuzzSeedsReachTheReaders(t *testing.T) {
	cache, err := OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	read := func(desc string) (*Artifact, error) {
		data := tarOfDesc(desc)
		a := &Artifact{}
		dir, err := cache.readArchive(archiveSource{name: "t.tar", size: int64(len(data)), open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		}}, a)
		if err == nil && dir != "" {
			err = readLayout(dir, "t.tar", a)
		}
		return a, err
	}
	layout := "f oci-layout {\"imageLayoutVersion\":\"1.0.0\"}\nf blobs/sha256/{1} x\nf blobs/sha256/{2} {\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:{1}\"]}}\nf blobs/sha256/{3} {\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:{2}\",\"size\":{#2}},\"layers\":[{\"digest\":\"sha256:{1}\",\"size\":{#1}}]}\nf index.json {\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:{3}\",\"size\":{#3}}]}"
	for _, desc := range []string{layout, layout + "\nh blobs/sha256/copy blobs/sha256/{1}",
		"f l x\nf c {\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:{0}\"]}}\nf manifest.json [{\"Config\":\"c\",\"RepoTags\":[\"a:1\"],\"Layers\":[\"l\"]}]"} {
		a, err := read(desc)
		if err != nil {
			t.Fatalf("%q: %v", desc, err)
		}
		img := a.Image
		if img == nil {
			t.Fatalf("%q: no image", desc)
		}
		if cf, err := img.ConfigFile(); err != nil || cf.Architecture != "amd64" {
			t.Errorf("%q: config %v, %v", desc, cf, err)
		}
	}
	for desc, want := range map[string]string{
		"f ../../x y": "climbs out with ..",
		"f oci-layout {}\nS blobs/big 1073741824": "claims 1073741824 bytes, more than",
		"f oci-layout {}\n3 dev":                  "of tar type",
		"f l x\ns m /etc/passwd":                  "is an absolute path",
		layout + "\ns index2.json index.json":     "is a symlink; an OCI archive",
	} {
		if _, err := read(desc); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", desc, err, want)
		}
	}
}
