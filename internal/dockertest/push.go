package dockertest

import (
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Push copies the base from its OCI layout to repo:tag in the registry at
// host (plain HTTP, as a local docker-registry serves) and returns the
// reference, for a pier.yaml base: pier resolves bases only from registries.
func (b *Base) Push(tb testing.TB, host, repo string) string {
	tb.Helper()
	img, err := b.Image()
	if err != nil {
		tb.Fatal(err)
	}
	ref := fmt.Sprintf("%s/%s:%s", host, repo, b.Key)
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		tb.Fatalf("parsing %s: %v", ref, err)
	}
	if err := remote.Write(r, img); err != nil {
		tb.Fatalf("pushing base %s to %s: %v", b.Key, ref, err)
	}
	return ref
}
