package ecr

import (
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// BenchmarkPush measures what a push sends to the simulated registry: a cold push of
// a 4-layer image, an unchanged re-push, and a push to a second repository that
// mounts the first one's layers. Sizes are small: this measures requests, not I/O.
func BenchmarkPush(b *testing.B) {
	img, err := random.Image(64<<10, 4)
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"cold", "unchanged", "mount"} {
		b.Run(mode, func(b *testing.B) {
			var c Counters
			for i := range b.N {
				b.StopTimer()
				e := newEnv(b)
				repo := fmt.Sprintf("app%d", i)
				e.createRepo(b, repo, false)
				e.createRepo(b, repo+"-copy", false)
				a := e.auth(b)
				target := repo
				if mode != "cold" {
					if err := e.push(b, repo+":v1", img, a); err != nil {
						b.Fatal(err)
					}
				}
				src := img
				if mode == "mount" {
					target = repo + "-copy"
					r, err := remote.Image(e.ref(b, repo+":v1"), remote.WithAuth(a))
					if err != nil {
						b.Fatal(err)
					}
					src = r
				}
				e.svc.ResetCounters()
				b.StartTimer()
				if err := remote.Write(e.ref(b, target+":v1"), src, remote.WithAuth(a)); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				c.add(e.svc.Counters(""))
				e.srv.Close() // Cleanup would keep every server of every iteration open
			}
			n := float64(b.N)
			b.ReportMetric(float64(c.BlobUploads)/n, "blobs/op")
			b.ReportMetric(float64(c.BlobBytes)/n, "bytes-uploaded/op")
			b.ReportMetric(float64(c.Mounts)/n, "mounts/op")
			b.ReportMetric(float64(c.BlobHeads+c.ManifestHeads)/n, "heads/op")
		})
	}
}
