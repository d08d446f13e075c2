package cli

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The real binary gets SIGTERM (a cancelled workflow) in the middle of a
// deployment: it reverses the step in flight, says so, and exits 3 with the
// service back on its previous revision. The sandbox's clock runs at 60×
// real time here so that there is a middle to interrupt.
func TestSIGTERMMidDeployment(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	world := filepath.Join(t.TempDir(), "world.yaml")
	if err := os.WriteFile(world, []byte("speed: 60\nservices:\n  nexus: {deregistrationDelay: 5s}\n  backend: {deregistrationDelay: 5s}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		service, phase, restored string
	}{
		{"backend", "] backend: rollout", "rolled back to ecs-backend-task:1"},
		{"nexus", "] nexus: scale-down", "restored nexus:1"},
		{"nexus", "] nexus: rollout", "restored nexus:1"},
	} {
		t.Run(tt.phase, func(t *testing.T) {
			cmd := exec.Command(pierBinary(t), "deploy", "--sandbox", "--sandbox-world", world, "--grace", "30m",
				"-f", filepath.Join(repoRoot, "testdata", "inforum", "pier.yaml"), tt.service)
			cmd.Env = append(os.Environ(), "PIER_CACHE="+t.TempDir())
			var stdout bytes.Buffer
			cmd.Stdout = &stdout
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var log strings.Builder
			sc := bufio.NewScanner(stderr)
			signalled := false
			for sc.Scan() {
				log.WriteString(sc.Text() + "\n")
				if !signalled && strings.HasSuffix(sc.Text(), tt.phase) {
					signalled = true
					if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
						t.Fatal(err)
					}
				}
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(2 * time.Minute):
				cmd.Process.Kill()
				t.Fatalf("pier did not finish after SIGTERM\n%s", log.String())
			}
			if !signalled {
				t.Fatalf("never saw %q\n%s", tt.phase, log.String())
			}
			if code := cmd.ProcessState.ExitCode(); code != ExitRolledBack {
				t.Fatalf("exit %d, want 3\n%s\n%s", code, stdout.String(), log.String())
			}
			if !strings.Contains(log.String(), "cancelled: finishing or reversing") || !strings.Contains(stdout.String(), tt.restored) {
				t.Errorf("the output does not say what pier did on SIGTERM:\n%s\n%s", stdout.String(), log.String())
			}
		})
	}
}
