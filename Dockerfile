# pier as a container action: a static Go binary on an empty base with CA certificates.
#
# No `FROM --platform=$BUILDPLATFORM` here: the classic builder (which `act` drives through
# the Docker API) does not set BUILDPLATFORM, and the empty value fails the build. A
# multi-platform buildx build therefore compiles each platform's binary in its own
# (emulated) builder; the release workflow accepts that cost once per release.

FROM golang:1.26 AS build
# The official image pins GOTOOLCHAIN=local; auto fetches a newer 1.26.x should go.mod ask for one.
ENV GOTOOLCHAIN=auto
WORKDIR /src
# Modules first: this layer stays cached while only the sources change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/pier-deploy/pier/internal/cli.Version=${VERSION}" \
      -o /out/pier . \
 && mkdir -m 1777 /out/tmp

# No shell, no package manager: the binary, the CA bundle that the AWS SDK and the registry
# client need for TLS, and a /tmp for the action's temporary build cache (the container
# runs as root, so /tmp is writable whatever mode COPY gives the directory).
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/tmp /tmp
COPY --from=build /out/pier /usr/local/bin/pier
ENV TMPDIR=/tmp
# GitHub runs docker actions as root (scratch has no other user) with the workspace mounted
# at /github/workspace; action.yml passes the `action` argument, which reads INPUT_*.
# pier runs as PID 1 without an init: it installs its own SIGTERM/SIGINT handlers (a
# cancelled workflow), which PID 1 needs, as the kernel drops signals it does not handle.
ENTRYPOINT ["/usr/local/bin/pier"]
