package registry

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/image"
	"github.com/pier-deploy/pier/internal/image/bootjar"
	"github.com/pier-deploy/pier/internal/registry/registrytest"
)

// Sizes of the benchmark jar: ~48 MiB of dependencies, a 256 KiB application.
const (
	benchDeps = 48 << 20
	benchApp  = 256 << 10
)

// benchJar writes the benchmark's fat jar for an application version.
func benchJar(b *testing.B, dir, version string) string {
	b.Helper()
	p := filepath.Join(dir, "app-"+version+".jar")
	data := bootjar.Bytes(bootjar.Spec{AppVersion: version, PaddingBytes: benchDeps, AppPaddingBytes: benchApp})
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

type springBench struct {
	s     *simECR
	base  string
	cache string
	dir   string
}

func newSpringBench(b *testing.B) *springBench {
	s := newSimECR(b)
	return &springBench{s: s, base: s.base(b, "eclipse-temurin:21-jre"), cache: b.TempDir(), dir: b.TempDir()}
}

// buildPush builds the backend from jar and pushes it under tag; it returns
// the artifact and the push result.
func (sb *springBench) buildPush(b *testing.B, jar, tag string) (*image.Artifact, *Result) {
	b.Helper()
	f := &config.File{Images: []*config.Image{{Name: "backend", SpringBoot: &config.SpringBootBuild{Base: sb.base, Jar: jar}}}}
	p, err := NewPusher(WithECR(sb.s.api), WithRegistryHost(sb.s.host), WithCreateRepositories(true))
	if err != nil {
		b.Fatal(err)
	}
	as, err := image.BuildAll(context.Background(), f, nil, image.WithCacheDir(sb.cache), image.WithKeychain(p.Keychain()))
	if err != nil {
		b.Fatal(err)
	}
	js, err := JobsFor(sb.s.host, tag, as)
	if err != nil {
		b.Fatal(err)
	}
	rs, err := p.PushAll(context.Background(), js)
	if err != nil {
		b.Fatal(err)
	}
	return as[0], rs[0]
}

// BenchmarkSpringBootPush measures what a 50 MB Spring Boot jar costs to
// ship: cold (empty cache and registry), unchanged (everything already
// there), and app-code-only (one class changed).
func BenchmarkSpringBootPush(b *testing.B) {
	b.Run("cold", func(b *testing.B) {
		dir := b.TempDir()
		jar := benchJar(b, dir, "1.0.0")
		var blobs, bytes int64
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			sb := newSpringBench(b)
			b.StartTimer()
			_, r := sb.buildPush(b, jar, "v1")
			blobs += int64(r.Blobs)
			bytes += r.Bytes
		}
		b.ReportMetric(float64(blobs)/float64(b.N), "blobs/op")
		b.ReportMetric(float64(bytes)/float64(b.N), "bytes-uploaded/op")
	})
	b.Run("unchanged", func(b *testing.B) {
		sb := newSpringBench(b)
		jar := benchJar(b, sb.dir, "1.0.0")
		sb.buildPush(b, jar, "v1")
		b.ResetTimer()
		var blobs, bytes int64
		for i := 0; i < b.N; i++ {
			_, r := sb.buildPush(b, jar, "v1")
			blobs += int64(r.Blobs)
			bytes += r.Bytes
		}
		b.ReportMetric(float64(blobs)/float64(b.N), "blobs/op")
		b.ReportMetric(float64(bytes)/float64(b.N), "bytes-uploaded/op")
	})
	b.Run("app-change", func(b *testing.B) {
		sb := newSpringBench(b)
		prev, _ := sb.buildPush(b, benchJar(b, sb.dir, "1.0.0"), "v0")
		var blobs, bytes, changed, appBytes int64
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			version := "1.0." + strconv.Itoa(i+1)
			jar := benchJar(b, sb.dir, version)
			b.StartTimer()
			a, r := sb.buildPush(b, jar, "v"+strconv.Itoa(i+1))
			blobs += int64(r.Blobs)
			bytes += r.Bytes
			for j, l := range a.Layers {
				if l.Digest != prev.Layers[j].Digest {
					changed += l.Size
					if strings.HasSuffix(l.Comment, "application") {
						appBytes += l.Size
					}
				}
			}
			prev = a
		}
		b.ReportMetric(float64(blobs)/float64(b.N), "blobs/op")
		b.ReportMetric(float64(bytes)/float64(b.N), "bytes-uploaded/op")
		b.ReportMetric(float64(changed)/float64(b.N), "layer-bytes-changed/op")
		b.ReportMetric(float64(bytes)/float64(changed), "uploaded/changed")
		b.ReportMetric(float64(bytes)/float64(appBytes), "uploaded/app-layer")
	})
}

