// Package bootjar writes small Spring Boot layered fat jars for tests and
// benchmarks: the layout `spring-boot-maven-plugin repackage` produces
// (launcher classes, BOOT-INF/classes, nested BOOT-INF/lib jars stored
// uncompressed, classpath.idx, layers.idx), with fixed timestamps so the same
// Spec always gives the same bytes. The class files are minimal but valid
// (javap reads them); they are not meant to run.
package bootjar

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"
)

// Epoch is the timestamp of every entry; Spring Boot's reproducible builds use it too.
var Epoch = time.Date(1980, 2, 1, 0, 0, 0, 0, time.UTC)

// MainClass is the launcher that Spring Boot 3.2+ writes as Main-Class.
const MainClass = "org.springframework.boot.loader.launch.JarLauncher"

// StartClass is the application's own main class.
const StartClass = "com.inforum.backend.BackendApplication"

// Spec says what goes into the jar.
type Spec struct {
	// AppVersion is baked into one application class, so two versions differ
	// in exactly one class file.
	AppVersion string
	// PaddingBytes adds a dependency jar of that many incompressible bytes
	// (for benchmarks that want a realistic 50 MB jar).
	PaddingBytes int
	// AppPaddingBytes adds a static resource of that many incompressible
	// bytes to the application (BOOT-INF/classes/static/app.bin), for a
	// realistic application layer.
	AppPaddingBytes int
	// NoLayersIndex leaves out BOOT-INF/layers.idx (jars from old plugins).
	NoLayersIndex bool
}

// Dependencies are the nested jars of the generated application.
var Dependencies = []string{
	"jackson-databind-2.17.2.jar",
	"spring-boot-3.3.5.jar",
	"spring-core-6.1.14.jar",
	"spring-web-6.1.14.jar",
}

// SnapshotDependency is the one -SNAPSHOT jar, for the snapshot-dependencies layer.
const SnapshotDependency = "inforum-common-1.0-SNAPSHOT.jar"

var loaderClasses = []string{
	"org/springframework/boot/loader/launch/Archive",
	"org/springframework/boot/loader/launch/ExecutableArchiveLauncher",
	"org/springframework/boot/loader/launch/JarLauncher",
	"org/springframework/boot/loader/launch/LaunchedClassLoader",
	"org/springframework/boot/loader/launch/Launcher",
}

var appClasses = []string{
	"com/inforum/backend/BackendApplication",
	"com/inforum/backend/post/PostController",
	"com/inforum/backend/post/PostRepository",
	"com/inforum/backend/post/PostService",
	"com/inforum/backend/version/VersionController",
}

// Write writes the jar described by s to w.
func Write(w io.Writer, s Spec) error {
	zw := zip.NewWriter(w)
	jw := &jarWriter{zw: zw}
	jw.dir("META-INF/")
	jw.file("META-INF/MANIFEST.MF", []byte(manifest(s)), zip.Deflate)
	jw.dir("org/")
	jw.dir("org/springframework/")
	jw.dir("org/springframework/boot/")
	jw.dir("org/springframework/boot/loader/")
	jw.dir("org/springframework/boot/loader/launch/")
	for _, c := range loaderClasses {
		jw.file(c+".class", Class(c, "spring-boot-loader 3.3.5"), zip.Deflate)
	}
	jw.dir("BOOT-INF/")
	jw.dir("BOOT-INF/classes/")
	for _, d := range []string{"com/", "com/inforum/", "com/inforum/backend/", "com/inforum/backend/post/", "com/inforum/backend/version/"} {
		jw.dir("BOOT-INF/classes/" + d)
	}
	for _, c := range appClasses {
		marker := "inforum backend"
		if strings.HasSuffix(c, "VersionController") {
			marker = "version " + s.AppVersion
		}
		jw.file("BOOT-INF/classes/"+c+".class", Class(c, marker), zip.Deflate)
	}
	if s.AppPaddingBytes > 0 {
		jw.dir("BOOT-INF/classes/static/")
		jw.file("BOOT-INF/classes/static/app.bin", randomBytes(s.AppPaddingBytes, 7), zip.Store)
	}
	jw.file("BOOT-INF/classes/application.properties", []byte("server.port=8080\nspring.application.name=inforum-backend\n"), zip.Deflate)
	jw.dir("BOOT-INF/lib/")
	libs := append([]string(nil), Dependencies...)
	if s.PaddingBytes > 0 {
		libs = append(libs, "inforum-assets-1.0.0.jar")
	}
	for _, lib := range libs {
		var nested []byte
		if lib == "inforum-assets-1.0.0.jar" {
			nested = nestedJar(lib, s.PaddingBytes)
		} else {
			nested = nestedJar(lib, 0)
		}
		jw.file("BOOT-INF/lib/"+lib, nested, zip.Store) // Spring Boot requires nested jars stored
	}
	jw.file("BOOT-INF/lib/"+SnapshotDependency, nestedJar(SnapshotDependency, 0), zip.Store)
	all := append(libs, SnapshotDependency)
	var cp strings.Builder
	for _, lib := range all {
		fmt.Fprintf(&cp, "- \"BOOT-INF/lib/%s\"\n", lib)
	}
	jw.file("BOOT-INF/classpath.idx", []byte(cp.String()), zip.Deflate)
	if !s.NoLayersIndex {
		var li strings.Builder
		li.WriteString("- \"dependencies\":\n")
		for _, lib := range libs {
			fmt.Fprintf(&li, "  - \"BOOT-INF/lib/%s\"\n", lib)
		}
		li.WriteString("- \"spring-boot-loader\":\n  - \"org/\"\n")
		fmt.Fprintf(&li, "- \"snapshot-dependencies\":\n  - \"BOOT-INF/lib/%s\"\n", SnapshotDependency)
		li.WriteString("- \"application\":\n  - \"BOOT-INF/classes/\"\n  - \"BOOT-INF/classpath.idx\"\n  - \"BOOT-INF/layers.idx\"\n  - \"META-INF/\"\n")
		jw.file("BOOT-INF/layers.idx", []byte(li.String()), zip.Deflate)
	}
	if jw.err != nil {
		return jw.err
	}
	return zw.Close()
}

