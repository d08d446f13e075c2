// Package registry pushes built images: one shared go-containerregistry
// pusher per run, ECR credentials from ecr:GetAuthorizationToken, and ECR
// repositories checked or created before the first blob goes up.
//
// What a push does, per image:
//   - an ECR repository is described once per run; a missing one is created
//     (IMMUTABLE tags, scan on push) with WithCreateRepositories(true), and is
//     otherwise an error that names the repository and the setting;
//   - a blob the repository already has is skipped after a HEAD; a base layer
//     from the same registry is mounted; a blob needed by several repositories
//     of one registry (a base from Docker Hub under two images) is uploaded
//     once and mounted into the others; identical blobs within a repository
//     (the app layers of a two-platform index) are uploaded once;
//   - pushing an identical image to an immutable tag succeeds without
//     uploading; a different image on a taken immutable tag is an error naming
//     the digest that holds the tag, raised before any upload.
//
// Credentials: ECRKeychain answers ECR hosts (and hosts given with
// WithRegistryHost, e.g. the sandbox's 127.0.0.1:PORT) from one token,
// cached until shortly before it expires, with GetAuthorizationToken errors
// reported as they are; other registries use the Docker config
// (authn.DefaultKeychain). WithTokenObserver sees each password first, for
// GitHub's ::add-mask::.
//
// # API for callers (pier push, pier deploy, the sandbox)
//
//	p, err := registry.NewPusher(
//		registry.WithECR(ecr.NewFromConfig(awsCfg)),          // or the simulator's client
//		registry.WithCreateRepositories(file.CreateRepositories),
//		registry.WithKeychainOptions(registry.WithTokenObserver(mask)),
//		registry.WithRegistryHost(sandboxHost))               // sandbox only
//	host, err := p.Registry(ctx, file.Registry)              // else the caller's own ECR
//	jobs, err := registry.JobsFor(host, file.Tag, artifacts)
//	results, err := p.PushAll(ctx, jobs)
//	// results[i].Reference is host/repo@sha256:… for the task definition;
//	// Blobs, Bytes and Mounted say what the push cost.
//
// Results come back in job order; Result.String is the line `pier push` prints.
// For `pier plan`, p.Has(ctx, repo@digest) says whether an image is already
// there (one HEAD, no upload), and Artifact.Platforms what it runs on.
package registry
