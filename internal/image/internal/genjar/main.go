// Command genjar writes testdata/inforum/backend/app.jar, the Spring Boot
// layered jar of the inforum backend used by the image tests. Run it from the
// repository root: go run ./internal/image/internal/genjar
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/pier-deploy/pier/internal/image/bootjar"
)

func main() {
	out := flag.String("o", "testdata/inforum/backend/app.jar", "output `file`")
	version := flag.String("version", "1.0.0", "application version baked into one class")
	flag.Parse()
	if err := os.WriteFile(*out, bootjar.Bytes(bootjar.Spec{AppVersion: *version}), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "genjar:", err)
		os.Exit(1)
	}
}
