// Package dockertest is test support for tests that run real containers on the
// machine's Docker Engine. It is imported only by tests.
//
// No registry can be pulled from on the machines this project runs on, so the
// engine starts with no images: the images a test runs are made here, from
// Debian bookworm root filesystems built with debootstrap (see DebianBase),
// cached once per machine outside the repository.
//
// A test that needs the engine calls Require: without an engine it is skipped,
// unless PIER_DOCKER=1 (which .ci/run sets when `docker info` answers) says
// this machine must have one, and then it fails.
package dockertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Env is the variable that turns a missing engine (or debootstrap, or disk
// space) from a skip into a failure.
const Env = "PIER_DOCKER"

// required reports whether PIER_DOCKER=1 says the engine must be there.
func required() bool { return os.Getenv(Env) == "1" }

// skipOrFail skips tb with why, or fails it when PIER_DOCKER=1.
func skipOrFail(tb testing.TB, why string) {
	tb.Helper()
	if required() {
		tb.Fatalf("%s=1 but %s", Env, why)
		return
	}
	tb.Skipf("%s (set %s=1 to make this a failure)", why, Env)
}

var engine struct {
	once    sync.Once
	version string
	rootDir string // the engine's image store, when it is on this machine
	err     error
}

// Require skips tb when no Docker Engine answers `docker info` (fails it under
// PIER_DOCKER=1) and returns the engine's server version. The engine is
// asked once per test process.
func Require(tb testing.TB) string {
	tb.Helper()
	engine.once.Do(func() {
		if _, err := exec.LookPath("docker"); err != nil {
			engine.err = fmt.Errorf("the docker client is not installed (apt-get install docker.io): %v", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}} {{.DockerRootDir}}").CombinedOutput()
		v, root, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
		if err != nil || v == "" {
			engine.err = fmt.Errorf("no Docker Engine answers `docker info` (%v): %s", err, out)
			return
		}
		engine.version = v
		if fi, err := os.Stat(root); err == nil && fi.IsDir() {
			engine.rootDir = root
		}
	})
	if engine.err != nil {
		skipOrFail(tb, engine.err.Error())
	}
	return engine.version
}

// RequireDisk skips tb (fails it under PIER_DOCKER=1) when the file system
// holding dir has less than need bytes free, naming the space needed and
// where. what says what the space is for.
func RequireDisk(tb testing.TB, dir string, need uint64, what string) {
	tb.Helper()
	free, err := FreeBytes(dir)
	if err != nil {
		skipOrFail(tb, fmt.Sprintf("checking free disk space in %s for %s: %v", dir, what, err))
		return
	}
	if free < need {
		skipOrFail(tb, fmt.Sprintf("%s needs %s free in %s, and only %s is free; free some space (docker system prune, or remove %s)",
			what, humanBytes(need), dir, humanBytes(free), CacheDir()))
	}
}

// FreeBytes is the space an unprivileged writer may still use on the file
// system holding dir.
func FreeBytes(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

func humanBytes(n uint64) string {
	const gib, mib = 1 << 30, 1 << 20
	if n >= gib {
		return fmt.Sprintf("%.1f GiB", float64(n)/gib)
	}
	return fmt.Sprintf("%d MiB", n/mib)
}

// Docker runs the docker client with args and returns its standard output,
// failing tb with the command and its standard error when it fails.
func Docker(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := Output(args...)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// Output runs the docker client with args and returns its standard output;
// the error names the command and holds its standard error.
func Output(args ...string) (string, error) {
	cmd := exec.Command("docker", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("docker %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// RemoveContainerOnCleanup removes the container id (running or not) when tb
// ends, and on failure first logs its output, which is what explains it.
func RemoveContainerOnCleanup(tb testing.TB, id string) {
	tb.Helper()
	tb.Cleanup(func() {
		if tb.Failed() {
			logs, _ := exec.Command("docker", "logs", "--tail", "50", id).CombinedOutput()
			tb.Logf("logs of container %s:\n%s", id, logs)
		}
		if out, err := exec.Command("docker", "rm", "-f", "-v", id).CombinedOutput(); err != nil {
			tb.Logf("removing container %s: %v: %s", id, err, out)
		}
	})
}

// RemoveImageOnCleanup untags ref when tb ends.
func RemoveImageOnCleanup(tb testing.TB, ref string) {
	tb.Helper()
	tb.Cleanup(func() {
		if out, err := exec.Command("docker", "rmi", ref).CombinedOutput(); err != nil {
			tb.Logf("removing image %s: %v: %s", ref, err, out)
		}
	})
}
