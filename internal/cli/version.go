package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is set at link time by the release build (-ldflags "-X ...cli.Version=v1.2.3").
var Version = "dev"

func init() {
	register(&command{
		name:  "version",
		short: "print pier's version",
		long:  "Prints pier's version, the Go version it was built with, and the VCS revision when known.",
		flags: func(fs *flag.FlagSet, env *Env) func(context.Context, []string) int {
			return func(ctx context.Context, args []string) int {
				if len(args) > 0 {
					fmt.Fprintf(env.Stderr, "pier version: unexpected argument %q: version takes none\n", args[0])
					return ExitUsage
				}
				info := map[string]string{"version": Version, "go": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH}
				if bi, ok := debug.ReadBuildInfo(); ok {
					for _, s := range bi.Settings {
						if s.Key == "vcs.revision" {
							info["revision"] = s.Value
						}
					}
				}
				if env.Output == "json" {
					b, _ := json.MarshalIndent(info, "", "  ")
					fmt.Fprintln(env.Stdout, string(b))
					return ExitOK
				}
				fmt.Fprintf(env.Stdout, "pier %s (%s, %s", info["version"], info["go"], info["platform"])
				if r := info["revision"]; r != "" {
					fmt.Fprintf(env.Stdout, ", %s", r)
				}
				fmt.Fprintln(env.Stdout, ")")
				return ExitOK
			}
		},
	})
}
