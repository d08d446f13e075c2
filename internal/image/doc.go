// Package image builds container images without a Docker daemon, from the
// images: section of pier.yaml, on go-containerregistry.
//
// # Builders
//
//   - nginx: a base (DefaultNginxBase) plus one layer with /etc/nginx/nginx.conf
//     and extra files; the base's entrypoint is kept.
//   - next: a Next.js standalone build under /app in four layers, least to most
//     volatile: node_modules, public, .next/static, the server; runs
//     `node server.js` as NextUser with PORT=3000, HOSTNAME=0.0.0.0.
//   - springboot: the fat jar exploded under /app, one layer per
//     BOOT-INF/layers.idx entry in index order (Spring Boot's default split
//     when the jar has no index); runs the manifest's Main-Class with -cp /app.
//   - files: any base plus files, with entrypoint, cmd, env, user and workdir.
//   - copy: an existing image or index mirrored as it is (every platform).
//   - oci: an OCI layout directory, an OCI archive or a `docker save` tarball.
//
// # Reproducibility
//
// Layers are tars with sorted entries, every parent directory, uid/gid 0
// (except next's /app/.next, NextUser's so the server can write its caches),
// modes 0644/0755 and mtime SOURCE_DATE_EPOCH (default 0); the config's
// Created and history use the same time. Bases are never rewritten
// (no mutate.Time or mutate.Canonical). Same inputs, same digest.
//
// # Cache
//
// Cache (under $PIER_CACHE or the user cache directory) keeps compressed
// layers keyed by the sha256 of their tar, and base manifests and configs by
// digest. A layer whose content did not change is not compressed again; a
// base tag costs one HEAD per run, a base pinned by digest no request at all.
// Base layers are never downloaded by a build: they stay remote and are
// mounted by a push to the same registry.
//
// # API for callers (pier build, pier push, pier deploy)
//
//	arts, err := image.BuildAll(ctx, file, names,
//		image.WithKeychain(pusher.Keychain()), // read ECR bases with the push credentials
//		image.WithGetenv(env.Getenv))          // SOURCE_DATE_EPOCH, PIER_CACHE
//	for _, a := range arts {
//		// a.Digest is final before any push; a.Taggable() goes to registry.Pusher.
//	}
//
// BuildAll builds images in parallel (one per CPU) and returns them in file
// order. Build builds one image; Select picks images by name; SourceDateEpoch
// checks SOURCE_DATE_EPOCH up front; WithCacheDir, WithCache, WithEpoch and
// WithTransport exist for tests and the sandbox.
package image