// BenchmarkPush1GiBLayer pushes a 1 GiB layer read from a deterministic
// generator to Debian's docker-registry (a separate process, so its memory
// is not ours) and reports the pusher's peak memory: it must stream.
func BenchmarkPush1GiBLayer(b *testing.B) {
	host := registrytest.StartDistribution(b)
	const size = 1 << 30
	layer := newGenLayer(b, size)
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		b.Fatal(err)
	}
	var peakHeap, peakRSS uint64
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ref, _ := name.NewTag(fmt.Sprintf("%s/big%d:v1", host, i))
		p, err := NewPusher()
		if err != nil {
			b.Fatal(err)
		}
		// Earlier benchmarks in this process leave freed memory resident;
		// return it to the OS so the peak is the push's, not theirs.
		debug.FreeOSMemory()
		resetPeakRSS()
		stop := sampleHeap(&peakHeap)
		r, err := p.Push(context.Background(), Job{Name: "big", Ref: ref, Image: img})
		stop()
		if err != nil {
			b.Fatal(err)
		}
		if r.Bytes < size {
			b.Fatalf("uploaded %d bytes, want at least %d", r.Bytes, size)
		}
		peakRSS = max(peakRSS, vmHWM())
	}
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(peakRSS)/(1<<20), "peak-RSS-MiB")
}

// genLayer is an uncompressed tar layer holding one file of size seeded
// pseudo-random bytes, produced on demand; nothing is kept in memory.
type genLayer struct {
	size   int64
	digest v1.Hash
}

func newGenLayer(b *testing.B, size int64) *genLayer {
	l := &genLayer{size: size}
	h := sha256.New()
	rc, _ := l.Uncompressed()
	if _, err := io.Copy(h, rc); err != nil {
		b.Fatal(err)
	}
	l.digest = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	return l
}

func (l *genLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *genLayer) DiffID() (v1.Hash, error)            { return l.digest, nil }
func (l *genLayer) Size() (int64, error)                { return l.size + 3*512, nil } // header + padding + two zero blocks
func (l *genLayer) MediaType() (types.MediaType, error) { return types.OCIUncompressedLayer, nil }
func (l *genLayer) Compressed() (io.ReadCloser, error)  { return l.Uncompressed() }

func (l *genLayer) Uncompressed() (io.ReadCloser, error) {
	pr, pw := io.Pipe()
	go func() {
		bw := bufio.NewWriterSize(pw, 1<<16)
		tw := tar.NewWriter(bw)
		err := tw.WriteHeader(&tar.Header{Name: "data.bin", Mode: 0o644, Size: l.size, Typeflag: tar.TypeReg})
		if err == nil {
			err = writeRandom(tw, l.size)
		}
		if err == nil {
			err = tw.Close()
		}
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}

func writeRandom(w io.Writer, n int64) error {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 1<<16)
	for n > 0 {
		for i := 0; i < len(buf); i += 8 {
			binary.LittleEndian.PutUint64(buf[i:], r.Uint64())
		}
		k := min(n, int64(len(buf)))
		if _, err := w.Write(buf[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// sampleHeap records the largest HeapInuse seen until stop is called.
func sampleHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			*peak = max(*peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// resetPeakRSS asks Linux to restart VmHWM from the current RSS.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// vmHWM is the process's peak resident set in bytes (0 where unknown).
func vmHWM() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
