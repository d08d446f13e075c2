package cli

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// TestMain removes the images this process loaded into the Docker engine,
// which tests share and so cannot remove themselves.
func TestMain(m *testing.M) {
	code := m.Run()
	removeImages(func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }, loadedRefs...)
	os.Exit(code)
}

// removeImages untags refs (their layers go when nothing else uses them).
func removeImages(logf func(string, ...any), refs ...string) {
	for _, ref := range refs {
		if out, err := exec.Command("docker", "rmi", ref).CombinedOutput(); err != nil {
			logf("removing image %s: %v: %s", ref, err, out)
		}
	}
}
