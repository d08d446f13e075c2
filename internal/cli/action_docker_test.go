package cli

import (
	"bufio"
	"debug/elf"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// There is no Docker engine where these tests run, so they check the two things a
// docker build of the action would prove: the build context that .dockerignore leaves
// is enough to build pier, and the Dockerfile's own go build command makes a static
// binary. pierBinary builds the binary the end-to-end tests run exactly that way.

// dockerignore reads .dockerignore into matchers with Docker's semantics for the
// patterns it uses: paths relative to the context root, a leading / ignored, * within
// one path element, ** across elements, a match on a directory excluding its contents.
func dockerignore(t *testing.T) []*regexp.Regexp {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var res []*regexp.Regexp
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.TrimSpace(sc.Text())
		if p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		if strings.HasPrefix(p, "!") {
			t.Fatalf(".dockerignore: exceptions (%q) are not modelled by this test; extend dockerignore()", p)
		}
		p = strings.TrimPrefix(filepath.Clean(p), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(p); i++ {
			switch {
			case strings.HasPrefix(p[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(p[i:], "**"):
				re.WriteString(".*")
				i++
			case p[i] == '*':
				re.WriteString("[^/]*")
			case p[i] == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(p[i : i+1]))
			}
		}
		re.WriteString("(/.*)?$")
		res = append(res, regexp.MustCompile(re.String()))
	}
	return res
}

// dockerContext copies what `docker build .` would send (the repository minus
// .dockerignore) into a temporary directory.
func dockerContext(t *testing.T, dst string) {
	t.Helper()
	ignore := dockerignore(t)
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repoRoot, path)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		for _, re := range ignore {
			if re.MatchString(rel) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return copyFile(path, target)
	})
	if err != nil {
		t.Fatalf("copying the docker build context: %v", err)
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// dockerfileBuild returns the Dockerfile's go build command (from CGO_ENABLED= to the
// end of the command, continuation lines joined), with its output path.
func dockerfileBuild(t *testing.T) (cmd, out string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.ReplaceAll(string(data), "\\\n", " ")
	m := regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 go build [^&\n]*-o (\S+) \.)`).FindStringSubmatch(joined)
	if m == nil {
		t.Fatal("no `RUN CGO_ENABLED=0 go build … -o PATH .` in the Dockerfile")
	}
	return m[1], m[2]
}

// buildLikeDocker builds pier in a copy of the docker build context with the
// Dockerfile's command and returns the binary's path.
func buildLikeDocker(dir string, t *testing.T) (string, error) {
	ctxDir := filepath.Join(dir, "context")
	if err := os.MkdirAll(ctxDir, 0o755); err != nil {
		return "", err
	}
	dockerContext(t, ctxDir)
	cmdline, out := dockerfileBuild(t)
	bin := filepath.Join(dir, "pier")
	cmdline = strings.ReplaceAll(cmdline, out, bin)
	cmd := exec.Command("sh", "-c", cmdline)
	cmd.Dir = ctxDir
	cmd.Env = append(os.Environ(), "VERSION=dev")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", &buildError{err, "in the docker build context: " + cmdline + "\n" + string(b)}
	}
	return bin, nil
}

// TestDockerfile checks the image's shape: a builder stage and a final stage FROM
// scratch holding the CA bundle and the binary the entrypoint names; and the binary the
// Dockerfile's command builds from the docker build context is static.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	froms := regexp.MustCompile(`(?m)^FROM (\S+)`).FindAllStringSubmatch(df, -1)
	if len(froms) != 2 || !strings.HasPrefix(froms[0][1], "golang:") || froms[1][1] != "scratch" {
		t.Errorf("stages FROM %v, want a golang builder then scratch", froms)
	}
	cmdline, out := dockerfileBuild(t)
	for _, flag := range []string{"CGO_ENABLED=0", "-trimpath"} {
		if !strings.Contains(cmdline, flag) {
			t.Errorf("the go build command lacks %s: %s", flag, cmdline)
		}
	}
	final := df[strings.LastIndex(df, "FROM scratch"):]
	if !strings.Contains(final, "COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt") {
		t.Error("the final stage does not copy the CA bundle to /etc/ssl/certs/ca-certificates.crt (where Go looks)")
	}
	copyBin := regexp.MustCompile(`COPY --from=build ` + regexp.QuoteMeta(out) + ` (\S+)`).FindStringSubmatch(final)
	entry := regexp.MustCompile(`ENTRYPOINT \["([^"]+)"\]`).FindStringSubmatch(final)
	if copyBin == nil || entry == nil || copyBin[1] != entry[1] {
		t.Errorf("the entrypoint %v is not the binary copied from %s (%v)", entry, out, copyBin)
	}

	bin := pierBinary(t) // built by buildLikeDocker
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: it is not static and would not start FROM scratch")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary links %v dynamically", libs)
	}
}