// Bytes returns the jar described by s.
func Bytes(s Spec) []byte {
	var b bytes.Buffer
	if err := Write(&b, s); err != nil {
		panic(err) // writing to memory cannot fail
	}
	return b.Bytes()
}

func manifest(s Spec) string {
	lines := []string{
		"Manifest-Version: 1.0",
		"Created-By: Maven JAR Plugin 3.4.1",
		"Build-Jdk-Spec: 21",
		"Implementation-Title: inforum-backend",
		"Implementation-Version: " + s.AppVersion,
		"Main-Class: " + MainClass,
		"Start-Class: " + StartClass,
		"Spring-Boot-Version: 3.3.5",
		"Spring-Boot-Classes: BOOT-INF/classes/",
		"Spring-Boot-Lib: BOOT-INF/lib/",
		"Spring-Boot-Classpath-Index: BOOT-INF/classpath.idx",
	}
	if !s.NoLayersIndex {
		lines = append(lines, "Spring-Boot-Layers-Index: BOOT-INF/layers.idx")
	}
	return strings.Join(lines, "\r\n") + "\r\n\r\n"
}

type jarWriter struct {
	zw  *zip.Writer
	err error
}

func (j *jarWriter) dir(name string) {
	if j.err != nil {
		return
	}
	_, j.err = j.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store, Modified: Epoch})
}

func (j *jarWriter) file(name string, data []byte, method uint16) {
	if j.err != nil {
		return
	}
	w, err := j.zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: Epoch})
	if err == nil {
		_, err = w.Write(data)
	}
	j.err = err
}

// nestedJar is a small library jar: a manifest and one class, plus padding
// bytes of seeded random data (incompressible, like real class-heavy jars).
func nestedJar(name string, padding int) []byte {
	var b bytes.Buffer
	jw := &jarWriter{zw: zip.NewWriter(&b)}
	base := strings.TrimSuffix(name, ".jar")
	jw.file("META-INF/MANIFEST.MF", []byte("Manifest-Version: 1.0\r\nImplementation-Title: "+base+"\r\n\r\n"), zip.Deflate)
	pkg := "lib/" + strings.NewReplacer("-", "_", ".", "_").Replace(base)
	jw.file(pkg+"/Library.class", Class(pkg+"/Library", base), zip.Deflate)
	if padding > 0 {
		jw.file(pkg+"/assets.bin", randomBytes(padding, 42), zip.Store)
	}
	if jw.err != nil {
		panic(jw.err)
	}
	if err := jw.zw.Close(); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// randomBytes is n seeded pseudo-random bytes: incompressible, reproducible.
func randomBytes(n int, seed uint64) []byte {
	data := make([]byte, n+8)
	r := rand.New(rand.NewPCG(uint64(n), seed))
	for i := 0; i+8 <= len(data); i += 8 {
		binary.LittleEndian.PutUint64(data[i:], r.Uint64())
	}
	return data[:n]
}

// Class returns a minimal valid class file (Java 17) for the internal name
// (slashes), public, extending java.lang.Object, with marker kept as an
// unused string constant so different markers give different bytes.
func Class(internalName, marker string) []byte {
	var b bytes.Buffer
	u16 := func(v int) { b.WriteByte(byte(v >> 8)); b.WriteByte(byte(v)) }
	utf8 := func(s string) { b.WriteByte(1); u16(len(s)); b.WriteString(s) }
	b.Write([]byte{0xCA, 0xFE, 0xBA, 0xBE})
	u16(0)  // minor
	u16(61) // major: Java 17
	u16(8)  // constant pool count = entries + 1
	b.WriteByte(7)
	u16(2) // #1 Class #2
	utf8(internalName)
	b.WriteByte(7)
	u16(4) // #3 Class #4
	utf8("java/lang/Object")
	b.WriteByte(8)
	u16(6) // #5 String #6
	utf8(marker)
	utf8("SourceFile") // #7, unused: keeps the pool shaped like javac's
	u16(0x0021)        // ACC_PUBLIC | ACC_SUPER
	u16(1)             // this
	u16(3)             // super
	u16(0)             // interfaces
	u16(0)             // fields
	u16(0)             // methods
	u16(0)             // attributes
	return b.Bytes()
}
