// Package integration decides what a test does when a real Debian program it runs
// (nginx, Debian's aws CLI, docker-registry) is missing: it skips, unless
// PIER_INTEGRATION=1 says this machine must have the program, and then it fails.
// CI sets PIER_INTEGRATION=1, so there a missing program is never a silent skip.
package integration

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Env is the variable that turns a missing program from a skip into a failure.
const Env = "PIER_INTEGRATION"

// Program returns the path of the first of names that is an executable: a name with
// a slash is taken as a path, a bare name is looked up on PATH. pkg is the Debian
// package that installs the program, for the message when none is found.
func Program(tb testing.TB, pkg string, names ...string) string {
	tb.Helper()
	var errs []string
	for _, n := range names {
		path, err := exec.LookPath(n)
		if err == nil {
			return path
		}
		errs = append(errs, err.Error())
	}
	why := strings.Join(errs, "; ")
	if os.Getenv(Env) == "1" {
		tb.Fatalf("%s=1 but %s is not installed: %s (apt-get install %s)", Env, names[len(names)-1], why, pkg)
		return ""
	}
	tb.Skipf("%s is not installed (%s); apt-get install %s, or set %s=1 to require it", names[len(names)-1], why, pkg, Env)
	return ""
}
